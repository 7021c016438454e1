"""Check 3: each op's backward rule in isolation, and what exactly is wrong with it.

The op's inputs start with non-zero gradients ``g``, its output gets an upstream gradient
``u`` != 1, and only the closures of the op's own sub-graph run (walked by the harness). With
``d`` the true local derivative, a correct rule leaves ``g + u*d``; the other outcomes name the
defect: ``u*d`` overwrote, ``g + d`` ignored ``out.grad``, ``g`` passed nothing on.

A defect in a primitive (``mul``) shows again in every op built from it (``neg = a * -1``,
``truediv = a * b**-1``). The closures each probe ran tell which ops are built from which; the
outcome carries them, and ``attribution`` reports the defect once, on the primitive.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

from gradcheck.checks import Subject, death
from gradcheck.checks.basics import op_points
from gradcheck.checks.evidence import drawable
from gradcheck.checks.outcomes import ForwardOutcome, Judged, RuleOutcome
from gradcheck.findings import CATALOGUE, Finding, Stage
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, get_op
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.sandbox.replies import RuleProbe
from gradcheck.source import function_at, grad_statements

PRESET = (0.3, -0.45)  # gradients the inputs already hold
UPSTREAM = 1.7  # the output's gradient

CORRECT = "correct"
OVERWRITE = "grad-overwrite"
MISSING_FACTOR = "missing-chain-factor"
NOT_PROPAGATED = "grad-not-propagated"
WRONG = "wrong-derivative"
POWER = "power-for-product"
NOT_NUMBER = "grad-not-number"
STUB = "its backward is a stub (its closure raises NotImplementedError)"


def classify(actual: float | None, preset: float, upstream: float, local: float) -> set[str]:
    """The defects that explain one input's gradient after its op's closures ran."""
    if actual is None or not math.isfinite(actual):
        return {WRONG}

    def near(x: float) -> bool:
        return abs(actual - x) <= 1e-6 * (1 + abs(x))

    if near(preset + upstream * local):
        return {CORRECT}
    if near(upstream * local):
        return {OVERWRITE}
    if near(preset + local):
        return {MISSING_FACTOR}
    if near(local):
        return {OVERWRITE, MISSING_FACTOR}
    if near(preset) or near(0.0):
        return {NOT_PROPAGATED} if near(preset) else {OVERWRITE, NOT_PROPAGATED}
    if any(near(preset + p) for p in _powers(local, upstream)):
        return {POWER}  # `d ** out.grad` (or the reverse) where `d * out.grad` belongs
    return {WRONG}


def _powers(local: float, upstream: float) -> list[float]:
    """``local ** upstream`` and ``upstream ** local`` where they are real numbers."""
    out = []
    for base, exponent in ((local, upstream), (upstream, local)):
        try:
            value = base ** exponent
        except (OverflowError, ZeroDivisionError):
            continue
        if isinstance(value, float) and math.isfinite(value):
            out.append(value)
    return out


def reads_grad_for_data(actual: float | None, preset: float, upstream: float) -> bool:
    """A wrong rule that multiplied an input's *gradient* (preset by the probe) where its data
    belongs (``other.grad * out.grad`` for ``other.data * out.grad``): a common slip."""
    if actual is None or not math.isfinite(actual):
        return False
    return any(abs(actual - (preset + upstream * g)) <= 1e-6 * (1 + abs(actual)) for g in PRESET)


def _case(graph: Graph, methods: Mapping[str, str]) -> dict:
    """One probe of the graph's last op, calling the subject's own method for it."""
    node = graph.nodes[-1]
    op = get_op(node.op)
    return {"expr": op.apply_source([f"{{{i}}}" for i in range(op.arity)], node.k, methods.get(op.name)),
            "inputs": [graph.nodes[i].value for i in range(op.arity)],
            "input_grads": list(PRESET[: op.arity]), "upstream": UPSTREAM}


def local_rule_check(subject: Subject, forward: ForwardOutcome,
                     broken: frozenset[str] = frozenset()) -> RuleOutcome:
    """Judge each op's rule, except where its forward value is already wrong or its result is
    wired wrong (``broken``, named by the structure check); those ops' probes still run (unless
    the forward hung or died) to learn what they are built from, for attribution, but are not
    judged."""
    caps = subject.caps
    if caps.grad_attr is None:
        subject.log.notes.append("local rules: skipped, the values have no gradient")
        return RuleOutcome()
    if caps.closure_attr is None or caps.inputs_attr is None:
        subject.log.notes.append("local rules: skipped, no per-node backward closure or inputs "
                                 "attribute was found; only end-to-end gradients were checked")
        return RuleOutcome()
    outcome = RuleOutcome(observed=True)
    faulty, died, stubs = set(), set(), set()
    for op in OPS:
        if not caps.ops.get(op.name) or op.name in forward.died:
            continue
        graphs = op_points(op, count=1 if op.name in forward.faulty else 2)
        try:
            replies = subject.session.local_rule([_case(g, caps.op_methods) for g in graphs])
        except WorkerDied as died_:
            outcome.findings.append(death(died_, Stage.LOCAL_RULE, f"the local rule of `{op.name}`", op=op.name))
            faulty.add(op.name)
            died.add(op.name)
            continue
        ran = frozenset().union(*(r.closures for r in replies))
        outcome.closures[op.name] = ran
        if op.name in forward.faulty or op.name in broken:
            faulty.update({op.name} & broken)
            continue
        verdict = _judge(subject, op.name, graphs, replies)
        outcome.judged[op.name] = verdict.judged
        if verdict.evidence.get("stub"):
            outcome.findings.append(Finding(
                "unsupported-op", f"`{subject.caps.method_of(op)}`'s backward is a stub: its closure "
                "raises NotImplementedError, so its gradients are not checked", op=op.name,
                location=subject.method_location(subject.caps.method_of(op)), evidence={"stub": True}))
            stubs.add(op.name)
            continue
        for code in sorted(verdict.defects):
            finding = _finding(subject, op.name, code, verdict.evidence, ran)
            if code == OVERWRITE:
                _demonstrate(subject, finding)
            outcome.findings.append(finding)
        if verdict.defects:
            faulty.add(op.name)
    # a stub is left out of every graph, as an op with a defect of its own is
    outcome.faulty = frozenset(faulty | stubs)
    outcome.died = frozenset(died)
    # a closure that raised, left a non-number, or that a walk cannot see run (none attached)
    outcome.unwalkable = frozenset(f.op for f in outcome.findings
                                   if f.evidence.get("error") or f.code in (NOT_NUMBER, NOT_PROPAGATED)) | stubs
    return outcome


@dataclass
class _Verdict:
    defects: set[str]
    evidence: dict
    judged: Judged


def _judge(subject: Subject, name: str, graphs: list[Graph], replies: list[RuleProbe]) -> _Verdict:
    defects: set[str] = set()
    evidence: dict = {}
    numeric_wrong = False  # a wrong derivative seen as a real number, not only as a non-number
    judged = 0  # cases compared with an agreed answer: none at all is no verdict
    for graph, reply in zip(graphs, replies, strict=True):
        expected = subject.consensus.expected(graph)
        if expected is None:
            continue
        error = reply.error
        if error is not None and error.stage == "setup":
            # Building the op and presetting gradients is what every Value supports (forward
            # already passed): a subject that makes this raise has made its rule impossible to
            # judge, which must not leave the rule looking right.
            why = f"the probe could not be set up ({error})"
            subject.log.notes.append(f"local rule of {name}: not judged, {why}")
            return _Verdict(set(), {}, Judged(0, blocked=why))
        if error is not None and error.type == "NotImplementedError":
            # a skeleton's TODO: the backward is not written yet, which is not a wrong rule
            return _Verdict(set(), {"stub": True}, Judged(0, blocked=STUB))
        judged += 1
        if error is not None:
            defects.add(WRONG)
            evidence.setdefault("error", str(error))
            continue
        for i, actual in enumerate(reply.grads):
            found = classify(actual, PRESET[i], UPSTREAM, expected.grads[i]) - {CORRECT}
            kind = reply.grad_types[i] if i < len(reply.grad_types) else None
            if kind is not None and kind != "complex":
                # a Value (arithmetic on nodes in the closure), a tuple, a string: no number at
                # all; complex is left to the power check (`d ** u` with d < 0)
                found = {NOT_NUMBER}
                evidence.setdefault("grad_type", kind)
            if found and "case" not in evidence:
                evidence.update({
                    "case": graph.describe(), "input": graph.name(i), "grad_before": PRESET[i],
                    "upstream": UPSTREAM, "local_derivative": expected.grads[i],
                    "expected": PRESET[i] + UPSTREAM * expected.grads[i], "actual": actual,
                    "snippet": _snippet(subject, graph, expected),
                    "graph": _picture(graph, reply, expected)})
            if found:
                evidence.setdefault("wrong_inputs", [])
                if i not in evidence["wrong_inputs"]:
                    evidence["wrong_inputs"].append(i)
                if WRONG in found and reads_grad_for_data(actual, PRESET[i], UPSTREAM):
                    evidence["slip"] = "grad-for-data"
            defects |= found
            numeric_wrong = numeric_wrong or (WRONG in found and actual is not None)
    if POWER in defects and not numeric_wrong:
        # `d ** u` with a negative d is a complex number, which no grad should be: the same slip
        defects.discard(WRONG)
    return _Verdict(defects, evidence, Judged(judged))


def _demonstrate(subject: Subject, finding) -> None:
    """Show an overwrite where learners meet it: one value used twice (``a * a``), back-
    propagated by the subject's own backward() -- or gradcheck's traversal if it has none."""
    op = get_op(finding.op)
    if op.arity != 2:
        return
    graph = Graph((leaf(1.5), apply(op.name, 0, 0)))
    expected = subject.consensus.expected(graph)
    if expected is None:
        return
    try:
        run = subject.session.run([graph], use_backward=subject.caps.backward is not None)[0]
    except WorkerDied:
        return
    if run.grads is None or expected.grad_ok(0, run.grads[0]):
        return
    finding.evidence["demo"] = {
        "case": graph.describe(), "snippet": graph.snippet(subject.caps.class_name, subject.caps.backward),
        "graph": drawable(graph, run.data, run.grads, expected.values, expected.grads,
                          grad_ok=expected.grad_ok, value_ok=expected.value_ok)}


def _finding(subject: Subject, name: str, code: str, evidence: dict, ran: frozenset) -> Finding:
    op = get_op(name)
    location, stmt = _statement(subject, op, code, ran, evidence.get("wrong_inputs", []))
    entry = CATALOGUE[code]
    method = subject.caps.method_of(op)  # the learner's own name for it (`__exp__`, `ReLU`)
    if evidence.get("error"):
        message = f"`{method}`'s backward raised {evidence['error']}."
    elif code == NOT_NUMBER:
        message = (f"`{method}`'s backward makes an input's `.{subject.caps.grad_attr}` a "
                   f"`{evidence.get('grad_type')}`, not a number{f' (`{stmt}`)' if stmt else ''}; "
                   f"{entry.fix}.")
    elif code == WRONG and evidence.get("slip") == "grad-for-data":
        message = (f"`{method}`'s backward {entry.defect}: the numbers match multiplying an "
                   f"input's `.{subject.caps.grad_attr}` where its `.{subject.caps.data_attr}` belongs"
                   f"{f' (`{stmt}`)' if stmt else ''}.")
    elif code == OVERWRITE and stmt:
        message = f"`{method}`'s backward assigns `{stmt}`: it {entry.defect}; {entry.fix}."
    else:
        message = f"`{method}`'s backward {entry.defect}; {entry.fix}."
    return Finding(code, message, op=name, location=location, evidence=dict(evidence))


def _statement(subject: Subject, op, code: str, ran: frozenset, wrong_inputs: list[int]):
    """The closure's offending line -- the statement writing the gradient of an input that came
    out wrong -- or the op's method when it sets no closure at all."""
    caps = subject.caps
    method = caps.method_of(op)
    own = [c for c in ran if f".{method}." in c[0] and c[1]] or [c for c in ran if c[1]]
    sub = subject.session.submission
    wanted = _parameter_names(subject, op, wrong_inputs)
    for qualname, file, line in sorted(own, key=lambda c: (c[1], c[2] or 0)):
        source = sub.source_of(file)
        if source is None or line is None:
            continue
        stmts = grad_statements(source, line, caps.grad_attr)
        pick = [s for s in stmts if s.assigns] if code == OVERWRITE else stmts
        pick = [s for s in pick if s.target in wanted] or pick
        if pick:
            return sub.locate(file, pick[0].line), pick[0].text
        if code == NOT_PROPAGATED and "__init__" not in qualname:
            return sub.locate(file, line), None
    return subject.method_location(method), None


