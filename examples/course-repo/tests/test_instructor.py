"""The instructor's own checks of the student's Value class, beside gradcheck's items.

`gradcheck_subject` is the notebook named by `--gradcheck`, loaded in gradcheck's sandbox: these
tests build expressions from op names and read numbers back; the student's code never runs in
pytest's process. `@pytest.mark.gradcheck` skips a test whose ops the class lacks and records
its points in the JUnit report.
"""

import pytest


@pytest.mark.gradcheck(ops=["add", "mul"], points=2)
def test_a_value_used_twice_collects_both_gradients(gradcheck_subject):
    x = gradcheck_subject.expression()
    a, b = x.leaf(2.0), x.leaf(-3.0)
    x.apply("add", x.apply("mul", a, b), a)  # a * b + a
    seen = gradcheck_subject.run(x)
    assert seen.error is None
    assert seen.data[-1] == pytest.approx(-4.0)
    assert (seen.grad[a], seen.grad[b]) == (pytest.approx(-2.0), pytest.approx(2.0))


@pytest.mark.gradcheck(ops=["tanh"], points=1)
def test_tanh_saturates_without_overflow(gradcheck_subject):
    x = gradcheck_subject.expression()
    big = x.leaf(40.0)
    x.apply("tanh", big)
    seen = gradcheck_subject.run(x)
    assert seen.error is None
    assert seen.data[-1] == pytest.approx(1.0) and seen.grad[big] == pytest.approx(0.0)
