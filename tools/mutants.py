"""A hand-listed mutation pass over the judgement layer: each mutant changes one decision (swaps
two finding codes, drops the minimum-judged-cases rule, scores a hung walk as fine...) and the
unit tests must fail on it. Run from the repository root:

    python tools/mutants.py            # every mutant
    python tools/mutants.py 3 7        # only these

Each mutant runs in a copy of the package and tests (never in the working tree), with the
copy first on PYTHONPATH. Prints one line per mutant and the killed/survived totals; exits 1
if any survived. Only the unit tests run: the judgement layer is meant to be held by tests that
need no worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    file: str
    old: str
    new: str
    what: str


MUTANTS = (
    Mutant("gradcheck/checks/local_rules.py", "        return {OVERWRITE}\n", "        return {MISSING_FACTOR}\n",
           "an overwrite is named as a missing chain factor"),
    Mutant("gradcheck/checks/local_rules.py", "        return {MISSING_FACTOR}\n", "        return {OVERWRITE}\n",
           "a missing chain factor is named as an overwrite"),
    Mutant("gradcheck/checks/local_rules.py", "return {NOT_PROPAGATED} if near(preset)",
           "return {WRONG} if near(preset)", "nothing propagated is called a wrong derivative"),
    Mutant("gradcheck/checks/local_rules.py", "    if actual is None or not math.isfinite(actual):\n        return {WRONG}",
           "    if actual is None or not math.isfinite(actual):\n        return {CORRECT}",
           "a NaN gradient passes"),
    Mutant("gradcheck/checks/local_rules.py", 'OVERWRITE = "grad-overwrite"', 'OVERWRITE = "missing-chain-factor"',
           "two finding codes swapped"),
    Mutant("gradcheck/coverage.py", "    if not judged.cases:\n", "    if False:\n",
           "the minimum-judged-cases rule dropped"),
    Mutant("gradcheck/coverage.py", '        return FAIL, f"not judged: {judged.blocked}"',
           '        return PASS, ""', "a sabotaged probe passes"),
    Mutant("gradcheck/coverage.py", '        return UNOBSERVABLE, "no per-node closures to run one op at a time"',
           '        return PASS, ""', "an unobservable rule is shown as a pass"),
    Mutant("gradcheck/coverage.py", '    if name in failed:\n        return FAIL, "in a failing generated case"',
           '    if False:\n        return FAIL, "in a failing generated case"', "a failing generated case is ignored"),
    Mutant("gradcheck/coverage.py", "    if name in forward.faulty:\n        return FAIL,",
           "    if False:\n        return FAIL,", "a wrong forward value is not a failed cell"),
    Mutant("gradcheck/grading/rubric.py", "    if state in (TraversalState.CORRECT, TraversalState.UNOBSERVED):",
           "    if state in (TraversalState.CORRECT, TraversalState.UNOBSERVED, TraversalState.BROKEN):",
           "a hung backward() keeps the traversal points"),
    Mutant("gradcheck/grading/rubric.py", "    if state == PASS:\n        return True, \"\"",
           "    if state in (PASS, NOT_JUDGED):\n        return True, \"\"", "a cell nobody judged earns its points"),
    Mutant("gradcheck/grading/rubric.py", "        if result.verdict != VERDICT_PASS and worths and total >= maximum:",
           "        if False:", "a failing verdict may carry full marks"),
    Mutant("gradcheck/grading/rubric.py", "            if op in self.optional_ops and not implemented:",
           "            if not implemented:", "an absent required op costs nothing"),
    Mutant("gradcheck/checks/attribution.py", "    return parent.code == heir.code or heir.code in ANY_CODE",
           "    return True", "any defect of a primitive absorbs any defect of a composite"),
    Mutant("gradcheck/checks/attribution.py", "            return bool(base) and (base < ran or (base == ran and usual and base not in self._generic))",
           "            return bool(base) and base <= ran",
           "an op with the same closures counts as built from the other, whichever it is"),
    Mutant("gradcheck/checks/attribution.py", '    if not composition.observed and parent.evidence.get("identified_by") not in FROM_NUMBERS:',
           "    if False:", "unobserved composition folds every finding"),
    Mutant("gradcheck/checks/attribution.py", 'ANY_CODE = frozenset({"gradient-mismatch"})',
           "ANY_CODE = frozenset()", "a composite's failing case is reported beside its primitive"),
    Mutant("gradcheck/runner.py", "    if codes & TRAVERSAL_CODES:\n        return TraversalState.DEFECTIVE",
           "    if False:\n        return TraversalState.DEFECTIVE", "a fingerprinted traversal defect keeps the walk correct"),
    Mutant("gradcheck/runner.py", "    if traversal.state in (TraversalState.BROKEN, TraversalState.NOT_RUN):",
           "    if traversal.state in (TraversalState.NOT_RUN,):", "a hung walk can become correct"),
    Mutant("gradcheck/checks/__init__.py", "        first = kept.get((f.code, f.op))", "        first = kept.get((f.code,))",
           "deaths of different ops merged"),
    Mutant("gradcheck/checks/outcomes.py", "        return self.state != TraversalState.BROKEN", "        return True",
           "later checks call a hung backward() again"),
    Mutant("gradcheck/checks/diagnosis.py", "            if Candidate(f.code, f.op) in matches or any(",
           "            if True or any(", "a fingerprinted defect absorbs every later failure"),
    Mutant("gradcheck/checks/diagnosis.py", "    return bool(ratios) and zeros_ok and", "    return True or",
           "a wrong seed explains every failure"),
    Mutant("gradcheck/checks/end_to_end.py", "    bad = [i for i in range(len(graph.nodes)) if not expected.value_ok(i, run.data[i])]",
           "    bad = []", "wrong forward values go unseen end to end"),
    Mutant("gradcheck/checks/traversal.py", "    again = [i for i in interior if counts[i] > 1]",
           "    again = [i for i in interior if counts[i] > 2]", "a node run twice is not a revisit"),
    Mutant("gradcheck/checks/traversal.py", "    if seeds and seeds[0] is not None and abs(seeds[0] - 1.0) > 1e-12:",
           "    if False:", "a wrong seed goes unseen"),
    Mutant("gradcheck/checks/traversal.py", "            if child in first and node in first and first[child] < first[node]",
           "            if child in first and node in first and first[child] > first[node]",
           "consumers-first order is called wrong"),
    Mutant("gradcheck/checks/fingerprint.py", "        if all(abs(grads[i] - actual[i]) <= tolerance[i] for i in nodes):",
           "        if any(abs(grads[i] - actual[i]) <= tolerance[i] for i in nodes):",
           "a candidate matching one node is a match"),
    Mutant("gradcheck/sandbox/replies.py", "    if isinstance(raw, bool) or not isinstance(raw, int | float):",
           "    if not isinstance(raw, int | float):", "True is accepted as a gradient"),
    Mutant("gradcheck/source.py", "            if depth == 0:\n                return False  # the string ended first",
           "            if depth == 0:\n                return True", "any f-string is called newer syntax"),
    Mutant("gradcheck/oracles/consensus.py", "    return 100.0 if number_bytes >= 4 else 1e4",
           "    return 1.0", "float32 subjects compared at float64 tolerance"),
    Mutant("gradcheck/findings.py", '"topo-revisit": Code(ERROR, TRAVERSAL,', '"topo-revisit": Code(ERROR, END_TO_END,',
           "a code shown in the wrong group"),
)


def run(mutant: Mutant | None, index: int) -> bool:
    """True when the unit tests fail on the mutant (killed); ``None``: the unmutated copy."""
    with tempfile.TemporaryDirectory(prefix=f"mutant-{index}-") as tmp:
        copy = Path(tmp)
        for name in ("gradcheck", "tests", "reference_impls"):
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
        if mutant is not None:
            target = copy / mutant.file
            source = target.read_text()
            if source.count(mutant.old) != 1:
                raise SystemExit(f"mutant {index} ({mutant.what}): {mutant.old!r} occurs "
                                 f"{source.count(mutant.old)} times in {mutant.file}")
            target.write_text(source.replace(mutant.old, mutant.new))
        env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                               "tests/unit"], cwd=copy, env=env, capture_output=True, text=True)
        return proc.returncode != 0


def main(argv: list[str]) -> int:
    chosen = [int(a) for a in argv] or range(len(MUTANTS))
    if run(None, -1):  # a copy that fails unmutated would make every mutant look killed
        raise SystemExit("the unit tests fail on an unmutated copy; fix that first")
    killed = survived = 0
    for i in chosen:
        mutant = MUTANTS[i]
        dead = run(mutant, i)
        killed += dead
        survived += not dead
        print(f"{i:2d} {'killed  ' if dead else 'SURVIVED'} {mutant.file}: {mutant.what}", flush=True)
    print(f"{killed} killed, {survived} survived of {killed + survived}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
