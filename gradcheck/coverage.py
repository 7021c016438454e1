"""The op x check matrix shown in reports and scored by rubrics: for every op, whether its
forward value, its local backward rule and the end-to-end property were checked, and how that
went.

Each cell is ``(state, why)``. The state is what rubrics and reports decide on -- never the
wording of ``why``, which only explains it to a reader:

- ``pass``: judged on at least one case, and right.
- ``fail``: wrong -- or not judged because the subject made the check impossible (its probe
  could not be set up): a check a submission can sabotage must not count as passed.
- ``absent``: the op is not implemented.
- ``unobservable``: the subject has no per-node closures to run one op at a time; the op's
  end-to-end result stands in for it.
- ``not judged``: the check ran but no case could be judged (the oracles disagreed on every
  one) -- nothing the subject did, and never shown as a pass.
- ``skip``: the check does not apply (no gradients at all, a defect already found, ...).
"""

from __future__ import annotations

from gradcheck.checks import CheckContext
from gradcheck.findings import DEATH_CODES, RULE_CODES
from gradcheck.ops import OPS

PASS, FAIL, SKIP = "pass", "fail", "skip"
ABSENT, UNOBSERVABLE, NOT_JUDGED = "absent", "unobservable", "not judged"
STATES = (PASS, FAIL, SKIP, ABSENT, UNOBSERVABLE, NOT_JUDGED)
CHECKS = ("forward", "local rule", "end-to-end")

# Where checks record, per check and op, what op_matrix cannot tell from findings alone. It
# lives in the context's stats so that it is plain JSON data saved with the result.
_RECORD = "judged"


def record_judged(ctx: CheckContext, check: str, op: str, cases: int) -> None:
    """``check`` compared ``cases`` of ``op``'s cases with the oracles (0: none could be)."""
    ctx.stats.setdefault(_RECORD, {}).setdefault(check, {})[op] = {"cases": cases}


def record_blocked(ctx: CheckContext, check: str, op: str, why: str) -> None:
    """The subject made ``check`` impossible for ``op``: scored and shown as a failure."""
    ctx.stats.setdefault(_RECORD, {}).setdefault(check, {})[op] = {"cases": 0, "blocked": why}


def _recorded(ctx: CheckContext, check: str, op: str) -> dict | None:
    return ctx.stats.get(_RECORD, {}).get(check, {}).get(op)


def op_matrix(ctx: CheckContext) -> dict[str, dict[str, tuple[str, str]]]:
    """{op: {check: (state, why)}}; ``why`` explains every state but a pass."""
    matrix = {}
    for op in OPS:
        name = op.name
        if not ctx.caps.ops.get(name):
            matrix[name] = {c: (ABSENT, "not implemented") for c in CHECKS}
            continue
        row = {}
        own = [f for f in ctx.findings if f.op == name or name in f.inherited_by]
        dead = [f for f in own if f.code in DEATH_CODES]
        if name in ctx.forward_faulty:
            why = next((f.code for f in own if f.code == "forward-wrong" or f.code in DEATH_CODES),
                       "forward-wrong")
            row["forward"] = (FAIL, why)
        else:
            row["forward"] = (PASS, "")
        rule = [f for f in own if f.code in RULE_CODES]
        if ctx.caps.grad_attr is None:
            row["local rule"] = row["end-to-end"] = (SKIP, "values carry no gradient")
            matrix[name] = row
            continue
        row["local rule"] = _local_rule_cell(ctx, name, rule + dead)
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


def _local_rule_cell(ctx: CheckContext, name: str, against: list) -> tuple[str, str]:
    if not ctx.observed_rules:
        return UNOBSERVABLE, "no per-node closures to run one op at a time"
    if name in ctx.forward_faulty:
        return SKIP, "its forward value is already wrong"
    if against:
        return FAIL, ", ".join(sorted({f.code for f in against}))
    recorded = _recorded(ctx, "local rule", name)
    if recorded is None:
        return NOT_JUDGED, "the probe did not run"
    if "blocked" in recorded:
        return FAIL, f"not judged: {recorded['blocked']}"
    if not recorded["cases"]:
        return NOT_JUDGED, "the oracles agreed on none of its cases"
    return PASS, ""
