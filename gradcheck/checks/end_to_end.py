"""Check 5: Hypothesis-generated DAGs, the subject's values and gradients against the oracles.

Every node's forward value and every gradient the output depends on are compared; a failure
shrinks to a minimal graph. After a failure the ops it blamed are left out and the search runs
again, so independent defects each get their own counterexample.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import FlakyFailure

from gradcheck.checks import CheckContext
from gradcheck.evidence import drawable
from gradcheck.findings import TRAVERSAL_CODES, Finding
from gradcheck.fingerprint import Candidate, identify
from gradcheck.generate import expression_dags
from gradcheck.graph import Graph
from gradcheck.observe import GraphRun
from gradcheck.ops import get_op, in_domain
from gradcheck.oracles.consensus import Expected
from gradcheck.sandbox.client import WorkerDied


class _Falsified(Exception):
    pass


@dataclass
class Counterexample:
    graph: Graph
    run: GraphRun
    expected: Expected
    kind: str  # "forward" or "gradient"
    bad_nodes: list[int]
    suspect: str | None = None  # the one op not yet verified, when searching op by op


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


def search(ctx: CheckContext, ops: list[str], grads: bool, use_backward: bool,
           focus: str | None = None) -> Counterexample | None:
    """One property search; returns the shrunk counterexample, or None if none was found."""
    cfg = ctx.settings
    key = (tuple(ops), focus, cfg.examples, cfg.max_ops, cfg.seed)
    sequence = _SEQUENCES.get(key) if cfg.share else None
    if sequence is None:
        sequence = _generate(ops, focus, cfg)
        if cfg.share:
            _SEQUENCES[key] = sequence
    if not any(_check_case(ctx, g, grads, use_backward) for g in sequence):
        return None
    return _hypothesis_search(ctx, ops, grads, use_backward, focus)


def _settings(cfg):
    return settings(max_examples=cfg.examples, database=None, deadline=None, verbosity=Verbosity.quiet,
                    derandomize=cfg.seed is None, report_multiple_bugs=False, print_blob=False,
                    phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))


def _seeded(test, cfg):
    return seed(cfg.seed)(test) if cfg.seed is not None else test


def _generate(ops: list[str], focus: str | None, cfg) -> tuple[Graph, ...]:
    seen: list[Graph] = []

    @_settings(cfg)
    @given(expression_dags(ops, max_ops=cfg.max_ops, focus=focus))
    def record(graph: Graph) -> None:
        seen.append(graph)

    _seeded(record, cfg)()
    return tuple(seen)


def _check_case(ctx: CheckContext, graph: Graph, grads: bool, use_backward: bool) -> Counterexample | None:
    """Run one graph on the subject and compare; None when it agrees with the oracles (or the
    oracles disagree among themselves, which is not held against the subject)."""
    ctx.stats["cases"] = ctx.stats.get("cases", 0) + 1
    expected = ctx.consensus.expected(graph)
    if expected is None:
        return None
    run = ctx.session.run([graph], grads=grads, use_backward=use_backward)[0]
    verdict = compare(graph, run, expected, grads)
    return Counterexample(graph, run, expected, *verdict) if verdict else None


def _hypothesis_search(ctx: CheckContext, ops: list[str], grads: bool, use_backward: bool,
                       focus: str | None) -> Counterexample | None:
    """The last failure Hypothesis reports is the shrunk one (it replays it at the end)."""
    found: list[Counterexample] = []
    died: list[WorkerDied] = []
    cfg = ctx.settings

    @_settings(cfg)
    @given(expression_dags(ops, max_ops=cfg.max_ops, focus=focus))
    def prop(graph: Graph) -> None:
        if died:
            return  # the worker died once: don't let shrinking replay a hang again and again
        try:
            cx = _check_case(ctx, graph, grads, use_backward)
        except WorkerDied as exc:
            exc.case = graph.describe()
            died.append(exc)
            return
        if cx is not None:
            found.append(cx)
            raise _Falsified()

    try:
        _seeded(prop, cfg)()
    except _Falsified:
        pass
    except FlakyFailure:
        # The same graph failed once and passed on replay: the subject's result depends on
        # something like set iteration order (objects hash by address). Wrong some of the
        # time is wrong; report the failing run as it was observed.
        pass
    if died:
        raise died[0]
    return found[-1] if found else None


def end_to_end_check(ctx: CheckContext) -> list[Counterexample]:
    caps = ctx.caps
    pool = [o for o in caps.supported_ops if o not in ctx.faulty_ops]
    if not pool:
        ctx.notes.append("end-to-end: skipped, no op left without a diagnosed defect")
        return []
    grads = caps.grad_attr is not None and not ctx.backward_broken
    use_backward = caps.backward is not None
    if grads and not use_backward and caps.closure_attr is None:
        grads = False
        ctx.notes.append("end-to-end: gradients skipped, no backward() and no per-node closure")
    try:
        if grads and not ctx.observed_rules:
            failures = _op_by_op(ctx, pool, use_backward)
        else:
            failures = _rounds(ctx, pool, grads, use_backward)
        ctx.e2e_tested.update(pool)
        return failures
    except WorkerDied as died:
        ctx.record_death(died, "the end-to-end property test", case=getattr(died, "case", None))
        return []


def _rounds(ctx: CheckContext, pool: list[str], grads: bool, use_backward: bool) -> list[Counterexample]:
    """Search all ops together; after a failure leave out the ops it used and search again."""
    failures = []
    for _ in range(1 + ctx.settings.rounds):
        cx = search(ctx, pool, grads, use_backward)
        if cx is None:
            break
        failures.append(cx)
        pool = [o for o in pool if o not in cx.graph.ops_used]
        if not pool:
            break
    return failures


def _op_by_op(ctx: CheckContext, pool: list[str], use_backward: bool) -> list[Counterexample]:
    """Without local-rule probes, isolate ops by searching each one together with the ops
    already verified: a failure then has exactly one suspect. Primitives go first so that
    ops usually built from them are tried on a verified base."""
    order = sorted(pool, key=lambda name: (len(get_op(name).built_from), name != "add", name != "mul"))
    verified: list[str] = []
    failures = []
    for name in order:
        cx = search(ctx, [*verified, name], True, use_backward, focus=name)
        if cx is None:
            verified.append(name)
            continue
        cx.suspect = name
        failures.append(cx)
    return failures


def counterexample_evidence(ctx: CheckContext, cx: Counterexample) -> dict:
    g = cx.graph
    rows = []
    for i in cx.bad_nodes[:8]:
        if cx.kind == "forward":
            rows.append({"node": g.name(i), "expected_data": cx.expected.values[i], "actual_data": cx.run.data[i]})
        else:
            rows.append({"node": g.name(i), "expected_grad": cx.expected.grads[i],
                         "actual_grad": cx.run.grads[i] if cx.run.grads else None})
    ancestors = set(g.ancestors_of_output())
    picture = drawable(g, cx.run.data, cx.run.grads, cx.expected.values,
                       cx.expected.grads if cx.kind == "gradient" else None,
                       grad_ok=lambda i, v: i not in ancestors or cx.expected.grad_ok(i, v),
                       value_ok=cx.expected.value_ok)
    return {"case": g.describe(), "mismatches": rows, "graph": picture,
            "error": str(cx.run.error) if cx.run.error else None,
            "snippet": g.snippet(ctx.caps.class_name, ctx.caps.backward if cx.kind == "gradient" else None)}


def _has_sharing(graph: Graph) -> bool:
    return any(len(c) > 1 for c in graph.consumers().values()) or any(
        len(n.args) == 2 and n.args[0] == n.args[1] for n in graph.nodes)


def _explaining(ctx: CheckContext, cx: Counterexample) -> Finding | None:
    """A traversal diagnosis that accounts for this failure (faulty ops never reach the search)."""
    # A wrong seed breaks every graph; a wrong order or a skipped node, any graph more than one
    # op deep; revisits need a shared node -- in our graph, or inside an op built from several
    # nodes. One only fingerprinted explains them all: no structure could be seen.
    deep = any(not cx.graph.nodes[a].is_leaf for n in cx.graph.nodes for a in n.args)
    shared = _has_sharing(cx.graph) or bool(cx.graph.ops_used & ctx.composite_ops)
    for f in ctx.findings:
        if f.code not in TRAVERSAL_CODES:
            continue
        if (f.evidence.get("identified_by") == "fingerprint" or f.code == "grad-seed" or shared
                or (f.code != "topo-revisit" and deep)):
            return f
    return None


def _fingerprint(ctx: CheckContext, cx: Counterexample) -> list[Candidate]:
    """Candidate defects reproducing the subject's numbers, restricted to the kinds of defect
    that could not be observed directly. Several candidates can coincide at special inputs
    (a local derivative of exactly 1 makes "ignores out.grad" and "overwrites" agree), so the
    same graph is replayed at other inputs until one candidate is left."""
    def allowed(m: Candidate) -> bool:
        return ((m.op is None and not ctx.observed_traversal)
                or (m.op is not None and not ctx.observed_rules and m.op == cx.suspect))

    matches = [m for m in identify(cx.graph, cx.run.grads or [], cx.expected.grad_tol) if allowed(m)]
    for graph in _shifted(cx.graph):
        if len(matches) <= 1:
            break
        expected = ctx.consensus.expected(graph)
        if expected is None:
            continue
        try:
            run = ctx.session.run([graph])[0]
        except WorkerDied:
            break
        if run.grads is None or run.error is not None:
            continue
        again = set(identify(graph, run.grads, expected.grad_tol))
        matches = [m for m in matches if m in again]
    return matches


def _shifted(graph: Graph) -> list[Graph]:
    """The same graph at other leaf values, where every op stays inside its domain."""
    out = []
    for shift in (0.37, -0.61, 1.13):
        nodes = tuple(replace(n, value=round(n.value + shift, 2)) if n.is_leaf else n for n in graph.nodes)
        candidate = Graph(nodes)
        try:
            values = candidate.float_values()
        except (ArithmeticError, ValueError, TypeError):  # TypeError: a complex power
            continue
        if all(n.is_leaf or in_domain(get_op(n.op), [values[a] for a in n.args], n.k)
               for n in candidate.nodes):
            out.append(candidate)
    return out


def failure_findings(ctx: CheckContext, failures: list[Counterexample]) -> None:
    """Turn counterexamples into findings. A failure an earlier diagnosis explains becomes
    evidence on that finding; one from an uninstrumentable subject is fingerprinted; the rest
    are ``gradient-mismatch``."""
    gradient = [cx for cx in failures if cx.kind == "gradient"]
    for cx in failures:
        if cx.kind == "forward":
            ctx.e2e_failed.update(cx.graph.ops_used)
            evidence = counterexample_evidence(ctx, cx)
            ops = sorted(cx.graph.ops_used)
            ctx.findings.append(Finding("forward-wrong", f"forward values disagree with the oracles in "
                                        f"`{evidence['case']}`", op=ops[0] if len(ops) == 1 else None,
                                        evidence=evidence))
    matches = {id(cx): _fingerprint(ctx, cx) for cx in gradient}
    # Parsimony: one traversal defect that reproduces several failures explains all of them,
    # rather than a different op defect for each.
    traversal = Counter(m for cx in gradient for m in matches[id(cx)] if m.op is None)
    common = [m for m, n in traversal.most_common() if n >= 2 or n == len(gradient)]
    for cx in gradient:
        evidence = counterexample_evidence(ctx, cx)
        explaining = _explaining(ctx, cx)
        if explaining is not None:  # backward()'s defect, not these ops': they are not blamed
            explaining.evidence.setdefault("end_to_end", evidence)
            continue
        ctx.e2e_failed.update([cx.suspect] if cx.suspect else cx.graph.ops_used)
        found = matches[id(cx)]
        if common and common[0] in found:
            found = [common[0]]
        if len(found) == 1:
            _add_fingerprinted(ctx, found[0], evidence)
            continue
        if not found and _inherit_from_primitive(ctx, cx, evidence):
            continue
        ops = sorted(cx.graph.ops_used)
        names = ", ".join(f"`{o}`" for o in ops)
        message = (f"gradients disagree with the oracles in `{evidence['case']}` (ops: {names}) and no "
                   "specific defect explains it")
        if found:
            message += "; the numbers are consistent with " + " or ".join(
                f"{m.code}{f' in `{m.op}`' if m.op else ''}" for m in found)
        location = None
        if cx.run.error is not None:  # say what raised, and where (a NameError in backward())
            message += f"; the {cx.run.error.stage or 'backward'} pass raised {cx.run.error}"
            if cx.run.error.where:
                location = ctx.session.submission.locate(*cx.run.error.where)
        ctx.findings.append(Finding("gradient-mismatch", message, op=ops[0] if len(ops) == 1 else None,
                                    location=location, evidence=evidence))
    if not ctx.observed_rules:
        _fold_usual_compositions(ctx)


def _inherit_from_primitive(ctx: CheckContext, cx: Counterexample, evidence: dict) -> bool:
    """An op searched on its own whose numbers match no defect of its own, while a primitive it
    is usually built from has a fingerprinted defect: the composite's failure is that one (the
    reference engine treats the composite as a single node, so it cannot reproduce it)."""
    if ctx.observed_rules or cx.suspect is None:
        return False
    for primitive in get_op(cx.suspect).built_from:
        parent = next((f for f in ctx.findings if f.op == primitive
                       and f.evidence.get("identified_by") == "fingerprint"), None)
        if parent is not None:
            if cx.suspect not in parent.inherited_by:
                parent.inherited_by.append(cx.suspect)
                parent.message += (f" `{cx.suspect}` fails too, probably because it is built from "
                                   f"`{primitive}`.")
            parent.evidence.setdefault("inherited_cases", []).append(evidence["case"])
            return True
    return False


def _fold_usual_compositions(ctx: CheckContext) -> None:
    """Without observed structure, a defect shared by an op and a primitive it is usually built
    from (``neg = a * -1``) is reported once, on the primitive, as probably inherited."""
    fingerprinted = [f for f in ctx.findings if f.op and f.evidence.get("identified_by") == "fingerprint"]
    for f in sorted(fingerprinted, key=lambda f: len(get_op(f.op).built_from)):
        present = {(g.code, g.op): g for g in ctx.findings if g.op}
        parent = next((present[(f.code, p)] for p in get_op(f.op).built_from if (f.code, p) in present), None)
        if parent is not None:
            parent.inherited_by.append(f.op)
            parent.message += f" `{f.op}` shows the same defect, probably because it is built from `{parent.op}`."
            ctx.findings.remove(f)


_FINGERPRINT_WORDS = {
    "grad-overwrite": "assigns its inputs' gradients instead of accumulating them (`=` for `+=`)",
    "missing-chain-factor": "does not multiply by the upstream gradient (`out.grad`)",
    "grad-not-propagated": "passes no gradient to its inputs",
    "topo-revisit": "`backward()` processes some node more than once",
    "topo-order": "`backward()` processes nodes before the nodes that consume them",
    "grad-seed": "`backward()` does not start from grad = 1 at the output",
}


def _add_fingerprinted(ctx: CheckContext, cand: Candidate, evidence: dict) -> None:
    for f in ctx.findings:
        if (f.code, f.op) == (cand.code, cand.op):
            return
    what = _FINGERPRINT_WORDS[cand.code]
    subject = f"`{get_op(cand.op).method}`'s backward " if cand.op else ""
    message = (f"{subject}{what}: replaying `{evidence['case']}` with exactly this defect reproduces "
               "your gradients (identified from the numbers; the class exposes no per-node closures "
               "to observe directly)")
    location = ctx.method_location(get_op(cand.op).method if cand.op else (ctx.caps.backward or ""))
    ctx.findings.append(Finding(cand.code, message, op=cand.op, location=location,
                                evidence=dict(evidence, identified_by="fingerprint")))
