"""Check 6: deep graphs and large fan-out, where recursive traversals hit Python's limit."""

from __future__ import annotations

from gradcheck.checks import CheckContext
from gradcheck.findings import INFO, WARNING, Finding
from gradcheck.sandbox.client import WorkerDied

DEPTH = 3000
# The deepest graph the lecture's own training loop builds: micrograd's demo (an MLP of 2-16-16-1
# on 100 points, with an L2 term summing the squares of its 337 parameters) is about 500 nodes
# deep. A recursive topological sort (the lecture's design, Python's default limit of 1000)
# handles that: failing only beyond it is worth knowing (info), failing at it is a warning.
LECTURE_DEPTH = 500


_DIED = "died"  # _recursion_failure's answer when the worker died on the chain


def _chain(depth: int) -> list[dict]:
    """n_i = n_(i-1) + b: a chain ``depth`` deep in which b is used ``depth`` times."""
    wire = [{"leaf": 0.5}, {"leaf": 0.25}]
    return wire + [{"op": "add", "expr": "{0} + {1}", "args": [i + 1, 1]} for i in range(depth)]


def robustness_check(ctx: CheckContext) -> None:
    caps = ctx.caps
    if ctx.backward_broken:
        ctx.notes.append("robustness: skipped, backward() already hung or crashed")
        return
    if not caps.ops.get("add") or caps.grad_attr is None:
        ctx.notes.append("robustness: skipped, needs `+` and gradients")
        return
    failed = _recursion_failure(ctx, DEPTH)
    if failed in (None, _DIED):
        return
    at_lecture = _recursion_failure(ctx, LECTURE_DEPTH)
    if at_lecture == _DIED:  # recorded as a death; what a lecture-sized graph does is unknown
        return
    depth, stage = (LECTURE_DEPTH, at_lecture) if at_lecture else (DEPTH, failed)
    if at_lecture:
        reach = f"even a lecture-sized graph (a chain of {LECTURE_DEPTH} additions) fails"
    else:
        reach = (f"graphs as deep as the lecture's training loop ({LECTURE_DEPTH} nodes) work, but "
                 f"a chain of {DEPTH} additions fails")
    ctx.findings.append(Finding(
        "recursion-limit", f"{reach} in the {stage} pass with RecursionError: the traversal "
        "recurses once per node; build the topological order with an explicit stack to handle "
        "deep graphs", severity=WARNING if at_lecture else INFO,
        location=ctx.method_location(caps.backward) if caps.backward else None,
        evidence={"depth": depth, "stage": stage, "works_at": None if at_lecture else LECTURE_DEPTH}))


def _recursion_failure(ctx: CheckContext, depth: int) -> str | None:
    """The pass ("forward" or "backward") in which a chain ``depth`` deep hits RecursionError,
    None when it does not, ``_DIED`` when the worker died on it."""
    caps = ctx.caps
    try:
        run = ctx.session.run([], wire=[_chain(depth)], use_backward=caps.backward is not None)[0]
    except WorkerDied as died:
        ctx.record_death(died, f"the robustness check (a {depth}-node chain)")
        return _DIED
    if run.error is not None and run.error.type == "RecursionError":
        return run.error.stage or "backward"
    return None
