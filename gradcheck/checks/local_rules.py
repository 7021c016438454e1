"""Check 3: each op's backward rule in isolation, and what exactly is wrong with it.

The op's inputs start with non-zero gradients ``g``, its output gets an upstream gradient
``u`` != 1, and only the closures of the op's own sub-graph run (walked by the harness). With
``d`` the true local derivative, a correct rule leaves ``g + u*d``; the other outcomes name the
defect: ``u*d`` overwrote, ``g + d`` ignored ``out.grad``, ``g`` passed nothing on.

A defect in a primitive (``mul``) shows again in every op built from it (``neg = a * -1``,
``truediv = a * b**-1``). The closures each probe ran tell which ops are built from which, so
the finding is reported once, on the primitive, naming the ops that inherit it.
"""

from __future__ import annotations

import math

from gradcheck.checks import CheckContext
from gradcheck.checks.basics import op_points
from gradcheck.coverage import record_blocked, record_judged
from gradcheck.evidence import drawable
from gradcheck.findings import Finding
from gradcheck.graph import Graph, apply, leaf
from gradcheck.observe import as_number
from gradcheck.ops import OPS, get_op
from gradcheck.sandbox.client import WorkerDied
from gradcheck.source import grad_statements

PRESET = (0.3, -0.45)  # gradients the inputs already hold
UPSTREAM = 1.7  # the output's gradient

CORRECT = "correct"
OVERWRITE = "grad-overwrite"
MISSING_FACTOR = "missing-chain-factor"
NOT_PROPAGATED = "grad-not-propagated"
WRONG = "wrong-derivative"


def classify(actual: float | None, preset: float, upstream: float, local: float) -> set[str]:
    """The defects that explain one input's gradient after its op's closures ran."""
    if actual is None or not math.isfinite(actual):
        return {WRONG}

    def near(x: float) -> bool:
        return abs(actual - x) <= 1e-6 * (1 + abs(x))

    if near(preset + upstream * local):
        return {CORRECT}
    if near(upstream * local):
        return {OVERWRITE}
    if near(preset + local):
        return {MISSING_FACTOR}
    if near(local):
        return {OVERWRITE, MISSING_FACTOR}
    if near(preset) or near(0.0):
        return {NOT_PROPAGATED} if near(preset) else {OVERWRITE, NOT_PROPAGATED}
    return {WRONG}


def _case(graph: Graph) -> dict:
    node = graph.nodes[-1]
    op = get_op(node.op)
    return {"expr": op.apply_source([f"{{{i}}}" for i in range(op.arity)], node.k),
            "inputs": [graph.nodes[i].value for i in range(op.arity)],
            "input_grads": list(PRESET[: op.arity]), "upstream": UPSTREAM}


def local_rule_check(ctx: CheckContext) -> None:
    caps = ctx.caps
    if caps.grad_attr is None:
        ctx.notes.append("local rules: skipped, the values have no gradient")
        return
    if caps.closure_attr is None or caps.inputs_attr is None:
        ctx.notes.append("local rules: skipped, no per-node backward closure or inputs attribute "
                         "was found; only end-to-end gradients were checked")
        return
    ctx.observed_rules = True
    verdicts: dict[str, tuple[set[str], dict]] = {}
    closures: dict[str, set[tuple]] = {}
    for op in OPS:
        if not caps.ops.get(op.name) or op.name in ctx.faulty_ops:
            continue
        graphs = op_points(op, count=2)
        try:
            replies = ctx.session.local_rule([_case(g) for g in graphs])
        except WorkerDied as died:
            ctx.record_death(died, f"the local rule of `{op.name}`", op=op.name)
            continue
        defects, evidence, ran = _judge(ctx, op.name, graphs, replies)
        closures[op.name] = ran
        if len(ran) > 1:
            ctx.composite_ops.add(op.name)
        if defects:
            verdicts[op.name] = (defects, evidence)
    _report(ctx, verdicts, closures)


def closures_run(ctx: CheckContext, ops: list[str]) -> dict[str, set[tuple]]:
    """For each op, the closures its local-rule probe runs: what the op is built from."""
    out = {}
    for name in ops:
        graphs = op_points(get_op(name), count=1)
        try:
            replies = ctx.session.local_rule([_case(g) for g in graphs])
        except WorkerDied:
            continue
        out[name] = set().union(*(_closure_ids(r) for r in replies))
    return out


