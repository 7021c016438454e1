"""Learner patterns found by reading public micrograd implementations (issue 11), each as a small
subject (tests/subjects/learners.py) with the exact set of error and warning findings a careful
reader lists. A pattern enters EXPECTED when gradcheck names it exactly; the others are listed in
the issue's closing note, not hidden here."""

import pytest

from gradcheck.runner import Options, check_path

from subjects.learners import SOURCES

CORRECT = frozenset()
EXPECTED: dict[str, frozenset] = {
    "s05_grad_used_for_data": frozenset({("wrong-derivative", "mul")}),
    "s07_children_not_a_tuple": frozenset({("forward-wrong", "relu")}),
    "s09_rsub_parameters_swapped": frozenset({("forward-wrong", "rsub")}),
    "s10_op_returns_none": frozenset({("forward-wrong", "relu")}),
    "s12a_local_slopes_correct": CORRECT,  # no per-node closures: local slopes kept per node
    "s14_no_seed": frozenset({("grad-seed", None)}),
    "s22_pow_rejects_int_exponent": frozenset({("forward-wrong", "pow")}),
    "s23_log_divides_by_output": frozenset({("wrong-derivative", "log")}),
    "s24_exp_dunder_and_value_exponent": CORRECT,  # exp as `__exp__`, `x ** y` with both values
    "s25_extra_activations": CORRECT,  # leaky_relu, softplus, gelu in its tanh form
    "s26_numpy_scalar_data": CORRECT,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, consensus):
    folder = tmp_path_factory.mktemp("learners")
    out = {}
    for name in EXPECTED:
        path = folder / f"{name}.py"
        path.write_text(SOURCES[name])
        out[name] = check_path(str(path), Options(), consensus)
    return out


def serious(result) -> frozenset:
    return frozenset((f.code, f.op) for f in result.findings if f.severity in ("error", "warning"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_pattern_is_named_exactly(name, results):
    assert serious(results[name]) == EXPECTED[name], [f.message for f in results[name].findings]
    assert (results[name].verdict == "pass") == (EXPECTED[name] == CORRECT)


def test_every_expected_subject_exists():
    assert set(EXPECTED) <= set(SOURCES)


# Ops a learner adds or spells their own way are checked, not merely tolerated: every cell of
# theirs is judged and passes (absent would mean the op went unseen).
CHECKED_OPS = {
    "s24_exp_dunder_and_value_exponent": {"exp": "__exp__", "vpow": "__pow__", "pow": "__pow__"},
    "s25_extra_activations": {"leaky_relu": "leaky_relu", "softplus": "softplus", "gelu_tanh": "gelu"},
}


@pytest.mark.parametrize("name", sorted(CHECKED_OPS))
def test_learners_own_ops_are_checked_under_their_names(name, results):
    result = results[name]
    for op, method in CHECKED_OPS[name].items():
        assert result.coverage[op] == {"forward": ("pass", ""), "local rule": ("pass", ""),
                                       "end-to-end": ("pass", "")}, (op, result.coverage[op])
        assert result.capabilities["op_methods"][op] == method
    assert not {f.op for f in result.findings if f.code == "unsupported-op"} & set(CHECKED_OPS[name])
