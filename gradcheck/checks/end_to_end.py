"""Check 5: Hypothesis-generated DAGs, the subject's values and gradients against the oracles.

Every node's forward value and every gradient the output depends on are compared; a failure
shrinks to a minimal graph. After a failure the ops it blamed are left out and the search runs
again, so independent defects each get their own counterexample. What a counterexample means
is ``diagnosis``'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gradcheck.checks import Subject, death
from gradcheck.checks.outcomes import EndToEndOutcome, RuleOutcome, TraversalOutcome, TraversalState
from gradcheck.findings import Stage
from gradcheck.graph import Graph
from gradcheck.ops import get_op
from gradcheck.oracles.consensus import Expected
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.sandbox.replies import GraphRun


@dataclass
class Counterexample:
    graph: Graph
    run: GraphRun
    expected: Expected
    kind: str  # "forward" or "gradient"
    bad_nodes: list[int]
    suspect: str | None = None  # the one op not yet verified, when searching op by op
    shrunk: bool = True  # False: the first failing graph, as generated (see _op_by_op)


def compare(graph: Graph, run: GraphRun, expected: Expected, grads: bool) -> tuple[str, list[int]] | None:
    """What disagrees: ("forward", nodes) or ("gradient", nodes), or None when all agree."""
    if run.error is not None and run.error.stage == "forward":
        return "forward", [graph.output]
    bad = [i for i in range(len(graph.nodes)) if not expected.value_ok(i, run.data[i])]
    if bad:
        return "forward", bad
    if not grads:
        return None
    if run.error is not None or run.grads is None:
        return "gradient", [graph.output]
    bad = [i for i in graph.ancestors_of_output() if not expected.grad_ok(i, run.grads[i])]
    return ("gradient", bad) if bad else None


# The graphs a search tries first, by search parameters. They are generated without any
# subject (a property that always holds), so they are exactly what derandomized Hypothesis
# generates for a subject that passes -- and the same for every subject, however many were
# checked before: each subject's worker sees a request sequence that depends only on itself,
# which keeps order-dependent bugs (sets of values iterate by address) reproducible. Only a
# failure brings in Hypothesis with the subject, to find and shrink the counterexample.
_SEQUENCES: dict[tuple, tuple[Graph, ...]] = {}


@dataclass
class Search:
    """One end-to-end check's way of running cases, and the cases it judged per op."""

    subject: Subject
    grads: bool  # compare gradients, not only forward values
    use_backward: bool  # the subject's backward(), or gradcheck's walk over its closures
    judged: Counter = field(default_factory=Counter)  # op -> cases judged that used it


def search(run: Search, ops: list[str], focus: str | None = None, shrink: bool = True) -> Counterexample | None:
    """One property search; returns the shrunk counterexample (``shrink``: else the first
    failure as generated), or None if none was found."""
    first = _first_failure(run, _sequence(run.subject, ops, focus))
    if first is None:
        return None
    if not shrink:
        first.shrunk = False
        return first
    from gradcheck.checks.property_search import shrunk_failure  # Hypothesis: only on a failure

    return shrunk_failure(run, ops, focus)


def _sequence(subject: Subject, ops: list[str], focus: str | None) -> tuple[Graph, ...]:
    """The graphs a search tries first: shared in this process, else from the case store, else
    generated (and then kept in both)."""
    cfg, cases = subject.settings, subject.consensus.cases
    key = (tuple(ops), focus, cfg.examples, cfg.max_ops, cfg.seed)
    sequence = _SEQUENCES.get(key) if cfg.share else None
    if sequence is None and cases is not None:
        sequence = cases.sequence(ops, focus)
    if sequence is None:
        from gradcheck.checks.property_search import generated  # Hypothesis: only on a miss

        sequence = generated(ops, focus, cfg)
    if cfg.share:
        _SEQUENCES[key] = sequence
    if cases is not None:
        cases.keep_sequence(ops, focus, sequence)
    return sequence


# Graphs sent to the worker in one request: a search is a few round trips, not a hundred, and
# a request stays far inside the per-request time limit even for a slow subject.
BATCH = 25


def _first_failure(search_: Search, sequence: tuple[Graph, ...]) -> Counterexample | None:
    """The first graph of ``sequence`` on which the subject disagrees with the oracles. Graphs
    go to the worker in batches; a graph after the first failure in its batch is run but not
    judged, so what is judged and counted is what one-by-one running would judge."""
    for start in range(0, len(sequence), BATCH):
        chunk = sequence[start:start + BATCH]
        expected = [search_.subject.consensus.expected(g) for g in chunk]
        asked = [g for g, e in zip(chunk, expected, strict=True) if e is not None]
        runs = iter(_run(search_, asked) if asked else [])
        for graph, answer in zip(chunk, expected, strict=True):
            search_.subject.log.count("cases")
            if answer is None:
                continue
            search_.judged.update(graph.ops_used)
            verdict = compare(graph, run := next(runs), answer, search_.grads)
            if verdict:
                return Counterexample(graph, run, answer, *verdict)
    return None


