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
