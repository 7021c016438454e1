"""The three oracles must agree with each other on >= 99% of generated cases.

Where they may not: relu exactly at its kink (finite differences see a step), and values near
overflow; the generator's domains keep both out, and ``Consensus`` discards any case left.
"""

import math

from hypothesis import given, settings

from gradcheck.generate import expression_dags
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS
from gradcheck.oracles import get_oracle
from gradcheck.oracles.consensus import Consensus

ALL = [op.name for op in OPS]
tally = Consensus.default()


@settings(max_examples=400)
@given(expression_dags(ALL))
def test_oracles_agree(graph):
    tally.expected(graph)


def test_agreement_rate_is_at_least_99_percent():
    if tally.agreed == 0:
        test_oracles_agree()
    total = tally.agreed + sum(tally.discarded.values())
    assert total >= 100
    assert tally.agreed / total >= 0.99, tally.discarded


def test_a_kink_is_discarded_not_judged():
    c = Consensus.default()
    assert c.expected(Graph((leaf(0.0), apply("relu", 0)))) is None
    assert sum(c.discarded.values()) == 1


def test_finite_differences_flag_a_kink_as_unknown():
    ans = get_oracle("fd").evaluate(Graph((leaf(0.0), apply("relu", 0))))
    assert math.isnan(ans.grads[0])


def test_finite_differences_share_nothing_with_sympy(monkeypatch):
    """Three oracles are only a cross-check if none reuses another's evaluation: with the sympy
    oracle's compiled ops unavailable, finite differences still answer, and correctly."""
    from gradcheck.oracles import sympy_oracle

    def unavailable(*args):
        raise AssertionError("finite differences used the sympy oracle's evaluation")

    monkeypatch.setattr(sympy_oracle, "compiled", unavailable)
    monkeypatch.setattr(sympy_oracle, "forward_values", unavailable)
    ans = get_oracle("fd").evaluate(Graph((leaf(2.0), apply("log", 0), apply("mul", 1, 0))))
    assert math.isclose(ans.values[-1], 2.0 * math.log(2.0), rel_tol=1e-12)
    assert math.isclose(ans.grads[0], math.log(2.0) + 1.0, rel_tol=1e-9)  # d(a log a) = log a + 1


def test_known_values():
    g = Graph((leaf(0.5), leaf(2.0), apply("mul", 0, 1), apply("add", 2, 0), apply("tanh", 3)))
    for name in ("torch", "sympy", "fd"):
        ans = get_oracle(name).evaluate(g)
        t = math.tanh(1.5)
        assert math.isclose(ans.values[-1], t, rel_tol=1e-12)
        assert math.isclose(ans.grads[0], (1 - t * t) * 3.0, rel_tol=1e-8)
        assert math.isclose(ans.grads[1], (1 - t * t) * 0.5, rel_tol=1e-8)