def _run(search_: Search, graphs: list[Graph]) -> list[GraphRun]:
    return search_.subject.session.run(graphs, grads=search_.grads, use_backward=search_.use_backward)


def check_case(search_: Search, graph: Graph) -> Counterexample | None:
    """Run one graph on the subject and compare (Hypothesis's property calls this); None when it
    agrees with the oracles, or the oracles disagree among themselves, which is not held against
    the subject."""
    return _first_failure(search_, (graph,))


def end_to_end_check(subject: Subject, exclude: frozenset[str], rules: RuleOutcome,
                     traversal: TraversalOutcome) -> EndToEndOutcome:
    """Search generated graphs over the ops without a diagnosed defect (``exclude``)."""
    caps = subject.caps
    pool = [o for o in caps.supported_ops if o not in exclude]
    if not pool:
        subject.log.notes.append("end-to-end: skipped, no op left without a diagnosed defect")
        return EndToEndOutcome()
    grads = caps.grad_attr is not None and traversal.backward_works
    own_walk = caps.backward is not None and walk_known_wrong(traversal, rules)
    use_backward = caps.backward is not None and not own_walk
    if grads and not use_backward and caps.closure_attr is None:
        grads = False
        subject.log.notes.append("end-to-end: gradients skipped, no backward() and no per-node closure")
    if grads and caps.starts_with_gradient:
        # every new value already holds a gradient (the grad-seed finding): every gradient the
        # search compares carries it, and diagnosis puts each failure down to that finding --
        # after a round of searching and shrinking per failure, for nothing (4 shrinks, more than
        # half of such a check). Forward values are still compared on every generated graph.
        grads = False
        subject.log.notes.append(f"end-to-end: forward values only, since every new `{caps.class_name}` "
                                 f"starts with grad = {caps.initial_grad:g} (found above) and every "
                                 "gradient would carry it")
    if grads and own_walk:
        subject.log.notes.append(f"end-to-end: gradients by gradcheck's walk over the closures, since "
                                 f"`{caps.backward}()`'s walk has a defect of its own (found above)")
    run = Search(subject, grads, use_backward)
    try:
        failures = _op_by_op(run, pool) if grads and not rules.observed else _rounds(run, pool)
    except WorkerDied as died:
        return EndToEndOutcome(findings=[death(died, Stage.END_TO_END, "the end-to-end property test",
                                               case=getattr(died, "case", None))])
    return EndToEndOutcome(failures=failures, tested=frozenset(pool), judged=dict(run.judged),
                           own_walk=own_walk)


def walk_known_wrong(traversal: TraversalOutcome, rules: RuleOutcome) -> bool:
    """backward()'s walk was watched going wrong, and gradcheck can walk the closures itself
    (they ran one op at a time, and none calls another's). The search then runs on gradcheck's
    walk: on the subject's own it would fail on nearly every graph for the defect already named,
    shrinking each failure at length, and any defect of the ops in context would hide behind it."""
    return (traversal.state == TraversalState.DEFECTIVE and rules.observed
            and not traversal.recursing_closures)


def _rounds(run: Search, pool: list[str]) -> list[Counterexample]:
    """Search all ops together; after a failure leave out the ops it used and search again."""
    failures = []
    for _ in range(1 + run.subject.settings.rounds):
        cx = search(run, pool)
        if cx is None:
            break
        failures.append(cx)
        pool = [o for o in pool if o not in cx.graph.ops_used]
        if not pool:
            break
    return failures


def _op_by_op(run: Search, pool: list[str]) -> list[Counterexample]:
    """Without local-rule probes, isolate ops by searching each one together with the ops
    already verified: a failure then has exactly one suspect. Primitives go first so that
    ops usually built from them are tried on a verified base.

    An op usually built from a primitive that already failed (``neg = a * -1`` after ``mul``)
    fails through it on nearly every graph. Its first failure is kept as generated, not shrunk:
    shrinking it was most of such a subject's check (a tape with an overwriting ``mul`` shrank
    five heirs: 5.9 s, against 2.6 s without), and what it is for is done either way --
    diagnosis folds an inherited failure into the primitive's finding, and an heir's own wrong
    derivative is still named by back-propagating the heir alone (``diagnosis._alone``)."""
    order = sorted(pool, key=lambda name: (len(get_op(name).built_from), get_op(name).rank))
    verified: list[str] = []
    failures = []
    for name in order:
        heir = any(failed.suspect in get_op(name).built_from for failed in failures)
        cx = search(run, [*verified, name], focus=name, shrink=not heir)
        if cx is None:
            verified.append(name)
            continue
        cx.suspect = name
        failures.append(cx)
    return failures
