"""Scoring that cannot be dodged: typed coverage states, sabotaged checks, fail verdicts."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradcheck.coverage import (
    ABSENT,
    CHECKS,
    FAIL,
    NOT_JUDGED,
    PASS,
    SKIP,
    STATES,
    UNOBSERVABLE,
    op_matrix,
    record_blocked,
    record_judged,
)
from gradcheck.findings import CATALOGUE, ERROR, Finding
from gradcheck.grading.rubric import load_rubric
from gradcheck.ops import OPS
from gradcheck.result import Result

PART1 = load_rubric("part1")
FULL = load_rubric("full")


def context(**overrides):
    """What op_matrix reads of a CheckContext: add, mul and tanh implemented and observed."""
    caps = SimpleNamespace(ops={"add": True, "mul": True, "tanh": True}, grad_attr="grad")
    ctx = SimpleNamespace(caps=caps, findings=[], forward_faulty=set(), faulty_ops=set(),
                          observed_rules=True, e2e_tested={"add", "mul", "tanh"}, e2e_failed=set(),
                          stats={})
    for key, value in overrides.items():
        setattr(ctx, key, value)
    return ctx


def result_with(coverage, findings=()):
    return Result(subject="s", coverage=coverage, findings=list(findings))


def all_pass():
    return {op.name: {c: (PASS, "") for c in CHECKS} for op in OPS}


def test_a_judged_rule_passes_and_a_sabotaged_one_fails_with_its_reason():
    ctx = context()
    record_judged(ctx, "local rule", "add", 2)
    record_blocked(ctx, "local rule", "mul", "the probe could not be set up (AttributeError: no)")
    record_judged(ctx, "local rule", "tanh", 0)
    matrix = op_matrix(ctx)
    assert matrix["add"]["local rule"] == (PASS, "")
    state, why = matrix["mul"]["local rule"]
    assert state == FAIL and "AttributeError" in why
    assert matrix["tanh"]["local rule"][0] == NOT_JUDGED  # no case judged is never a pass


def test_a_rule_nobody_recorded_is_not_judged():
    matrix = op_matrix(context())
    assert {matrix[op]["local rule"][0] for op in ("add", "mul", "tanh")} == {NOT_JUDGED}


def test_legitimate_skips_have_their_own_states():
    matrix = op_matrix(context(observed_rules=False))
    assert matrix["add"]["local rule"][0] == UNOBSERVABLE
    assert matrix["exp"] == {c: (ABSENT, "not implemented") for c in CHECKS}
    no_grad = context()
    no_grad.caps.grad_attr = None
    assert op_matrix(no_grad)["add"]["end-to-end"][0] == SKIP


def test_a_sabotaged_rule_costs_its_item_even_when_end_to_end_passes():
    coverage = all_pass()
    coverage["mul"]["local rule"] = (FAIL, "not judged: the probe could not be set up")
    score = PART1.score(result_with(coverage))
    item = next(i for i in score.items if i.name == "mul: local rule")
    assert item.score == 0 and item.why
    assert score.total == score.max_score - item.max_score


@pytest.mark.parametrize("state", [UNOBSERVABLE, NOT_JUDGED])
def test_a_rule_that_could_not_be_judged_follows_end_to_end(state):
    coverage = all_pass()
    coverage["mul"]["local rule"] = (state, "")
    assert PART1.score(result_with(coverage)).total == PART1.score(result_with(all_pass())).total
    coverage["mul"]["end-to-end"] = (FAIL, "in a failing generated case")
    items = {i.name: i.score for i in PART1.score(result_with(coverage)).items}
    assert items["mul: local rule"] == 0 and items["mul: end-to-end"] == 0


def test_an_absent_required_op_costs_and_an_absent_optional_op_does_not():
    coverage = all_pass()
    coverage["tanh"] = {c: (ABSENT, "not implemented") for c in CHECKS}
    score = PART1.score(result_with(coverage))
    assert {i.name: i.score for i in score.items}["tanh: forward"] == 0
    optional = load_rubric("full")
    optional = type(optional)(**{**optional.__dict__, "required_ops": ("add",),
                                 "optional_ops": tuple(o for o in optional.required_ops if o != "add")})
    coverage = all_pass()
    coverage["tanh"] = {c: (ABSENT, "not implemented") for c in CHECKS}
    assert not any(i.name.startswith("tanh:") for i in optional.score(result_with(coverage)).items)


ERROR_CODES = sorted(code for code, (severity, _) in CATALOGUE.items() if severity == ERROR)


@pytest.mark.parametrize("code", ERROR_CODES)
def test_a_fail_verdict_never_carries_full_marks(code):
    clean = PART1.score(result_with(all_pass()))
    assert clean.total == clean.max_score  # the same result without the finding: full marks
    finding = Finding(code, "in an op part1 does not score", op="exp")
    result = result_with(all_pass(), [finding])
    assert result.verdict == "fail"
    score = PART1.score(result)
    # at most: the cap, or less where an item or a deduction already scores the finding
    assert score.total <= score.max_score - min(i.max_score for i in score.items)
    assert score.deductions or any(i.score < i.max_score for i in score.items)


def test_a_harness_error_carries_no_marks_either():
    result = Result(subject="s", coverage=all_pass(), harness_error="gradcheck broke")
    score = PART1.score(result)
    assert score.total < score.max_score


cells = st.tuples(st.sampled_from(STATES), st.just("why"))
coverages = st.fixed_dictionaries({op.name: st.fixed_dictionaries({c: cells for c in CHECKS})
                                   for op in OPS})
findings = st.lists(st.builds(Finding, st.sampled_from(sorted(CATALOGUE)), st.just("m"),
                              st.sampled_from([None, *(op.name for op in OPS)])), max_size=3)


@given(coverages, findings, st.sampled_from([PART1, FULL]))
def test_no_result_that_fails_scores_the_maximum(coverage, found, rubric):
    result = result_with(coverage, found)
    score = rubric.score(result)
    assert 0 <= score.total <= score.max_score
    if result.verdict != "pass":
        assert score.total < score.max_score
