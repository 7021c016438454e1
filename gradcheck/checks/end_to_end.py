"""Check 5: Hypothesis-generated DAGs, the subject's values and gradients against the oracles.

Every node's forward value and every gradient the output depends on are compared; a failure
shrinks to a minimal graph. After a failure the ops it blamed are left out and the search runs
again, so independent defects each get their own counterexample.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from gradcheck.checks import CheckContext
from gradcheck.findings import Finding
from gradcheck.generate import expression_dags
from gradcheck.graph import Graph
from gradcheck.observe import GraphRun
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


def search(ctx: CheckContext, ops: list[str], grads: bool, use_backward: bool) -> Counterexample | None:
    """One Hypothesis search; the last failure seen is the shrunk one (Hypothesis replays it)."""
    found: list[Counterexample] = []
    cfg = ctx.settings

    @settings(max_examples=cfg.examples, database=None, deadline=None, verbosity=Verbosity.quiet,
              derandomize=cfg.seed is None, report_multiple_bugs=False, print_blob=False,
              phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(expression_dags(ops, max_ops=cfg.max_ops))
    def prop(graph: Graph) -> None:
        ctx.stats["cases"] = ctx.stats.get("cases", 0) + 1
        expected = ctx.consensus.expected(graph)
        if expected is None:
            return  # oracles disagree here (a kink, overflow): not held against the subject
        run = ctx.session.run([graph], grads=grads, use_backward=use_backward)[0]
        verdict = compare(graph, run, expected, grads)
        if verdict:
            found.append(Counterexample(graph, run, expected, *verdict))
            raise _Falsified()

    if cfg.seed is not None:
        prop = seed(cfg.seed)(prop)
    try:
        prop()
    except _Falsified:
        return found[-1]
    return None


def end_to_end_check(ctx: CheckContext) -> list[Counterexample]:
    caps = ctx.caps
    pool = [o for o in caps.supported_ops if o not in ctx.faulty_ops]
    if not pool:
        ctx.notes.append("end-to-end: skipped, no op left without a diagnosed defect")
        return []
    grads = caps.grad_attr is not None
    use_backward = caps.backward is not None
    if grads and not use_backward and caps.closure_attr is None:
        grads = False
        ctx.notes.append("end-to-end: gradients skipped, no backward() and no per-node closure")
    failures = []
    for _ in range(1 + ctx.settings.rounds):
        try:
            cx = search(ctx, pool, grads, use_backward)
        except WorkerDied as died:
            ctx.findings.append(Finding(died.kind, f"the subject's code {died.detail} during the "
                                        "end-to-end property test", evidence={"while": "end-to-end"}))
            break
        if cx is None:
            break
        failures.append(cx)
        blamed = cx.graph.ops_used
        pool = [o for o in pool if o not in blamed]
        if not pool:
            break
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
    return {"case": g.describe(), "mismatches": rows,
            "error": str(cx.run.error) if cx.run.error else None,
            "snippet": g.snippet(ctx.caps.class_name, ctx.caps.backward if cx.kind == "gradient" else None)}


def failure_findings(ctx: CheckContext, failures: list[Counterexample], explained: bool) -> None:
    """Turn counterexamples into findings, unless an earlier diagnosis already explains them
    (then the counterexample is attached to that diagnosis as more evidence)."""
    for cx in failures:
        evidence = counterexample_evidence(ctx, cx)
        ops = sorted(cx.graph.ops_used)
        op = ops[0] if len(ops) == 1 else None
        if cx.kind == "forward":
            ctx.findings.append(Finding("forward-wrong", f"forward values disagree with the oracles in "
                                        f"`{evidence['case']}`", op=op, evidence=evidence))
            continue
        if explained:
            target = next((f for f in ctx.findings if f.severity == "error"), None)
            if target is not None:
                target.evidence.setdefault("end_to_end", evidence)
                continue
        names = ", ".join(f"`{o}`" for o in ops)
        ctx.findings.append(Finding("gradient-mismatch", f"gradients disagree with the oracles in "
                                    f"`{evidence['case']}` (ops: {names}) and no specific defect "
                                    "explains it", op=op, evidence=evidence))
