"""Check 6: deep graphs and large fan-out, where recursive traversals hit Python's limit."""

from __future__ import annotations

from gradcheck.checks import CheckContext
from gradcheck.findings import Finding
from gradcheck.sandbox.client import WorkerDied

DEPTH = 3000


def robustness_check(ctx: CheckContext) -> None:
    caps = ctx.caps
    if ctx.backward_broken:
        ctx.notes.append("robustness: skipped, backward() already hung or crashed")
        return
    if not caps.ops.get("add") or caps.grad_attr is None:
        ctx.notes.append("robustness: skipped, needs `+` and gradients")
        return
    # n_i = n_(i-1) + b: a chain DEPTH deep in which b is used DEPTH times
    wire = [{"leaf": 0.5}, {"leaf": 0.25}]
    wire += [{"op": "add", "expr": "{0} + {1}", "args": [i + 1, 1]} for i in range(DEPTH)]
    try:
        run = ctx.session.run([], wire=[wire], use_backward=caps.backward is not None)[0]
    except WorkerDied as died:
        ctx.record_death(died, f"the robustness check (a {DEPTH}-node chain)")
        return
    if run.error is not None and run.error.type == "RecursionError":
        ctx.findings.append(Finding(
            "recursion-limit", f"a chain of {DEPTH} additions fails in the {run.error.stage} pass with "
            "RecursionError: the traversal recurses once per node; build the topological order "
            "with an explicit stack to handle deep graphs",
            location=ctx.method_location(caps.backward) if caps.backward else None,
            evidence={"depth": DEPTH, "stage": run.error.stage}))
