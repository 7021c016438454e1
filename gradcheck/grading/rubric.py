"""Rubrics in TOML: points per op and check, traversal, required and optional ops, and what
each finding code costs. Validation lives here, with messages that name the offending key.

Scoring reads the coverage matrix's typed states (``gradcheck.coverage``), never its wording:
an item earns its points when its cell passed; a local rule or forward value that could not be
observed, or that no case could judge for reasons not the subject's, is judged by the op's
end-to-end cell instead; a check the subject made impossible counts as failed. An optional op
that is absent neither earns nor costs.

A result whose verdict is not ``pass`` never carries full marks. Its error findings may fall
outside every item (an op the rubric does not score, a death, a tampering attempt, a load
failure); when the total would still be the maximum, it is capped at the maximum less the
smallest item's worth, and the cap is listed with the deductions.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gradcheck.checks.outcomes import TraversalState
from gradcheck.coverage import ABSENT, FAIL, NOT_JUDGED, PASS, UNOBSERVABLE
from gradcheck.errors import UsageError
from gradcheck.findings import CATALOGUE, TRAVERSAL_CODES
from gradcheck.ops import OPS_BY_NAME
from gradcheck.result import PASS as VERDICT_PASS
from gradcheck.result import Result

BUILT_IN = ("part1", "full")
_CHECK_KEYS = {"forward": "forward", "local_rule": "local rule", "end_to_end": "end-to-end"}
_TRAVERSAL_ITEM_CODES = TRAVERSAL_CODES | {"no-backward", "no-grad"}  # named when it is lost
TRAVERSAL_ITEM = "traversal"
_TOP_KEYS = {"name", "required_ops", "optional_ops", "points", "deductions", "show_fixes"}


@dataclass(frozen=True)
class Item:
    name: str  # "add: local rule", "traversal" -- for people; code reads op and check
    score: float
    max_score: float
    why: str = ""
    op: str | None = None  # None for traversal
    check: str = TRAVERSAL_ITEM  # a coverage check ("forward", "local rule", "end-to-end") or traversal


@dataclass(frozen=True)
class Score:
    items: list[Item]
    total: float
    max_score: float
    deductions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rubric:
    name: str
    required_ops: tuple[str, ...]
    optional_ops: tuple[str, ...]
    points: dict[str, float]
    deductions: dict[str, float | str]
    text: str  # the rubric as written, part of the resume key
    # feedback shows each finding's verified fix (gradcheck.fixes): off unless the rubric says
    # so -- it costs a second check per failing submission and gives the answer away
    show_fixes: bool = False

    def item_names(self) -> list[str]:
        names = [f"{op}: {label}" for op in (*self.required_ops, *self.optional_ops)
                 for key, label in _CHECK_KEYS.items() if self.points.get(key)]
        return names + (["traversal"] if self.points.get("traversal") else [])

    def score(self, result: Result) -> Score:
        items = []
        for op in (*self.required_ops, *self.optional_ops):
            row = result.coverage.get(op)
            implemented = row is not None and any(state != ABSENT for state, _ in row.values())
            if op in self.optional_ops and not implemented:
                continue  # an optional op that is absent neither earns nor costs
            for key, label in _CHECK_KEYS.items():
                worth = self.points.get(key, 0)
                if worth:
                    earned, why = _earned(row, label)
                    items.append(Item(f"{op}: {label}", worth if earned else 0, worth, why, op=op, check=label))
        worth = self.points.get("traversal", 0)
        if worth:
            earned, why = _traversal_earned(result)
            items.append(Item("traversal", worth if earned else 0, worth, why))
        total = sum(i.score for i in items)
        maximum = sum(i.max_score for i in items)
        applied = []
        for f in result.findings:
            cost = self.deductions.get(f.code)
            if cost is None:
                continue
            applied.append(f"{f.code}: {cost}")
            total = 0 if cost == "all" else total - float(cost)
        worths = [i.max_score for i in items if i.max_score > 0]
        if result.verdict != VERDICT_PASS and worths and total >= maximum:
            cap = min(worths)
            total = maximum - cap
            applied.append(f"verdict {result.verdict} (findings no item scores): {cap:g}")
        return Score(items=items, total=round(max(total, 0.0), 6), max_score=maximum, deductions=applied)


def _traversal_earned(result: Result) -> tuple[bool, str]:
    """From the typed traversal state (see ``checks.outcomes.TraversalState``): earned when the
    walk was observed to be right, or could not be observed and nothing in the numbers is
    against it -- never from how a finding's message is worded."""
    state = result.traversal
    if not result.coverage:
        return False, "the submission did not load"
    if state in (TraversalState.CORRECT, TraversalState.UNOBSERVED):
        return True, ""
    codes = sorted({f.code for f in result.findings if f.code in _TRAVERSAL_ITEM_CODES})
    return False, ", ".join(codes) if codes else f"backward(): {state or 'not judged'}"


