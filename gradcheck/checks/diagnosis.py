"""What an end-to-end failure means: each counterexample the search found becomes a finding.

A failure an earlier diagnosis explains (a traversal defect whose walk over that very graph was
wrong, a wrong seed) becomes evidence on that finding; a failure of a subject without observable
closures is named from its numbers -- a modelled defect replayed on gradcheck's reference engine
(fingerprinting), or the op back-propagated alone; the rest is ``gradient-mismatch``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gradcheck.checks import Subject
from gradcheck.checks.basics import op_points
from gradcheck.checks.end_to_end import Counterexample
from gradcheck.checks.evidence import drawable
from gradcheck.checks.fingerprint import Candidate, identify
from gradcheck.checks.outcomes import EndToEndOutcome, RuleOutcome, TraversalOutcome
from gradcheck.checks.traversal import judge_walk
from gradcheck.findings import CATALOGUE, TRAVERSAL_CODES, Finding
from gradcheck.graph import Graph
from gradcheck.ops import get_op
from gradcheck.sandbox.limits import WorkerDied


def counterexample_evidence(subject: Subject, cx: Counterexample) -> dict:
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
    evidence = {"case": g.describe(), "mismatches": rows, "graph": picture,
                "error": str(cx.run.error) if cx.run.error else None,
                "snippet": g.snippet(subject.caps.class_name, subject.caps.backward if cx.kind == "gradient" else None)}
    if not cx.shrunk:
        evidence["shrunk"] = False  # the case as generated: not the smallest one
    return evidence


def _has_sharing(graph: Graph) -> bool:
    return any(len(c) > 1 for c in graph.consumers().values()) or any(
        len(n.args) == 2 and n.args[0] == n.args[1] for n in graph.nodes)


def _explaining(earlier: list[Finding], cx: Counterexample, composite: frozenset[str],
               matches: list[Candidate], walk_defective: bool) -> Finding | None:
    """A traversal diagnosis that accounts for this failure (faulty ops never reach the search).

    An observed wrong order or skipped node breaks any graph more than one op deep; a revisit
    needs a shared node -- in our graph, or inside an op built from several nodes; and any of
    them explains a failure on which the subject's walk over that very graph, replayed with its
    closures watched (``walk_defective``), was wrong (a root appended once per child). The replay
    only adds: a walk that depends on set order may come out right on replay. A defect
    identified only from the numbers (fingerprinted), or a wrong seed, explains a failure only
    when it reproduces this failure's own numbers (or cannot be replayed at all): another
    defect may be behind it."""
    deep = any(not cx.graph.nodes[a].is_leaf for n in cx.graph.nodes for a in n.args)
    shared = _has_sharing(cx.graph) or bool(cx.graph.ops_used & composite)
    for f in earlier:
        if f.code not in TRAVERSAL_CODES:
            continue
        if f.evidence.get("identified_by") == "fingerprint":
            # gradcheck's reference engine replays an op as one node; where the subject usually
            # builds it from several (``sub = a + (-b)``), a broken walk over those nodes
            # cannot be replayed, and the defect is taken to explain the failure
            if Candidate(f.code, f.op) in matches or any(get_op(o).built_from for o in cx.graph.ops_used):
                return f
        elif f.code == "grad-seed":
            if "initial_grad" in f.evidence or _scaled(cx):
                return f
        elif walk_defective or shared or (f.code != "topo-revisit" and deep):
            return f
    return None


def _watched_walk(subject: Subject, cx: Counterexample) -> list[Finding] | None:
    """The traversal defects the subject's backward() shows on this counterexample, replayed
    with its closures watched (closures run twice, out of order, never, or from a wrong seed);
    None when it cannot be replayed watched."""
    try:
        run = subject.session.run([cx.graph], instrument=True)[0]
    except WorkerDied:
        return None
    if run.error is not None or (not run.calls and not run.inputs):
        return None  # a raise names the op that raised, not the walk (see _mismatch)
    return judge_walk(subject, cx.graph, run)


def _scaled(cx: Counterexample) -> bool:
    """Every gradient is the expected one times the same factor: what a wrong seed does."""
    if cx.run.grads is None:
        return False
    pairs = [(cx.run.grads[i], cx.expected.grads[i]) for i in cx.graph.ancestors_of_output()]
    ratios = [a / e for a, e in pairs if a is not None and abs(e) > 1e-9]
    zeros_ok = all(a is not None and abs(a) <= 1e-9 for a, e in pairs if abs(e) <= 1e-9)
    return bool(ratios) and zeros_ok and max(ratios) - min(ratios) <= 1e-6 * (1 + abs(ratios[0]))


def _fingerprint(subject: Subject, cx: Counterexample, rules_observed: bool,
                 traversal_observed: bool) -> list[Candidate]:
    """Candidate defects reproducing the subject's numbers, restricted to the kinds of defect
    that could not be observed directly. Several candidates can coincide at special inputs
    (a local derivative of exactly 1 makes "ignores out.grad" and "overwrites" agree), so the
    same graph is replayed at other inputs until one candidate is left."""
    def allowed(m: Candidate) -> bool:
        return ((m.op is None and not traversal_observed)
                or (m.op is not None and not rules_observed and m.op == cx.suspect))

    matches = [m for m in identify(cx.graph, cx.run.grads or [], cx.expected.grad_tol) if allowed(m)]
    for graph in _shifted(cx.graph):
        if len(matches) <= 1:
            break
        expected = subject.consensus.expected(graph)
        if expected is None:
            continue
        try:
            run = subject.session.run([graph])[0]
        except WorkerDied:
            break
        if run.grads is None or run.error is not None:
            continue
        again = set(identify(graph, run.grads, expected.grad_tol))
        matches = [m for m in matches if m in again]
    return matches


def _shifted(graph: Graph) -> list[Graph]:
    """The same graph at other leaf values, where every op stays inside its domain."""
    return [g for g in (graph.shifted(shift, 2) for shift in (0.37, -0.61, 1.13)) if g.in_domain()]


@dataclass
class Diagnosis:
    findings: list[Finding]  # new findings: forward-wrong, fingerprinted defects, mismatches
    failed: frozenset[str]  # ops blamed by a failure no earlier finding explains


def failure_findings(subject: Subject, outcome: EndToEndOutcome, earlier: list[Finding],
                     rules: RuleOutcome, traversal: TraversalOutcome) -> Diagnosis:
    """Turn counterexamples into findings. A failure an earlier diagnosis explains becomes
    evidence on that finding; one from an uninstrumentable subject is fingerprinted; the rest
    are ``gradient-mismatch``."""
    findings: list[Finding] = []
    failed: set[str] = set()
    gradient = [cx for cx in outcome.failures if cx.kind == "gradient"]
    for cx in outcome.failures:
        if cx.kind == "forward":
            failed.update(cx.graph.ops_used)
            evidence = counterexample_evidence(subject, cx)
            ops = sorted(cx.graph.ops_used)
            findings.append(Finding("forward-wrong", f"forward values disagree with the oracles in "
                                    f"`{evidence['case']}`", op=ops[0] if len(ops) == 1 else None,
                                    evidence=evidence))
    matches = {id(cx): _fingerprint(subject, cx, rules.observed, traversal.observed) for cx in gradient}
    # Parsimony: one traversal defect that reproduces several failures explains all of them,
    # rather than a different op defect for each.
    common_traversal = Counter(m for cx in gradient for m in matches[id(cx)] if m.op is None)
    common = [m for m, n in common_traversal.most_common() if n >= 2 or n == len(gradient)]
    for cx in gradient:
        evidence = counterexample_evidence(subject, cx)
        all_matches = identify(cx.graph, cx.run.grads or [], cx.expected.grad_tol)
        walk = _watched_walk(subject, cx) if traversal.observed and not outcome.own_walk else None
        explaining = None if outcome.own_walk else _explaining(earlier + findings, cx, rules.composite,
                                                                all_matches, bool(walk))
        if explaining is None and walk:
            # the traversal check's own graphs came out right -- a walk that depends on the
            # order of a set can -- but on this case the walk itself was wrong: that is the defect
            explaining = walk[0]
            if not any(f.code == explaining.code and f.op is None for f in earlier + findings):
                findings.append(explaining)
            else:
                explaining = next(f for f in earlier + findings if f.code == explaining.code and f.op is None)
        if explaining is not None:  # backward()'s defect, not these ops': they are not blamed
            explaining.evidence.setdefault("end_to_end", evidence)
            continue
        failed.update([cx.suspect] if cx.suspect else cx.graph.ops_used)
        found = matches[id(cx)]
        if common and common[0] in found:
            found = [common[0]]
        if len(found) == 1:
            new = _fingerprinted(subject, found[0], evidence)
            if not any((f.code, f.op) == (new.code, new.op) for f in earlier + findings):
                findings.append(new)
            continue
        alone = _alone(subject, cx.suspect, evidence) if cx.suspect and not found and not rules.observed else None
        findings.append(alone or _mismatch(subject, cx, evidence, found))
    return Diagnosis(findings, frozenset(failed))


def _alone(subject: Subject, op: str, evidence: dict) -> Finding | None:
    """An op without observable closures, back-propagated alone on distinct leaves by the
    subject's own backward(): each input is used once and the output's gradient is 1, so what
    reaches an input is the op's local derivative itself -- zero when nothing is passed on, the
    wrong number when the derivative is wrong (an overwrite or a missing ``out.grad`` cannot
    show here, and needs no naming: the numbers of the failing case did not match them)."""
    graphs = op_points(get_op(op), count=2)
    try:
        runs = subject.session.run(graphs)
    except WorkerDied:
        return None
    for graph, run in zip(graphs, runs, strict=True):
        expected = subject.consensus.expected(graph)
        if expected is None or run.error is not None or run.grads is None:
            continue
        arity = get_op(op).arity
        bad = [i for i in range(arity) if not expected.grad_ok(i, run.grads[i])]
        if not bad:
            continue
        code = ("grad-not-propagated" if all(run.grads[i] == 0 for i in bad) else "wrong-derivative")
        entry = CATALOGUE[code]
        got = ", ".join(f"{graph.name(i)}: {run.grads[i]!r} (expected {expected.grads[i]:.6g})" for i in bad)
        method = subject.caps.method_of(get_op(op))
        return Finding(code, f"`{method}`'s backward {entry.defect}: back-propagating "
                             f"`{graph.describe()}` alone gives {got}; {entry.fix}",
                       op=op, location=subject.method_location(method),
                       evidence=dict(evidence, identified_by="single-op graph",
                                     single_op_case=graph.describe()))
    return None


def _mismatch(subject: Subject, cx: Counterexample, evidence: dict, found: list[Candidate]) -> Finding:
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
            location = subject.session.submission.locate(*cx.run.error.where)
    # searched op by op, the one op not yet verified is the one to blame
    op = cx.suspect or (ops[0] if len(ops) == 1 else None)
    return Finding("gradient-mismatch", message, op=op, location=location, evidence=evidence)


def _fingerprinted(subject: Subject, cand: Candidate, evidence: dict) -> Finding:
    entry = CATALOGUE[cand.code]
    caps = subject.caps
    what = (f"`{caps.method_of(get_op(cand.op))}`'s backward {entry.defect}" if cand.op
            else f"`{caps.backward or 'backward'}()` {entry.defect}")
    message = (f"{what}: replaying `{evidence['case']}` with exactly this defect reproduces your "
               "gradients (identified from the numbers; the class exposes no per-node closures to "
               f"observe directly); {entry.fix}")
    location = subject.method_location(caps.method_of(get_op(cand.op)) if cand.op else (caps.backward or ""))
    return Finding(cand.code, message, op=cand.op, location=location,
                   evidence=dict(evidence, identified_by="fingerprint"))
