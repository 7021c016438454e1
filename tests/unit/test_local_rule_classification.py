import pytest

from gradcheck.checks.local_rules import (
    CORRECT,
    MISSING_FACTOR,
    NOT_PROPAGATED,
    OVERWRITE,
    PRESET,
    UPSTREAM,
    WRONG,
    classify,
)

G, U = PRESET[0], UPSTREAM


@pytest.mark.parametrize("local", [1.0, -0.7, 2.5])
@pytest.mark.parametrize("actual, expected", [
    (lambda d: G + U * d, {CORRECT}),
    (lambda d: U * d, {OVERWRITE}),
    (lambda d: G + d, {MISSING_FACTOR}),
    (lambda d: d, {OVERWRITE, MISSING_FACTOR}),
    (lambda d: G, {NOT_PROPAGATED}),
    (lambda d: G + U * (d + 0.5), {WRONG}),
])
def test_each_outcome_names_its_defect(local, actual, expected):
    assert classify(actual(local), G, U, local) == expected


def test_nan_is_a_wrong_derivative():
    assert classify(float("nan"), G, U, 1.0) == {WRONG}
    assert classify(None, G, U, 1.0) == {WRONG}


@pytest.mark.parametrize("local", [0.7, 2.5, 1.9])
def test_a_power_where_a_product_belongs_is_named(local):
    from gradcheck.checks.local_rules import POWER

    assert classify(G + local ** U, G, U, local) == {POWER}
    assert classify(G + U ** local, G, U, local) == {POWER}


def test_a_negative_base_to_a_fractional_power_is_not_a_power_slip():
    # (-1.3) ** 1.7 is complex in Python: no real gradient can equal it
    assert classify(G + 2.0, G, U, -1.3) == {WRONG}


def test_a_gradient_multiplied_where_data_belongs_is_recognised():
    from gradcheck.checks.local_rules import reads_grad_for_data

    assert reads_grad_for_data(G + U * PRESET[1], G, U)
    assert not reads_grad_for_data(G + U * 0.77, G, U)


def test_outcomes_carry_the_catalogue_s_codes():
    """The classification's names are the public codes, each with its meaning."""
    d = 0.8
    assert classify(U * d, G, U, d) == {"grad-overwrite"}
    assert classify(G + d, G, U, d) == {"missing-chain-factor"}
    assert classify(G, G, U, d) == {"grad-not-propagated"}
    assert classify(G + 5.0, G, U, d) == {"wrong-derivative"}