def _closure_ids(reply: dict) -> set[tuple]:
    """The (qualname, file, line) of each closure a probe reported running."""
    return {(str(c.get("qualname")), c.get("file"), c.get("line"))
            for c in reply.get("closures") or [] if isinstance(c, dict)}


def built_on(closures: dict[str, set[tuple]], primitive: str, op: str) -> bool:
    """Whether ``op``'s probe ran a strict superset of ``primitive``'s closures, i.e. ``op`` is
    built from ``primitive`` (``sub = a + (-b)`` runs ``__add__``'s and ``__mul__``'s)."""
    return primitive != op and bool(closures.get(primitive)) and closures[primitive] < closures.get(op, set())


def inherited_sentence(heirs: list[str]) -> str:
    return " Inherited by " + ", ".join(f"`{h}`" for h in heirs) + "." if heirs else ""


def _judge(ctx: CheckContext, name: str, graphs: list[Graph], replies: list[dict]):
    defects: set[str] = set()
    evidence: dict = {}
    ran: set[tuple] = set()
    judged = 0  # cases compared with an agreed answer: none at all is no verdict
    for graph, reply in zip(graphs, replies, strict=True):
        ran |= _closure_ids(reply)
        expected = ctx.consensus.expected(graph)
        if expected is None:
            continue
        error = reply.get("error")
        if isinstance(error, dict) and error.get("stage") == "setup":
            # Building the op and presetting gradients is what every Value supports (forward
            # already passed): a subject that makes this raise has made its rule impossible to
            # judge, which must not leave the rule looking right.
            why = (f"the probe could not be set up ({error.get('type')}: "
                   f"{error.get('message', '')})")
            ctx.notes.append(f"local rule of {name}: not judged, {why}")
            record_blocked(ctx, "local rule", name, why)
            return set(), {}, ran
        judged += 1
        if error:
            defects.add(WRONG)
            evidence.setdefault("error", str(reply["error"].get("type", "")) + ": "
                                + str(reply["error"].get("message", "")))
            continue
        grads = reply.get("grads") if isinstance(reply.get("grads"), list) else []
        arity = get_op(name).arity
        for i in range(arity):
            actual = as_number(grads[i]) if i < len(grads) else None
            found = classify(actual, PRESET[i], UPSTREAM, expected.grads[i]) - {CORRECT}
            if found and "case" not in evidence:
                evidence.update({
                    "case": graph.describe(), "input": graph.name(i), "grad_before": PRESET[i],
                    "upstream": UPSTREAM, "local_derivative": expected.grads[i],
                    "expected": PRESET[i] + UPSTREAM * expected.grads[i], "actual": actual,
                    "snippet": _snippet(ctx, graph, expected),
                    "graph": _picture(graph, reply, expected)})
            defects |= found
    record_judged(ctx, "local rule", name, judged)
    return defects, evidence, ran


def _report(ctx: CheckContext, verdicts: dict, closures: dict) -> None:
    """One finding per root-cause op and defect; composite ops are listed as inheriting it."""
    roots = {name: (defects, evidence) for name, (defects, evidence) in verdicts.items()
             if not any(built_on(closures, p, name) and verdicts[p][0] & defects for p in verdicts)}
    for name, (defects, evidence) in roots.items():
        heirs = sorted(n for n in verdicts if built_on(closures, name, n))
        ctx.faulty_ops.update([name, *heirs])
        for code in sorted(defects):
            finding = _finding(ctx, name, code, evidence, closures.get(name, set()), heirs)
            if code == OVERWRITE:
                _demonstrate(ctx, finding)
            ctx.findings.append(finding)


def _demonstrate(ctx: CheckContext, finding) -> None:
    """Show an overwrite where learners meet it: one value used twice (``a * a``), back-
    propagated by the subject's own backward() -- or gradcheck's traversal if it has none."""
    op = get_op(finding.op)
    if op.arity != 2:
        return
    graph = Graph((leaf(1.5), apply(op.name, 0, 0)))
    expected = ctx.consensus.expected(graph)
    if expected is None:
        return
    try:
        run = ctx.session.run([graph], use_backward=ctx.caps.backward is not None)[0]
    except WorkerDied:
        return
    if run.grads is None or expected.grad_ok(0, run.grads[0]):
        return
    finding.evidence["demo"] = {
        "case": graph.describe(), "snippet": graph.snippet(ctx.caps.class_name, ctx.caps.backward),
        "graph": drawable(graph, run.data, run.grads, expected.values, expected.grads,
                          grad_ok=expected.grad_ok, value_ok=expected.value_ok)}