def _parameter_names(subject: Subject, op, inputs: list[int]) -> set[str]:
    """The op method's own names for the given inputs (``self``, ``other``): what the closure's
    statements write ``.grad`` on."""
    entry = subject.caps.methods.get(subject.caps.method_of(op))
    source = subject.session.submission.source_of(entry["file"]) if entry and entry.get("file") else None
    fn = function_at(source, entry.get("line")) if source and entry.get("line") else None
    if not isinstance(fn, ast.FunctionDef):
        return set()
    params = [a.arg for a in fn.args.args]
    return {params[i] for i in inputs if i < len(params)}


def _picture(graph: Graph, reply: RuleProbe, expected) -> dict:
    """The op alone: its inputs' gradients after the rule ran, against ``g + u*d``."""
    arity = get_op(graph.nodes[-1].op).arity
    actual = [*reply.grads[:arity], UPSTREAM]
    want = [PRESET[i] + UPSTREAM * expected.grads[i] for i in range(arity)] + [UPSTREAM]
    data = [n.value for n in graph.nodes[:-1]] + [reply.data]
    return drawable(graph, data, actual, expected.values, want,
                    grad_ok=lambda i, v: v is not None and abs(v - want[i]) <= 1e-6 * (1 + abs(want[i])))


def _snippet(subject: Subject, graph: Graph, expected) -> str:
    """Paste-able code: the op alone, gradients preset, only its own closure run."""
    caps = subject.caps
    arity = get_op(graph.nodes[-1].op).arity
    names = [graph.name(i) for i in range(arity)]
    lines = [graph.statement(i).replace("{cls}", caps.class_name) for i in range(len(graph.nodes))]
    out = graph.name(graph.output)
    lines.append("; ".join(f"{n}.{caps.grad_attr} = {PRESET[i]}" for i, n in enumerate(names))
                 + f"; {out}.{caps.grad_attr} = {UPSTREAM}")
    lines.append(f"{out}.{caps.closure_attr}()  # only this op's backward rule"
                 " (an op built from other ops runs each of its nodes' rules)")
    want = ", ".join(f"{PRESET[i] + UPSTREAM * expected.grads[i]:.6g}" for i in range(arity))
    lines.append("print(" + ", ".join(f"{n}.{caps.grad_attr}" for n in names) + f")  # expected: {want}")
    return "\n".join(lines)
