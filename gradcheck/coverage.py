"""The op x check matrix shown in reports: for every op, whether its forward value, its local
backward rule and the end-to-end property were checked, and how that went."""

from __future__ import annotations

from gradcheck.checks import CheckContext
from gradcheck.findings import DEATH_CODES, RULE_CODES
from gradcheck.ops import OPS

PASS, FAIL, SKIP = "pass", "fail", "skip"
CHECKS = ("forward", "local rule", "end-to-end")


def op_matrix(ctx: CheckContext) -> dict[str, dict[str, tuple[str, str]]]:
    """{op: {check: (state, why)}}; ``why`` explains every skip and every failure."""
    matrix = {}
    for op in OPS:
        name = op.name
        if not ctx.caps.ops.get(name):
            matrix[name] = {c: (SKIP, "not implemented") for c in CHECKS}
            continue
        row = {}
        own = [f for f in ctx.findings if f.op == name or name in f.inherited_by]
        dead = [f for f in own if f.code in DEATH_CODES]
        if name in ctx.forward_faulty:
            why = next((f.code for f in own if f.code == "forward-wrong" or f.code in DEATH_CODES), "forward-wrong")
            row["forward"] = (FAIL, why)
        else:
            row["forward"] = (PASS, "")
        rule = [f for f in own if f.code in RULE_CODES]
        if ctx.caps.grad_attr is None:
            row["local rule"] = row["end-to-end"] = (SKIP, "values carry no gradient")
            matrix[name] = row
            continue
        if not ctx.observed_rules:
            row["local rule"] = (SKIP, "no per-node closures to run one op at a time")
        elif name in ctx.forward_faulty:
            row["local rule"] = (SKIP, "its forward value is already wrong")
        elif rule or dead:
            row["local rule"] = (FAIL, ", ".join(sorted({f.code for f in rule + dead})))
        else:
            row["local rule"] = (PASS, "")
        if name in ctx.e2e_failed:
            row["end-to-end"] = (FAIL, "in a failing generated case")
        elif name in ctx.e2e_tested:
            row["end-to-end"] = (PASS, "")
        elif name in ctx.faulty_ops:
            row["end-to-end"] = (SKIP, "left out: a defect of its own was already found")
        else:
            row["end-to-end"] = (SKIP, "the end-to-end search did not run")
        matrix[name] = row
    return matrix