_FIX = {
    OVERWRITE: "use `+=` so the gradients from every use of a value add up",
    MISSING_FACTOR: "multiply the local derivative by `out.grad` (the chain rule)",
    NOT_PROPAGATED: "give the result a `_backward` that adds the local derivative times "
                    "`out.grad` to each input's grad",
    WRONG: "check the local derivative formula",
}

_WHAT = {
    OVERWRITE: "assigns `{stmt}` instead of accumulating; it loses gradient whenever a value is used twice",
    MISSING_FACTOR: "does not multiply by the upstream gradient (`out.grad`)",
    NOT_PROPAGATED: "passes no gradient to its inputs",
    WRONG: "computes the wrong local derivative",
}


def _finding(ctx, name, code, evidence, ran, heirs) -> Finding:
    op = get_op(name)
    location, stmt = _statement(ctx, op, code, ran)
    what = _WHAT[code].format(stmt=stmt or "grad = ...")
    message = f"`{op.method}`'s backward {what}; {_FIX[code]}."
    if evidence.get("error"):
        message = f"`{op.method}`'s backward raised {evidence['error']}."
    message += inherited_sentence(heirs)
    return Finding(code, message, op=name, location=location, evidence=dict(evidence), inherited_by=heirs)


def _statement(ctx: CheckContext, op, code: str, ran: set[tuple]):
    """The closure's offending line, or the op's method when it sets no closure at all."""
    caps = ctx.caps
    own = [c for c in ran if f".{op.method}." in c[0] and c[1]] or [c for c in ran if c[1]]
    sub = ctx.session.submission
    for qualname, file, line in sorted(own, key=lambda c: (c[1], c[2] or 0)):
        source = sub.source_of(file)
        if source is None or line is None:
            continue
        stmts = grad_statements(source, line, caps.grad_attr)
        pick = [s for s in stmts if s.assigns] if code == OVERWRITE else stmts
        if pick:
            return sub.locate(file, pick[0].line), pick[0].text
        if code == NOT_PROPAGATED and "__init__" not in qualname:
            return sub.locate(file, line), None
    return ctx.method_location(op.method), None


def _picture(graph: Graph, reply: dict, expected) -> dict:
    """The op alone: its inputs' gradients after the rule ran, against ``g + u*d``."""
    arity = get_op(graph.nodes[-1].op).arity
    grads = reply.get("grads") if isinstance(reply.get("grads"), list) else []
    actual = [as_number(grads[i]) if i < len(grads) else None for i in range(arity)] + [UPSTREAM]
    want = [PRESET[i] + UPSTREAM * expected.grads[i] for i in range(arity)] + [UPSTREAM]
    data = [n.value for n in graph.nodes[:-1]] + [as_number(reply.get("data"))]
    return drawable(graph, data, actual, expected.values, want,
                    grad_ok=lambda i, v: v is not None and abs(v - want[i]) <= 1e-6 * (1 + abs(want[i])))


def _snippet(ctx: CheckContext, graph: Graph, expected) -> str:
    """Paste-able code: the op alone, gradients preset, only its own closure run."""
    caps = ctx.caps
    arity = get_op(graph.nodes[-1].op).arity
    names = [graph.name(i) for i in range(arity)]
    lines = [graph.statement(i).replace("{cls}", caps.class_name) for i in range(len(graph.nodes))]
    out = graph.name(graph.output)
    lines.append("; ".join(f"{n}.{caps.grad_attr} = {PRESET[i]}" for i, n in enumerate(names))
                 + f"; {out}.{caps.grad_attr} = {UPSTREAM}")
    lines.append(f"{out}.{caps.closure_attr}()  # only this op's backward rule"
                 " (an op built from other ops runs each of its nodes' rules)")
    want = ", ".join(f"{PRESET[i] + UPSTREAM * expected.grads[i]:.6g}" for i in range(arity))
    lines.append("print(" + ", ".join(f"{n}.{caps.grad_attr}" for n in names) + f")  # expected: {want}")
    return "\n".join(lines)
