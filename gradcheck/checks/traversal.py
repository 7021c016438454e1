"""Check 4: does ``backward()`` run every closure exactly once, consumers first, from grad 1?

Every node's closure is wrapped in the worker (``TopoRecorder``) and ``backward()`` is called on
graph shapes chosen so that each broken traversal shows: a value used by two later nodes at
different depths (breadth-first order, recursion into children, a ``visited`` set that is reset
or missing) and a value used as both operands of one op.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping

from gradcheck.checks import Subject, death
from gradcheck.checks.evidence import drawable
from gradcheck.checks.outcomes import TraversalOutcome, TraversalState
from gradcheck.findings import CATALOGUE, Finding, Stage
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import get_op
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.source import calls_itself_on_others, free_globals, function_at, top_level_names


def traversal_graphs(usable: list[str]) -> list[Graph]:
    """Shapes with shared nodes, diamonds and unequal path lengths, over the first usable ops by
    rank (the op table's: primitives first) for which every node stays inside its domain."""
    ranked = sorted((get_op(name) for name in usable), key=lambda op: op.rank)
    binary = [op.name for op in ranked if op.arity == 2 and not op.takes_constant]
    unary = [op.name for op in ranked if op.arity == 1 and not op.takes_constant]
    if binary:
        p = binary[0]
        q = binary[1] if len(binary) > 1 else p
        shapes = [
            # c used by d and by e: paths of length 1 and 2 from the output
            Graph((leaf(0.6), leaf(-1.2), apply(q, 0, 1), apply(q, 2, 0), apply(p, 2, 3))),
            # the same value as both operands, then reused again
            Graph((leaf(0.7), leaf(0.9), apply(p, 0, 1), apply(q, 2, 2), apply(p, 3, 2))),
            # a longer chain with a skip connection
            Graph((leaf(1.1), leaf(-0.8), apply(q, 0, 1), apply(p, 2, 0), apply(q, 3, 1),
                   apply(p, 4, 2))),
        ]
        return [g for g in shapes if g.in_domain()]
    for u in unary:
        chain = Graph((leaf(0.4), apply(u, 0), apply(u, 1), apply(u, 2)))
        if chain.in_domain():
            return [chain]
    return []


def traversal_check(subject: Subject, avoid: frozenset[str],
                    closures: Mapping[str, frozenset] | None = None) -> TraversalOutcome:
    """``avoid``: ops whose forward is wrong or whose rule hung or died -- call order does not
    depend on whether an op's own rule is right, so any other op that builds will do.
    ``closures``: what each op's local-rule probe ran, read for closures that recurse."""
    caps = subject.caps
    if caps.backward is None or caps.grad_attr is None:
        subject.log.notes.append("traversal: skipped, there is no backward() to observe")
        return TraversalOutcome(TraversalState.ABSENT)
    if caps.closure_attr is None or caps.inputs_attr is None:
        subject.log.notes.append("traversal: skipped, nodes expose no closure/inputs to instrument")
        return TraversalOutcome(TraversalState.UNOBSERVED)
    shapes = traversal_graphs([o for o in caps.supported_ops if o not in avoid])
    if not shapes:
        subject.log.notes.append("traversal: skipped, no op without its own defect to build graphs from")
        return TraversalOutcome(TraversalState.UNOBSERVED)
    # Each shape is built three times in one request: a walk over `set(_prev)` follows the
    # nodes' addresses, and copies built while the earlier ones live sit elsewhere in memory, so
    # an order that depends on the set shows on at least one copy far more often than on one.
    # The copies' leaves differ a little: values that compare equal by data must not meet.
    graphs = [g for shift in (0.0, 0.013, 0.029) for g in (shape.shifted(shift, 3) for shape in shapes)
              if g.in_domain()]
    try:
        runs = subject.session.run(graphs, instrument=True)
    except WorkerDied as died:
        return TraversalOutcome(TraversalState.BROKEN, [death(
            died, Stage.TRAVERSAL, f"the traversal check (calling `{caps.backward}()`)")])
    if not (any(run.calls for run in runs) or all(run.inputs for run in runs)):
        subject.log.notes.append("traversal: no closure call could be observed (read-only attributes?)")
        return TraversalOutcome(TraversalState.UNOBSERVED)
    seen: dict[str, Finding] = {}
    for graph, run in zip(graphs, runs, strict=True):
        for finding in judge_walk(subject, graph, run):
            seen.setdefault(finding.code, finding)
    recursing = _recursing_closure(subject, closures or {})
    findings = _per_node_recursion(subject, list(seen.values()), recursing)
    return TraversalOutcome(TraversalState.DEFECTIVE if findings else TraversalState.CORRECT, findings,
                            recursing_closures=recursing is not None)


def _recursing_closure(subject: Subject, closures: Mapping[str, frozenset]):
    """The first op closure that calls its inputs' closures itself (``self._backward()`` at its
    end): a walk hidden in the closures. Its (file, line), or None."""
    attr, sub = subject.caps.closure_attr, subject.session.submission
    for ran in closures.values():
        for _, file, line in sorted(ran, key=lambda c: (c[1] or "", c[2] or 0)):
            source = sub.source_of(file) if file else None
            if source and line and attr and calls_itself_on_others(source, line, attr):
                return file, line
    return None


def _per_node_recursion(subject: Subject, findings: list[Finding], recursing) -> list[Finding]:
    """Revisits or a wrong order from a backward() that calls ``backward()`` on other nodes -- or
    from closures that call their inputs' closures -- are one design defect, named once: what
    the learner has to change is the design, not a set of symptoms."""
    symptoms = [f for f in findings if f.code in ("topo-revisit", "topo-order")]
    source, line = _backward_source(subject)
    in_backward = bool(source) and calls_itself_on_others(source, line, subject.caps.backward)
    if not symptoms or not (in_backward or recursing):
        return findings
    entry = CATALOGUE["per-node-recursion"]
    if in_backward:
        message, where = f"`{subject.caps.backward}()` {entry.defect}; {entry.fix}", symptoms[0].location
    else:
        attr = subject.caps.closure_attr
        message = (f"the ops' `{attr}` closures call their inputs' `{attr}()` themselves, so a node "
                   "used twice runs its closure once per path, and before all of its consumers "
                   f"have passed their gradient on; {entry.fix} (and let no closure call another)")
        where = subject.session.submission.locate(*recursing)
    merged = Finding("per-node-recursion", message, location=where,
                     evidence=dict(symptoms[0].evidence, symptoms=sorted(f.code for f in symptoms),
                                   in_closures=not in_backward))
    return [merged, *(f for f in findings if f not in symptoms)]


def judge_walk(subject: Subject, graph: Graph, run) -> list[Finding]:
    """The traversal defects one instrumented run of ``graph`` shows (none: the walk was right)."""
    caps = subject.caps
    where = subject.method_location(caps.backward)
    evidence = {"case": graph.describe(), "snippet": graph.snippet(caps.class_name, caps.backward)}
    expected = subject.consensus.expected(graph)
    if expected is not None:
        evidence["graph"] = drawable(graph, run.data, run.grads, expected.values, expected.grads,
                                     grad_ok=expected.grad_ok, value_ok=expected.value_ok)
    if run.error is not None and run.error.stage == "forward":
        return []
    inputs = run.inputs
    interior = [i for i, row in enumerate(inputs) if row]
    counts = Counter(i for i, _ in run.calls)
    names = _subject_names(graph, run)
    findings = []
    if run.error is not None:
        hint = _globals_hint(subject)
        findings.append(Finding("topo-incomplete", f"`{caps.backward}()` raised {run.error}{hint}",
                                location=where, evidence=evidence))
        return findings
    never = [i for i in interior if counts[i] == 0]
    if never and len(never) == len(interior):
        hint = _globals_hint(subject)
        findings.append(Finding("topo-incomplete", f"`{caps.backward}()` on the output ran none of the "
                                f"graph's `{caps.closure_attr}` closures{hint}", location=where,
                                evidence=evidence))
        return findings
    if never:
        findings.append(Finding("topo-incomplete", f"`{caps.backward}()` never ran the "
                                f"`{caps.closure_attr}` of {_list(names, never)}", location=where,
                                evidence=evidence))
    again = [i for i in interior if counts[i] > 1]
    if again:
        findings.append(Finding("topo-revisit", f"`{caps.backward}()` ran the `{caps.closure_attr}` of "
                                f"{_list(names, again)} {max(counts[i] for i in again)} times; a node used by "
                                f"several others must be visited once{_visited_hint(subject)}",
                                location=where, evidence=evidence))
    # With revisits, what decides the final gradients is each node's *last* run; otherwise the
    # first. A node whose decisive run precedes a consumer's passed on an incomplete gradient.
    first = {}
    for pos, (i, _) in enumerate(run.calls):
        if again:
            first[i] = pos
        else:
            first.setdefault(i, pos)
    early = []
    for node, row in enumerate(inputs):
        for child in row:
            if child in first and node in first and first[child] < first[node] and child in interior:
                early.append((child, node))
    if early:
        child, node = early[0]
        findings.append(Finding("topo-order", f"`{caps.backward}()` ran the `{caps.closure_attr}` of "
                                f"{names.get(child, 'a node')} before that of {names.get(node, 'its consumer')}, "
                                "which uses it, so it passed on an incomplete gradient; process nodes in "
                                "reverse topological order (consumers first)", location=where,
                                evidence=evidence))
    root = run.graph_nodes[graph.output] if run.graph_nodes else None
    seeds = [g for i, g in run.calls if i == root]
    if seeds and seeds[0] is not None and abs(seeds[0] - 1.0) > 1e-12:
        findings.append(Finding("grad-seed", f"`{caps.backward}()` starts with the output's grad = "
                                f"{seeds[0]!r}; it must be set to 1 before the closures run",
                                location=where, evidence=evidence))
    return findings


def _subject_names(graph: Graph, run) -> dict[int, str]:
    names = {}
    for ours, theirs in enumerate(run.graph_nodes):
        if theirs is not None:
            names.setdefault(theirs, f"`{graph.statement(ours).replace('{cls}', 'Value')}`")
    return names


def _list(names: dict[int, str], nodes: list[int]) -> str:
    shown = [names[i] for i in nodes if i in names] or ["an intermediate node"]
    return ", ".join(shown[:3])


def _backward_source(subject: Subject):
    entry = subject.caps.methods.get(subject.caps.backward)
    if not entry:
        return None, None
    return subject.session.submission.source_of(entry["file"]), entry["line"]


def _globals_hint(subject: Subject) -> str:
    source, line = _backward_source(subject)
    if not source:
        return ""
    defined = _names_defined_anywhere(subject)
    used = [n for n in free_globals(source, line) if n not in defined]
    if not used:
        return ""
    shown = ", ".join(f"`{n}`" for n in used)
    return (f"; it reads the global name(s) {shown} instead of starting from `self` -- "
            "build the topological order from `self`, the value backward() was called on")


def _names_defined_anywhere(subject: Subject) -> set[str]:
    """Functions, classes and imports defined at the top of any unit (they are not data)."""
    names = set()
    for unit in subject.session.submission.units:
        try:
            names |= top_level_names(unit.code)
        except SyntaxError:
            continue
    return names


def _visited_hint(subject: Subject) -> str:
    source, line = _backward_source(subject)
    if not source:
        return ""
    fn = function_at(source, line)
    if not isinstance(fn, ast.FunctionDef):
        return ""
    for inner in ast.walk(fn):
        if isinstance(inner, ast.FunctionDef) and inner is not fn:
            for stmt in ast.walk(inner):
                if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and "visit" in t.id for t in stmt.targets):
                    return (f" (the visited set is created inside `{inner.name}`, line {stmt.lineno}, so "
                            "every call starts with an empty one; create it once, outside)")
    return ""
