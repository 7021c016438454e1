"""The op x check matrix shown in reports and scored by rubrics: for every op, whether its
forward value, its local backward rule and the end-to-end property were checked, and how that
went.

Each cell is ``(state, why)``. The state is what rubrics and reports decide on -- never the
wording of ``why``, which only explains it to a reader:

- ``pass``: judged on at least one case, and right.
- ``fail``: wrong -- or not judged because the subject made the check impossible (its probe
  could not be set up): a check a submission can sabotage must not count as passed.
- ``absent``: the op is not implemented.
- ``unobservable``: the subject has no per-node closures to run one op at a time; the op's
  end-to-end result stands in for it.
- ``not judged``: the check ran but no case could be judged (the oracles disagreed on every
  one) -- nothing the subject did, and never shown as a pass.
- ``skip``: the check does not apply (no gradients at all, a defect already found, ...).
"""

from __future__ import annotations

from gradcheck.checks.outcomes import EndToEndOutcome, ForwardOutcome, Judged, RuleOutcome
from gradcheck.findings import DEATH_CODES, RULE_CODES, Finding
from gradcheck.ops import OPS

PASS, FAIL, SKIP = "pass", "fail", "skip"
ABSENT, UNOBSERVABLE, NOT_JUDGED = "absent", "unobservable", "not judged"
STATES = (PASS, FAIL, SKIP, ABSENT, UNOBSERVABLE, NOT_JUDGED)
CHECKS = ("forward", "local rule", "end-to-end")


def op_matrix(caps, findings: list[Finding], forward: ForwardOutcome, rules: RuleOutcome,
              e2e: EndToEndOutcome, e2e_failed: frozenset[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """{op: {check: (state, why)}}; ``why`` explains every state but a pass."""
    matrix = {}
    for op in OPS:
        name = op.name
        if not caps.ops.get(name) or name in forward.stubs:
            why = "a stub (raises NotImplementedError)" if name in forward.stubs else "not implemented"
            matrix[name] = {c: (ABSENT, why) for c in CHECKS}
            continue
        own = [f for f in findings if f.op == name or name in f.inherited_by]
        row = {"forward": _forward_cell(name, own, forward)}
        if caps.grad_attr is None:
            row["local rule"] = row["end-to-end"] = (SKIP, "values carry no gradient")
        else:
            row["local rule"] = _local_rule_cell(name, own, forward, rules)
            row["end-to-end"] = _end_to_end_cell(name, e2e, e2e_failed, forward, rules)
        matrix[name] = row
    return matrix


def _judged_cell(judged: Judged | None, not_run: str) -> tuple[str, str]:
    """A check that found nothing wrong: a pass only when it compared at least one case."""
    if judged is None:
        return NOT_JUDGED, not_run
    if judged.blocked:
        return FAIL, f"not judged: {judged.blocked}"
    if not judged.cases:
        return NOT_JUDGED, "the oracles agreed on none of its cases"
    return PASS, ""


def _forward_cell(name: str, own: list[Finding], forward: ForwardOutcome) -> tuple[str, str]:
    if name in forward.faulty:
        return FAIL, next((f.code for f in own if f.code == "forward-wrong" or f.code in DEATH_CODES),
                          "forward-wrong")
    return _judged_cell(forward.judged.get(name), "the forward check did not run")


def _local_rule_cell(name: str, own: list[Finding], forward: ForwardOutcome,
                     rules: RuleOutcome) -> tuple[str, str]:
    if not rules.observed:
        return UNOBSERVABLE, "no per-node closures to run one op at a time"
    if name in forward.faulty and name not in forward.repaired:
        return SKIP, "its forward value is already wrong"
    against = [f for f in own if f.code in RULE_CODES or f.code in DEATH_CODES]
    if against:
        return FAIL, ", ".join(sorted({f.code for f in against}))
    return _judged_cell(rules.judged.get(name), "the probe did not run")


def _end_to_end_cell(name: str, e2e: EndToEndOutcome, failed: frozenset[str], forward: ForwardOutcome,
                     rules: RuleOutcome) -> tuple[str, str]:
    if name in failed:
        return FAIL, "in a failing generated case"
    if name in e2e.tested:
        return _judged_cell(Judged(e2e.judged.get(name, 0)), "")
    if name in forward.faulty or name in rules.faulty:
        return SKIP, "left out: a defect of its own was already found"
    return SKIP, "the end-to-end search did not run"
