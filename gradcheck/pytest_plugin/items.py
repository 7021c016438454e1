"""A result as named check items: what ``pytest --gradcheck`` collects and what ``gradcheck
check --junit`` writes, built here once so that both give the same items the same outcomes.

Items sit below a prefix (``gradcheck``, or ``gradcheck::<path>`` when several subjects are
checked at once): ``<op>::forward``, ``<op>::local_rule`` and ``<op>::end_to_end`` per op,
``traversal``, and ``other_findings`` -- error findings no other item shows (a death, tampering,
a forbidden import), so that a run is never green while the verdict is ``fail``. A submission
that did not load is one ``load`` item.

Outcomes come from typed data only: the coverage matrix's states (``gradcheck.coverage``) and,
with a rubric, its items' scores -- never from how a message is worded.

- Without a rubric: a ``pass`` cell passes, a ``fail`` cell fails, every other state is skipped
  with its reason (an absent op, a check that did not apply or that nothing could judge);
  traversal is scored as every rubric scores it.
- With a rubric: its ops only; an item passes when it earned its points, an absent optional op
  is skipped, and ``other_findings`` fails when the rubric deducted points.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradcheck.coverage import ABSENT, FAIL, PASS, SKIP
from gradcheck.findings import DEATH_CODES, ERROR, RULE_CODES, TRAVERSAL_CODES, Finding, Stage
from gradcheck.grading.outputs import JunitCase, JunitSuite, junit_document
from gradcheck.grading.rubric import TRAVERSAL_ITEM, Rubric, Score
from gradcheck.ops import OPS_BY_NAME
from gradcheck.result import Result
from gradcheck.untrusted_text import visible, visible_line

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
PREFIX = "gradcheck"
LOAD, TRAVERSAL, OTHER = "load", "traversal", "other_findings"

# coverage's check labels and the item names for them (also the rubrics' points keys)
CHECK_NAMES = {"forward": "forward", "local rule": "local_rule", "end-to-end": "end_to_end"}
_CHECK_CODES = {"forward": {"forward-wrong"}, "local rule": RULE_CODES,
                "end-to-end": {"gradient-mismatch"}}
_TRAVERSAL_CODES = TRAVERSAL_CODES | {"no-backward", "no-grad"}

# Scores traversal exactly as a rubric would, for a run without one: no op item earns points.
_TRAVERSAL_ONLY = Rubric(name="traversal", required_ops=(), optional_ops=tuple(OPS_BY_NAME),
                         points={"traversal": 1.0}, deductions={}, text="")


@dataclass(frozen=True)
class CheckItem:
    path: tuple[str, ...]  # below the prefix: ("mul", "local_rule"), ("traversal",)
    outcome: str  # PASSED, FAILED or SKIPPED
    reason: str = ""  # one line: why it failed or was skipped
    findings: tuple[Finding, ...] = ()  # what a failure shows
    score: float | None = None  # with a rubric: points earned of max_score
    max_score: float | None = None

    @property
    def name(self) -> str:
        return "::".join(self.path)

    def report(self) -> str:
        """A failure as a learner needs it: each finding's code, op, message (which says the
        fix), where it is (file, cell, line and the line itself) and the snippet to paste."""
        where = next((f.location for f in self.findings if f.location is not None), None)
        lines = [visible_line(f"{self.reason}{f' -- {where}' if where else ''}")]
        for f in self.findings:
            lines += ["", visible(f"{f.code}{f' ({f.op})' if f.op else ''}: {f.message}")]
            if f.location is not None:
                lines.append(visible(f"  at {f.location}"))
                if f.location.text:
                    lines.append(visible(f"  {f.location.line}: {f.location.text.strip()}"))
            snippet = f.evidence.get("snippet")
            if isinstance(snippet, str) and snippet:
                lines += ["  reproduce it:", *(visible(f"    {s}") for s in snippet.splitlines())]
        return "\n".join(lines)


def prefix_for(target: str, several: bool) -> tuple[str, ...]:
    """The items' prefix: ``gradcheck``, with the path added when several subjects are checked
    (made safe for pytest's node ids: no ``::`` or brackets in it)."""
    if not several:
        return (PREFIX,)
    label = target.replace("::", ":").replace("[", "(").replace("]", ")")
    return (PREFIX, label)


def check_items(result: Result, rubric: Rubric | None = None) -> list[CheckItem]:
    if not result.coverage:  # it never got as far as being checked
        errors = [f for f in result.findings if f.severity == ERROR]
        codes = ", ".join(dict.fromkeys(f.code for f in errors)) or "no finding says why"
        reason = (f"gradcheck could not judge it: {result.harness_error}" if result.harness_error
                  else f"the submission did not load ({codes})")
        return [CheckItem((LOAD,), FAILED, reason, tuple(errors))]
    score = rubric.score(result) if rubric is not None else None
    items = _op_items(result, rubric, score)
    traversal = None
    if rubric is None:
        traversal = _traversal_item(_TRAVERSAL_ONLY.score(result))
    elif rubric.points.get("traversal"):
        traversal = _traversal_item(score)
    if traversal is not None:
        if traversal.score >= traversal.max_score:
            items.append(_scored((TRAVERSAL,), PASSED, traversal, rubric))
        else:
            shown = _traversal_findings(result)
            items.append(_scored((TRAVERSAL,), FAILED, traversal, rubric, shown))
    items.append(_other_item(result, items, score))
    return items


def _op_items(result: Result, rubric: Rubric | None, score: Score | None) -> list[CheckItem]:
    items = []
    if rubric is None:
        for op, row in result.coverage.items():
            for check, name in CHECK_NAMES.items():
                state, why = row[check]
                if state == PASS:
                    items.append(CheckItem((op, name), PASSED))
                elif state == FAIL:
                    items.append(CheckItem((op, name), FAILED, why, _op_findings(result, op, check)))
                else:  # absent, skip, unobservable, not judged: never shown as a pass
                    reason = (f"{op} is not implemented" if state == ABSENT
                              else why if state == SKIP else f"{state}: {why}")
                    items.append(CheckItem((op, name), SKIPPED, reason))
        return items
    earned = {(i.op, i.check): i for i in score.items}
    for op in (*rubric.required_ops, *rubric.optional_ops):
        for check, name in CHECK_NAMES.items():
            if not rubric.points.get(name):
                continue
            item = earned.get((op, check))
            if item is None:  # only an optional op that is absent has none
                items.append(CheckItem((op, name), SKIPPED, "an optional op, not implemented"))
            elif item.score >= item.max_score:
                items.append(_scored((op, name), PASSED, item, rubric))
            else:
                items.append(_scored((op, name), FAILED, item, rubric, _op_findings(result, op, check)))
    return items


def _traversal_item(score: Score):
    return next(i for i in score.items if i.check == TRAVERSAL_ITEM)


def _scored(path, outcome, item, rubric, findings=()) -> CheckItem:
    reason = (item.why or "not earned") if outcome == FAILED else ""
    if rubric is None:
        return CheckItem(path, outcome, reason, tuple(findings))
    return CheckItem(path, outcome, reason, tuple(findings), item.score, item.max_score)


def _op_findings(result: Result, op: str, check: str) -> list[Finding]:
    """The findings that explain why ``op``'s ``check`` failed: the op's own of the check's
    kind, else findings of that kind that name no single op (a generated case of several),
    else whatever error the op has."""
    errors = [f for f in result.findings if f.severity == ERROR]
    about = [f for f in errors if f.op == op or op in f.inherited_by]
    kinds = _CHECK_CODES[check] | DEATH_CODES
    return ([f for f in about if f.code in kinds]
            or [f for f in errors if f.op is None and f.code in _CHECK_CODES[check]] or about)


def _traversal_findings(result: Result) -> list[Finding]:
    errors = [f for f in result.findings if f.severity == ERROR]
    return ([f for f in errors if f.code in _TRAVERSAL_CODES]
            or [f for f in errors if f.code in DEATH_CODES and f.stage == Stage.TRAVERSAL])


def _other_item(result: Result, items: list[CheckItem], score: Score | None) -> CheckItem:
    shown = {id(f) for item in items if item.outcome == FAILED for f in item.findings}
    rest = tuple(f for f in result.findings if f.severity == ERROR and id(f) not in shown)
    if result.harness_error is not None:
        return CheckItem((OTHER,), FAILED, f"gradcheck could not judge it: {result.harness_error}", rest)
    if score is not None:  # a rubric decides what costs points beyond its items
        if score.deductions:
            return CheckItem((OTHER,), FAILED, "; ".join(score.deductions), rest)
        return CheckItem((OTHER,), PASSED)
    if rest:
        return CheckItem((OTHER,), FAILED, ", ".join(sorted({f.code for f in rest})), rest)
    return CheckItem((OTHER,), PASSED)


def junit_suite(result: Result, prefix: tuple[str, ...]) -> JunitSuite:
    """One subject's items as a JUnit suite, named as pytest's ``--junitxml`` names them: the
    node id's parts but the last, dotted, as the classname; the last as the name."""
    cases = [JunitCase(classname=".".join((*prefix, *item.path[:-1])), name=item.path[-1],
                       outcome=item.outcome, message=item.reason,
                       text=item.report() if item.outcome == FAILED else "")
             for item in check_items(result)]
    return JunitSuite(name=result.subject, cases=cases, system_out=result.output)


def check_junit_xml(results: list[tuple[str, Result]]) -> str:
    """``gradcheck check --junit``: one suite per (target, result)."""
    several = len(results) > 1
    return junit_document("gradcheck check", [junit_suite(result, prefix_for(target, several))
                                              for target, result in results])
