"""Check 2b: what each op's result holds -- its backward closure and its inputs -- compared with
what the other ops' results hold, and whether distinct values stay distinct nodes.

Run after the forward check and before the local rules. A learner's slip in how one op wires its
result (``out._backward = _backward()``, the closure stored under another name, a result built
without its operands) is named here, on that op, at the line; the op is then handed on as
``broken`` so the local-rule probe and the end-to-end search do not report the consequence
again (``grad-not-propagated``, an unexplained ``gradient-mismatch``).

Every finding starts from an observation of the probe (``session.structure``, made when the
class was inspected): the op's result holds None where the other results hold their closure,
holds a closure that is not its own, or does not lead back to its operands. The method's
source (``method_source``) only says why, and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcheck.checks import Subject
from gradcheck.checks.method_source import MethodReading, read_method
from gradcheck.checks.outcomes import ForwardOutcome
from gradcheck.findings import TRAVERSAL_CODES, Finding
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import get_op
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.sandbox.replies import OpStructure

# Two products with the same value (-0.75) from four leaves, summed: a class that merges equal
# values loses one product and its leaves' gradients. In the control, same shape, no two nodes
# hold the same number.
MERGING = Graph((leaf(1.5), leaf(-0.5), leaf(0.5), leaf(-1.5), apply("mul", 0, 1), apply("mul", 2, 3),
                 apply("add", 4, 5)))
CONTROL = Graph((leaf(1.5), leaf(-0.5), leaf(1.25), leaf(-0.8), apply("mul", 0, 1), apply("mul", 2, 3),
                 apply("add", 4, 5)))


@dataclass
class StructureOutcome:
    findings: list[Finding] = field(default_factory=list)
    broken: frozenset[str] = frozenset()  # ops whose result is wired wrong, heirs included
    node_identity: bool = False  # distinct values with equal data merge (shown on a graph)

    def explains(self, finding: Finding) -> bool:
        """Whether a generated case's failure is this class's merging of equal values: the case
        holds two distinct nodes with the same data (read from its evidence's graph)."""
        # a failing case, or the walk seen wrong on one (values merged in the visited set)
        if not self.node_identity or finding.code not in ("gradient-mismatch", *TRAVERSAL_CODES):
            return False
        nodes = (finding.evidence.get("graph") or {}).get("nodes") or []
        data = [n.get("data") for n in nodes if isinstance(n, dict) and isinstance(n.get("data"), float)]
        return len(set(data)) < len(data)


def structure_check(subject: Subject, forward: ForwardOutcome) -> StructureOutcome:
    caps = subject.caps
    outcome = StructureOutcome()
    if caps.grad_attr is None:
        return outcome
    probes = {p.op: p for p in subject.session.structure
              if p.error is None and caps.ops.get(p.op) and p.op not in forward.faulty}
    broken: set[str] = set()
    called_at_build: list[Finding] = []
    for name, probe in sorted(probes.items(), key=lambda kv: get_op(kv[0]).rank):
        others = [p for op, p in probes.items() if op != name]
        reading = _reading(subject, name)
        found = _closure_findings(subject, name, probe, others, reading)
        if not found:
            found = _inputs_findings(subject, name, probe, others, reading)
        if found:
            broken.add(name)
            outcome.findings += found
            called_at_build += [f for f in found if f.code == "closure-called-at-build"]
    if len(called_at_build) == 1:
        # ops built on that op hold its None too, on their result (``neg = a * -1``) or on a
        # node in between (``sub = a + (-b)``)
        root, attr = called_at_build[0], caps.closure_attr
        for name, probe in probes.items():
            reading = _reading(subject, name)
            if (name not in broken and (reading is None or not reading.closures)
                    and (probe.kind_of(attr) == probes[root.op].kind_of(attr) or attr in probe.inner_none)):
                root.inherited_by.append(name)
                broken.add(name)
        root.inherited_by.sort()
    outcome.broken = frozenset(broken)
    identity = _node_identity(subject, forward)
    if identity is not None:
        outcome.findings.append(identity)
        outcome.node_identity = True
    return outcome


def _reading(subject: Subject, name: str) -> MethodReading | None:
    entry = subject.caps.methods.get(get_op(name).method) or {}
    source = subject.session.submission.source_of(entry.get("file")) if entry.get("file") else None
    if source is None or not entry.get("line"):
        return None
    return read_method(source, entry["line"], subject.caps.grad_attr)


def _at(subject: Subject, name: str, line: int | None):
    entry = subject.caps.methods.get(get_op(name).method) or {}
    if line is None or not entry.get("file"):
        return subject.method_location(get_op(name).method)
    return subject.session.submission.locate(entry["file"], line)


def _closure_findings(subject: Subject, name: str, probe: OpStructure, others: list[OpStructure],
                      reading: MethodReading | None) -> list[Finding]:
    """The op's result lacks its own closure where the other ops' results hold theirs."""
    attr = subject.caps.closure_attr
    if attr is None or reading is None:
        return []
    others_hold = any(attr in p.callables for p in others)  # what "lacks its own" is measured by
    method = get_op(name).method
    held = probe.kind_of(attr)
    own = held == "callable" and f".{method}.<locals>." in probe.callables[attr][0]
    if own or not reading.closures:
        return []
    evidence = {"closure_attr": attr, "result_holds": held}
    called = [s for s in reading.stores if s.attr == attr and s.called and s.value in reading.closures]
    if called and held != "callable":
        store = called[0]
        found = [Finding(
            "closure-called-at-build",
            f"`{method}` calls its backward closure while building the result: `{store.text}` "
            f"stores what `{store.value}()` returns ({held}), not the function, so the result has "
            f"no `{attr}` to run and passes no gradient back; write `{store.owner}.{attr} = "
            f"{store.value}` (no parentheses)", op=name, location=_at(subject, name, store.line),
            evidence=dict(evidence, called=store.value))]
        # the closure ran once, at build time, when the output's grad was still 0: whatever else
        # is wrong in it can only be read from its source
        for write in reading.grad_writes.get(store.value, []):
            if write.assigns and write.owner != store.owner:
                found.append(Finding(
                    "grad-overwrite",
                    f"`{method}`'s backward assigns `{write.text}`: it assigns its inputs' gradients "
                    "instead of accumulating them (`=` for `+=`); read from the source, since the "
                    f"closure is never run (see closure-called-at-build); use `+=`", op=name,
                    location=_at(subject, name, write.line),
                    evidence={"identified_by": "source", "statement": write.text}))
                break
        return found
    if not others_hold:  # a closure stored elsewhere is only told apart from the other ops
        return []
    closure = next((c for c in reading.closures if not reading.stored(c, attr)), None)
    if closure is None:
        return []
    elsewhere = [s for s in reading.stores if s.value == closure and not s.called
                 and not (s.attr == attr and reading.on_result(s))]
    operand = " (an operand, not the result)" if elsewhere and elsewhere[0].owner in reading.params else ""
    where = (f"it is stored in `{elsewhere[0].owner}.{elsewhere[0].attr}`{operand} instead" if elsewhere
             else "it is never stored on the result")
    line = elsewhere[0].line if elsewhere else reading.closures[closure]
    shadow = " (which also hides the method of that name on this node)" if elsewhere and elsewhere[0].attr in subject.caps.methods else ""
    return [Finding(
        "closure-not-attached",
        f"`{method}` defines its backward closure `{closure}` but never attaches it to the "
        f"result's `{attr}`: {where}{shadow}, so backward() runs the result's default `{attr}` "
        f"and no gradient reaches its inputs; assign `<result>.{attr} = {closure}`", op=name,
        location=_at(subject, name, line),
        evidence=dict(evidence, closure=closure,
                      stored_in=f"{elsewhere[0].owner}.{elsewhere[0].attr}" if elsewhere else None))]


def _inputs_findings(subject: Subject, name: str, probe: OpStructure, others: list[OpStructure],
                     reading: MethodReading | None) -> list[Finding]:
    """The op's result does not lead back to its operands while the other ops' results do."""
    attr = subject.caps.inputs_attr
    if attr is None or probe.is_operand or attr in probe.reaches or not any(attr in p.reaches for p in others):
        return []
    method = get_op(name).method
    line = reading.result_line if reading else None
    built = f" (`{reading.result_text}`)" if reading and reading.result_text else ""
    return [Finding(
        "no-inputs-recorded",
        f"`{method}` builds its result without recording its inputs{built}: its `{attr}` does not "
        "hold the values it was computed from, so backward() never reaches them, nor anything "
        f"computed before them; pass the operands when building the result, as the other ops do",
        op=name, location=_at(subject, name, line), evidence={"inputs_attr": attr})]


def _node_identity(subject: Subject, forward: ForwardOutcome) -> Finding | None:
    """Distinct values with the same data merge in sets, and a graph shows it losing gradient:
    ``MERGING`` fails while ``CONTROL`` (same shape, products that differ) passes."""
    caps = subject.caps
    if not subject.session.identity.merged or not all(caps.ops.get(o) for o in ("add", "mul")):
        return None
    if {"add", "mul"} & forward.faulty or (caps.backward is None and caps.closure_attr is None):
        return None
    expected = [subject.consensus.expected(g) for g in (MERGING, CONTROL)]
    if None in expected:
        return None
    try:
        runs = subject.session.run([MERGING, CONTROL], use_backward=caps.backward is not None)
    except WorkerDied:
        return None

    def right(run, want) -> bool:
        return run.error is None and run.grads is not None and all(
            want.grad_ok(i, g) for i, g in enumerate(run.grads))

    if right(runs[0], expected[0]) or not right(runs[1], expected[1]):
        return None
    defined = [m for m in ("__eq__", "__hash__") if m in caps.methods]
    named = " and ".join(f"`{m}`" for m in defined) or "`__eq__`"
    return Finding(
        "node-identity",
        f"{caps.class_name} compares values by their data ({named}): two distinct values holding "
        "the same number count as one node in a set, so recording an op's inputs in a set and the "
        f"visited set of backward() drop one of them and its gradient is lost (in "
        f"`{MERGING.describe()}`, one product is never back-propagated); nodes must compare by "
        "identity: remove these methods, or keep sets of `id(node)`",
        location=subject.method_location(defined[0] if defined else "__eq__"),
        evidence={"case": MERGING.describe(), "snippet": MERGING.snippet(caps.class_name, caps.backward),
                  "methods": defined})
