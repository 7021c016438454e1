"""Checks 1 and 2: what the subject supports, and whether each op's forward value is right."""

from __future__ import annotations

import sys

from gradcheck.checks import Subject, death
from gradcheck.checks.conduct import BLOCKED_BY_GUARD, guard_spoke
from gradcheck.checks.outcomes import ForwardOutcome, Judged
from gradcheck.findings import Finding, Stage
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, Op, get_op, in_domain
from gradcheck.sandbox.limits import WorkerDied

_POINTS = (0.7, -1.3, 1.9, 0.45, 2.6, -0.6)


def op_points(op: Op, count: int = 3) -> list[Graph]:
    """Small isolated cases for one op: distinct leaves, inside the domain, away from 0 and 1
    so that every way of getting a derivative wrong changes the numbers."""
    graphs = []
    for i, x in enumerate(_POINTS):
        y = _POINTS[(i + 1) % len(_POINTS)]
        operands = [x, y][: op.arity]
        for k in op.constants or (None,):
            if in_domain(op, operands, k):
                nodes = [leaf(v) for v in operands]
                graphs.append(Graph((*nodes, apply(op.name, *range(op.arity), k=k))))
                break
        if len(graphs) >= count:
            break
    return graphs


def capability_findings(subject: Subject) -> list[Finding]:
    caps = subject.caps
    findings = []
    for op in OPS:
        if not caps.ops.get(op.name):
            findings.append(Finding("unsupported-op", f"`{op.name}` is not implemented "
                                    f"({caps.absence(op)})", op=op.name))
    # `x + 2` and `x * 2`, for those of + and * the class has (an exercise's starter Value may
    # have `+` alone: a missing `*` is unsupported-op's to say, not a coercion problem)
    probed = [(op, want) for op, want in ((get_op("add"), 2.75), (get_op("mul"), 1.5)) if caps.ops.get(op.name)]
    failing = []
    try:
        runs = subject.session.run([], grads=False, wire=[_with_number(op) for op, _ in probed]) if probed else []
        failing = [op for (op, want), r in zip(probed, runs, strict=True)
                   if r.error is not None or r.data[-1] != want]
    except WorkerDied as died:
        failing = [op for op, _ in probed]
        findings.append(death(died, Stage.CAPABILITIES, "the number-coercion probe"))
    caps.number_coercion = not failing
    if failing:
        shown = " or ".join(f"`{caps.class_name}(0.75) {op.symbol} 2`" for op in failing)
        findings.append(Finding("no-number-coercion", f"{shown} fails: plain numbers are not "
                                "wrapped, so expressions like `2 * x + 1` cannot be written",
                                location=subject.method_location(failing[0].method)))
    if caps.grad_attr is None:
        findings.append(Finding("no-grad", f"{caps.class_name} values have no `grad`: this is a "
                                "forward-only implementation, so no gradient can be checked"))
    elif caps.starts_with_gradient:
        findings.append(Finding(
            "grad-seed", f"a new `{caps.class_name}` starts with grad = {caps.initial_grad:g}; gradients "
            "must start at 0 and only the output's be set to 1 (by backward()), or every value that "
            "receives gradient ends up too large", location=subject.method_location("__init__"),
            evidence={"initial_grad": caps.initial_grad}))
    if subject.session.submission.read_as:
        subject.log.notes.append(f"{subject.session.submission.path.name} was read as "
                                 f"{subject.session.submission.read_as}")
    findings += _redefinition_findings(subject)
    findings += _unhashable_findings(subject)
    if caps.grad_attr is not None and caps.backward is None:
        how = ("gradcheck checked the per-op rules with its own traversal" if caps.closure_attr
               else "and no per-node `_backward` was found either")
        findings.append(Finding("no-backward", f"{caps.class_name} has no `backward()` method "
                                f"that runs backpropagation from a value; {how}",
                                evidence={"closure_attr": caps.closure_attr}))
    return findings


def _redefinition_findings(subject: Subject) -> list[Finding]:
    """Which of the notebook's definitions of the class was checked, when it has several: said
    as a note when it was the last, as a ``definition-skipped`` info when later, smaller ones
    (an exercise's variant) were passed over. The checked one is the definition holding the
    lines of the worker's class's methods, not the one gradcheck asked for."""
    caps, submission = subject.caps, subject.session.submission
    defs = submission.definitions.get(caps.class_name, [])
    checked = _checked_definition(subject)
    if len(defs) < 2 or checked is None:
        return []
    where = ", ".join(_place(d) for d in defs)
    later = defs[defs.index(checked) + 1:]
    if not later:
        subject.log.notes.append(f"{caps.class_name} is defined {len(defs)} times ({where}): the last "
                                 f"one ({_place(checked)}) was checked")
        return []
    skipped = "; ".join(f"{_place(d)} has {len(d.ops)} ({', '.join(sorted(d.ops)) or 'none'})"
                        for d in later)
    return [Finding(
        "definition-skipped", f"{caps.class_name} is defined {len(defs)} times ({where}): the one in "
        f"{_place(checked)} was checked, with {len(checked.ops)} of the table's ops; the later "
        f"definitions have fewer ({skipped}), like an exercise's variant, and were skipped",
        location=submission.locate(checked.filename, checked.line),
        evidence={"checked": _place(checked), "skipped": [_place(d) for d in later]})]


def _checked_definition(subject: Subject):
    """The class statement the worker's class came from: the latest one of its name holding
    the lines of its methods."""
    caps = subject.caps
    lines = [(m.get("file"), m.get("line")) for m in caps.methods.values()]
    defs = subject.session.submission.definitions.get(caps.class_name, [])
    return next((d for d in reversed(defs) if any(d.holds(*where) for where in lines)), None)


