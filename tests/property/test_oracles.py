"""The three oracles must agree with each other on every generated case.

Where they may not: relu exactly at its kink (finite differences see a step), and values near
overflow; the generator's domains keep both out, and ``Consensus`` discards any case left. On
2,400 generated graphs (the ci profile's 400 and 2,000 random ones) none was discarded, so the
bar is every case, not a rate.
"""

import math

from hypothesis import given, settings

from gradcheck.checks.generate import expression_dags
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS
from gradcheck.oracles import ORACLE_NAMES, get_oracle
from gradcheck.oracles.consensus import AGREE_RTOL, Consensus

ALL = [op.name for op in OPS]
ORACLES = [get_oracle(name) for name in ORACLE_NAMES]


def disagreements(graph: Graph) -> list[tuple]:
    """(oracle, kind, node, got, exact) wherever an oracle's answer is not sympy's to
    ``AGREE_RTOL``, compared here directly rather than through ``Consensus``."""
    answers = {oracle.name: oracle.evaluate(graph) for oracle in ORACLES}
    exact = answers["sympy"]
    found = []
    for name, answer in answers.items():
        for kind, got, want in (("value", answer.values, exact.values),
                                ("gradient", answer.grads, exact.grads)):
            assert len(got) == len(graph.nodes), (name, kind)
            for node, (g, w) in enumerate(zip(got, want, strict=True)):
                if not (math.isfinite(g) and abs(g - w) <= AGREE_RTOL * (1 + abs(w))):
                    found.append((name, kind, node, g, w))
    return found


@settings(max_examples=400)
@given(expression_dags(ALL))
def test_oracles_agree(graph):
    assert not disagreements(graph), graph.describe()


@settings(max_examples=200)
@given(expression_dags(ALL))
def test_consensus_keeps_every_generated_case(graph):
    consensus = Consensus.of(ORACLES, share=False)
    expected = consensus.expected(graph)
    assert expected is not None, (consensus.discarded, graph.describe())
    assert consensus.agreed == 1
    # a subject is held to a tolerance, never to none and never to more than rounding allows
    assert all(0 < t < 1e-3 * (1 + abs(v)) for t, v in zip(expected.grad_tol, expected.grads, strict=True))


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
