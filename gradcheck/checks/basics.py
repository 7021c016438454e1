"""Checks 1 and 2: what the subject supports, and whether each op's forward value is right."""

from __future__ import annotations

from gradcheck.checks import CheckContext
from gradcheck.checks.conduct import BLOCKED_BY_GUARD, guard_spoke
from gradcheck.findings import Finding
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, Op, in_domain
from gradcheck.sandbox.client import WorkerDied

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


def capability_findings(ctx: CheckContext) -> None:
    caps = ctx.caps
    for op in OPS:
        if not caps.ops.get(op.name):
            ctx.findings.append(Finding("unsupported-op", f"`{op.name}` is not implemented "
                                        f"(no `{op.method}` on {caps.class_name})", op=op.name))
    coercion = [[{"leaf": 0.75}, {"op": "add", "expr": "{0} + 2", "args": [0]}],
                [{"leaf": 0.75}, {"op": "mul", "expr": "{0} * 2", "args": [0]}]]
    try:
        runs = ctx.session.run([], grads=False, wire=coercion)
        caps.number_coercion = all(r.error is None and r.data[-1] == want
                                   for r, want in zip(runs, (2.75, 1.5), strict=True))
    except WorkerDied as died:
        caps.number_coercion = False
        ctx.record_death(died, "the number-coercion probe")
    if not caps.number_coercion:
        ctx.findings.append(Finding("no-number-coercion", f"`{caps.class_name}(0.75) + 2` or "
                                    f"`{caps.class_name}(0.75) * 2` fails: plain numbers are not "
                                    "wrapped, so expressions like `2 * x + 1` cannot be written",
                                    location=ctx.method_location("__add__")))
    if caps.grad_attr is None:
        ctx.findings.append(Finding("no-grad", f"{caps.class_name} values have no `grad`: this is a "
                                    "forward-only implementation, so no gradient can be checked"))
    elif caps.initial_grad not in (None, 0.0):
        ctx.findings.append(Finding(
            "grad-seed", f"a new `{caps.class_name}` starts with grad = {caps.initial_grad:g}; gradients "
            "must start at 0 and only the output's be set to 1 (by backward()), or every value that "
            "receives gradient ends up too large", location=ctx.method_location("__init__"),
            evidence={"initial_grad": caps.initial_grad}))
    if caps.grad_attr is not None and caps.backward is None:
        how = ("gradcheck checked the per-op rules with its own traversal" if caps.closure_attr
               else "and no per-node `_backward` was found either")
        ctx.findings.append(Finding("no-backward", f"{caps.class_name} has no `backward()` method "
                                    f"that runs backpropagation from a value; {how}",
                                    evidence={"closure_attr": caps.closure_attr}))


def forward_check(ctx: CheckContext) -> None:
    """Each op's ``data`` at a few fixed points against the oracles' agreed value."""
    for op in OPS:
        if not ctx.caps.ops.get(op.name):
            continue
        graphs = op_points(op)
        try:
            runs = ctx.session.run(graphs, grads=False)
        except WorkerDied as died:
            ctx.record_death(died, f"the forward check of `{op.name}`", op=op.name)
            ctx.forward_faulty.add(op.name)
            continue
        for graph, run in zip(graphs, runs, strict=True):
            expected = ctx.consensus.expected(graph)
            if expected is None:
                continue
            out = graph.output
            if run.error is None and expected.value_ok(out, run.data[out]):
                continue
            if run.error is not None and run.error.type in BLOCKED_BY_GUARD and guard_spoke(ctx):
                # the op tried what the sandbox refuses (a forbidden library, a file outside
                # it...): the policy's finding names that, so it is not reported again as a
                # wrong value
                ctx.faulty_ops.add(op.name)
                ctx.forward_faulty.add(op.name)
                break
            got = (f"raises {run.error}" if run.error else
                   f"gives a {run.data_types[out]}, not a number" if out in run.data_types
                   else f"gives {run.data[out]!r}")
            ctx.findings.append(Finding(
                "forward-wrong",
                f"`{graph.describe().split('; ')[-1]}` {got}; expected {expected.values[out]!r}",
                op=op.name, location=_error_location(ctx, run) or ctx.method_location(op.method),
                evidence={"case": graph.describe(), "expected": expected.values[out], "actual": got,
                          "snippet": graph.snippet(ctx.caps.class_name, backward=None)}))
            ctx.faulty_ops.add(op.name)
            ctx.forward_faulty.add(op.name)
            break
    fold_inherited(ctx, "forward-wrong")


def fold_inherited(ctx: CheckContext, code: str) -> None:
    """Report a defect once, on the primitive: an op whose probe ran a strict superset of
    another faulty op's closures (``rsub = lift(k) - a``) inherits that op's finding -- from a
    root, never from an op that itself inherits (``sub`` from ``add``, not from ``neg``)."""
    from gradcheck.checks.local_rules import built_on, closures_run, inherited_sentence

    found = [f for f in ctx.findings if f.code == code and f.op]
    if len(found) < 2 or ctx.caps.closure_attr is None or ctx.caps.grad_attr is None:
        return
    ran = closures_run(ctx, [f.op for f in found])
    roots = [f for f in found if not any(built_on(ran, p.op, f.op) for p in found)]
    for f in found:
        if f in roots:
            continue
        parent = next(p for p in roots if built_on(ran, p.op, f.op))
        parent.inherited_by.append(f.op)
        ctx.findings.remove(f)
    for f in roots:
        f.inherited_by.sort()
        f.message += inherited_sentence(f.inherited_by)


def _error_location(ctx: CheckContext, run):
    if run.error and run.error.where:
        return ctx.session.submission.locate(*run.error.where)
    return None
