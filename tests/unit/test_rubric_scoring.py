"""Scoring that cannot be dodged: typed coverage states, sabotaged checks, fail verdicts."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradcheck.checks.outcomes import (
    EndToEndOutcome,
    ForwardOutcome,
    Judged,
    RuleOutcome,
    TraversalState,
)
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
)
from gradcheck.findings import CATALOGUE, ERROR, Finding
from gradcheck.grading.rubric import load_rubric
from gradcheck.ops import OPS
from gradcheck.result import Result

PART1 = load_rubric("part1")
FULL = load_rubric("full")


IMPLEMENTED = ("add", "mul", "tanh")


def matrix_of(rules_judged=None, observed=True, grad_attr="grad"):
    """op_matrix over add, mul and tanh, implemented, every forward and end-to-end case judged;
    the local-rule outcome as given."""
    caps = SimpleNamespace(ops=dict.fromkeys(IMPLEMENTED, True), grad_attr=grad_attr)
    forward = ForwardOutcome(judged={op: Judged(3) for op in IMPLEMENTED})
    rules = RuleOutcome(observed=observed, judged=rules_judged or {})
    e2e = EndToEndOutcome(tested=frozenset(IMPLEMENTED), judged=dict.fromkeys(IMPLEMENTED, 40))
    return op_matrix(caps, [], forward, rules, e2e, frozenset())


def result_with(coverage, findings=(), traversal=TraversalState.CORRECT):
    return Result(subject="s", coverage=coverage, findings=list(findings), traversal=traversal)


def all_pass():
    return {op.name: {c: (PASS, "") for c in CHECKS} for op in OPS}


def test_a_judged_rule_passes_and_a_sabotaged_one_fails_with_its_reason():
    matrix = matrix_of({"add": Judged(2), "tanh": Judged(0),
                        "mul": Judged(0, blocked="the probe could not be set up (AttributeError: no)")})
    assert matrix["add"]["local rule"] == (PASS, "")
    state, why = matrix["mul"]["local rule"]
    assert state == FAIL and "AttributeError" in why
    assert matrix["tanh"]["local rule"][0] == NOT_JUDGED  # no case judged is never a pass


def test_a_rule_nobody_recorded_is_not_judged():
    matrix = matrix_of()
    assert {matrix[op]["local rule"][0] for op in IMPLEMENTED} == {NOT_JUDGED}


def test_forward_and_end_to_end_without_a_judged_case_are_not_judged():
    """Every case discarded by the oracles is no comparison: never a pass."""
    caps = SimpleNamespace(ops={"add": True}, grad_attr="grad")
    matrix = op_matrix(caps, [], ForwardOutcome(judged={"add": Judged(0)}), RuleOutcome(),
                       EndToEndOutcome(tested=frozenset({"add"}), judged={}), frozenset())
    assert matrix["add"]["forward"][0] == NOT_JUDGED
    assert matrix["add"]["end-to-end"][0] == NOT_JUDGED
    judged = op_matrix(caps, [], ForwardOutcome(judged={"add": Judged(1)}), RuleOutcome(),
                       EndToEndOutcome(tested=frozenset({"add"}), judged={"add": 1}), frozenset())
    assert judged["add"]["forward"][0] == PASS and judged["add"]["end-to-end"][0] == PASS


def test_legitimate_skips_have_their_own_states():
    matrix = matrix_of(observed=False)
    assert matrix["add"]["local rule"][0] == UNOBSERVABLE
    assert matrix["exp"] == {c: (ABSENT, "not implemented") for c in CHECKS}
    assert matrix_of(grad_attr=None)["add"]["end-to-end"][0] == SKIP


@pytest.mark.parametrize("state", list(TraversalState))
def test_the_traversal_item_is_earned_only_by_a_walk_that_is_right_or_unobservable(state):
    score = PART1.score(result_with(all_pass(), traversal=state))
    item = next(i for i in score.items if i.name == "traversal")
    earned = state in (TraversalState.CORRECT, TraversalState.UNOBSERVED)
    assert (item.score == item.max_score) is earned


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


ERROR_CODES = sorted(code for code, entry in CATALOGUE.items() if entry.severity == ERROR)


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
    result = Result(subject="s", coverage=all_pass(), harness_error="gradcheck broke",
                    traversal=TraversalState.CORRECT)
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


def test_a_failed_generated_case_and_a_wrong_forward_value_fail_their_cells():
    caps = SimpleNamespace(ops={"add": True, "mul": True}, grad_attr="grad")
    forward = ForwardOutcome(faulty=frozenset({"mul"}), judged={"add": Judged(3), "mul": Judged(3)})
    rules = RuleOutcome(observed=True, judged={"add": Judged(2)})
    e2e = EndToEndOutcome(tested=frozenset({"add"}), judged={"add": 40})
    matrix = op_matrix(caps, [Finding("forward-wrong", "m", op="mul")], forward, rules, e2e,
                       frozenset({"add"}))
    assert matrix["mul"]["forward"] == (FAIL, "forward-wrong")
    assert matrix["add"]["end-to-end"][0] == FAIL


def test_a_cell_nobody_judged_earns_nothing():
    """An end-to-end cell with no judged case earns nothing, and neither does a forward value
    no case judged when the end-to-end cell that stands in for it was not judged either."""
    coverage = all_pass()
    coverage["mul"]["end-to-end"] = (NOT_JUDGED, "the oracles agreed on none of its cases")
    items = {i.name: i.score for i in PART1.score(result_with(coverage)).items}
    assert items["mul: end-to-end"] == 0 and items["mul: forward"] == 1
    coverage["mul"]["forward"] = (NOT_JUDGED, "the oracles agreed on none of its cases")
    items = {i.name: i.score for i in PART1.score(result_with(coverage)).items}
    assert items["mul: forward"] == 0