def _earned(row, label: str) -> tuple[bool, str]:
    if row is None:
        return False, "the submission did not load"
    state, why = row[label]
    if state == PASS:
        return True, ""
    if state in (UNOBSERVABLE, NOT_JUDGED) and label != "end-to-end":
        # not for want of trying by the subject: the generated graphs judge it instead
        end_state, end_why = row["end-to-end"]
        return end_state == PASS, end_why
    if state == FAIL:
        return False, why
    return False, f"{'not judged' if state == NOT_JUDGED else 'skipped'}: {why}"


def load_rubric(spec: str) -> Rubric:
    """A built-in rubric by name (``part1``, ``full``) or a TOML file."""
    if spec in BUILT_IN:
        text = resources.files("gradcheck.rubrics").joinpath(f"{spec}.toml").read_text()
        where = spec
    else:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"rubric {spec!r}: no such file (built-in rubrics: {', '.join(BUILT_IN)})")
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"rubric {where}: not valid TOML ({exc})") from None
    return _validate(data, text, where)


def _validate(data: dict, text: str, where: str) -> Rubric:
    def fail(key: str, problem: str):
        raise UsageError(f"rubric {where}: {key} {problem}")

    for key in data:
        if key not in _TOP_KEYS:
            fail(key, f"is not a rubric key (known: {', '.join(sorted(_TOP_KEYS))})")
    ops = {}
    for key in ("required_ops", "optional_ops"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(key, "must be a list of op names")
        for op in value:
            if op not in OPS_BY_NAME:
                fail(key, f"names {op!r}, which is not an op (known: {', '.join(OPS_BY_NAME)})")
            if op in ops:
                fail(key, f"names {op!r} twice")
            ops[op] = key
    points = data.get("points", {})
    if not isinstance(points, dict):
        fail("points", "must be a table")
    for key, value in points.items():
        if key not in (*_CHECK_KEYS, "traversal"):
            fail(f"points.{key}", f"is not a check (known: {', '.join([*_CHECK_KEYS, 'traversal'])})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            fail(f"points.{key}", f"must be a number >= 0, not {value!r}")
    deductions = data.get("deductions", {})
    if not isinstance(deductions, dict):
        fail("deductions", "must be a table")
    for code, cost in deductions.items():
        if code not in CATALOGUE:
            fail(f"deductions.{code}", "is not a finding code")
        if cost != "all" and (isinstance(cost, bool) or not isinstance(cost, int | float) or cost < 0):
            fail(f"deductions.{code}", f'must be a number >= 0 or "all", not {cost!r}')
    if not ops:
        fail("required_ops", "must name at least one op")
    if not isinstance(data.get("show_fixes", False), bool):
        fail("show_fixes", f"must be true or false, not {data['show_fixes']!r}")
    name = data.get("name", Path(where).stem)
    return Rubric(name=str(name), required_ops=tuple(o for o, k in ops.items() if k == "required_ops"),
                  optional_ops=tuple(o for o, k in ops.items() if k == "optional_ops"),
                  points={k: float(v) for k, v in points.items()}, deductions=dict(deductions), text=text,
                  show_fixes=data.get("show_fixes", False))