def _unhashable_findings(subject: Subject) -> list[Finding]:
    """``__eq__`` without ``__hash__``: one finding at ``__eq__``, not one TypeError per op or
    a crash in backward(). The worker hashed the class by identity when it was defined (see
    ``Submission.wire_units``), so its other defects are still found."""
    checked = _checked_definition(subject)
    # The source says the class is unhashable, and its values hash all the same: the worker
    # hashed it by identity, which it does only when that mends its first use (`a + b`, then
    # backward()). A class whose walk keys on id() is unhashable by design and left as written.
    if checked is None or not checked.unhashable or subject.session.identity.unhashable:
        return []
    name = subject.caps.class_name
    if checked.unhashable == "@dataclass":
        cause, fix = ("is a `@dataclass`, whose generated `__eq__` compares fields and sets "
                      "`__hash__` to None"), "declare it `@dataclass(eq=False)` so that nodes compare by identity"
        where = subject.session.submission.locate(checked.filename, checked.line)
    else:
        cause = "defines `__eq__` but no `__hash__`, so Python sets `__hash__` to None"
        fix = "remove `__eq__` so that nodes compare by identity, or add `__hash__ = object.__hash__`"
        where = subject.method_location("__eq__")
    return [Finding(
        "eq-without-hash", f"{name} {cause}: its values are unhashable, and keeping them in a set "
        f"(an op's children, the visited set of backward()) raises TypeError: unhashable type: "
        f"'{name}'; {fix} (gradcheck checked the rest hashed by identity)",
        location=where, evidence={"cause": checked.unhashable, "checked_after_adding": "__hash__"})]


def _place(definition) -> str:
    return f"cell {definition.cell}" if definition.cell is not None else f"line {definition.line}"


def _with_number(op: Op) -> list[dict]:
    """``x + 2``: a value and the plain number 2 as the right operand (what the reflected ops,
    ``2 + x``, do not cover)."""
    return [{"leaf": 0.75}, {"op": op.name, "expr": op.apply_source(["{0}", "2"]), "args": [0]}]


def forward_check(subject: Subject) -> ForwardOutcome:
    """Each op's ``data`` at a few fixed points against the oracles' agreed value."""
    outcome = ForwardOutcome()
    faulty, died, stubs, missing = set(), set(), set(), set()
    for op in OPS:
        if not subject.caps.ops.get(op.name):
            continue
        graphs = op_points(op)
        # an op that killed the worker on its first call, when the class was inspected, is not
        # called again: the same limit would only be waited out twice
        killed = subject.session.killed_by.get(op.name)
        try:
            if killed is not None:
                raise killed
            runs = subject.session.run(graphs, grads=False)
        except WorkerDied as exc:
            doing = (f"its first call (gradcheck was inspecting {subject.caps.class_name})" if killed
                     else f"the forward check of `{op.name}`")
            outcome.findings.append(death(exc, Stage.FORWARD, doing, op=op.name))
            faulty.add(op.name)
            died.add(op.name)
            continue
        judged = 0
        for graph, run in zip(graphs, runs, strict=True):
            expected = subject.consensus.expected(graph)
            if expected is None:
                continue
            judged += 1
            out = graph.output
            if run.error is None and expected.value_ok(out, run.data[out]):
                continue
            faulty.add(op.name)
            if run.error is not None and run.error.type == "NameError" and run.error.name in sys.stdlib_module_names:
                missing.add(run.error.name)  # `math.tanh` without `import math`
            if run.error is not None and run.error.type == "NotImplementedError":
                # a skeleton's TODO: the op is not written yet, which is not a wrong value
                stubs.add(op.name)
                outcome.findings.append(Finding(
                    "unsupported-op", f"`{op.name}` is a stub: it raises NotImplementedError",
                    op=op.name, location=_error_location(subject, run), evidence={"stub": True}))
                break
            if run.error is not None and run.error.type in BLOCKED_BY_GUARD and guard_spoke(subject.session):
                # the op tried what the sandbox refuses (a forbidden library, a file outside
                # it...): the policy's finding names that, so it is not reported again as a
                # wrong value
                break
            got = (f"raises {run.error}" if run.error else
                   f"returns a {run.data_types[out]}, not a {subject.caps.class_name}"
                   if out in run.not_nodes and run.data_types.get(out) != "NoneType"
                   else "returns None (is its `return` missing?)" if run.data_types.get(out) == "NoneType"
                   else f"gives a {run.data_types[out]}, not a number" if out in run.data_types
                   else f"gives {run.data[out]!r}")
            methods = subject.caps.op_methods
            method = methods.get(op.name, op.method)
            evidence = {"case": graph.describe(methods), "expected": expected.values[out], "actual": got,
                        "snippet": graph.snippet(subject.caps.class_name, backward=None, methods=methods)}
            if run.error is not None and run.error.where:  # where it raised, for attribution
                evidence["raised_at"] = [*run.error.where, run.error.type]
            if run.error is None and out in run.not_nodes:  # what it returned instead of a node
                evidence["returned"] = run.data_types.get(out, "?")
            outcome.findings.append(Finding(
                "forward-wrong",
                f"`{graph.describe(methods).split('; ')[-1]}` {got}; expected {expected.values[out]!r}",
                op=op.name, location=_error_location(subject, run) or subject.method_location(method),
                evidence=evidence))
            break
        outcome.judged[op.name] = Judged(judged)
    outcome.faulty, outcome.died, outcome.stubs = frozenset(faulty), frozenset(died), frozenset(stubs)
    outcome.missing_imports = frozenset(missing)
    return outcome


def _error_location(subject: Subject, run):
    if run.error and run.error.where:
        return subject.session.submission.locate(*run.error.where)
    return None
