import math

import pytest

from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, OPS_BY_NAME, get_op, in_domain

SPEC_OPS = "add radd sub rsub mul rmul neg truediv rtruediv pow exp log tanh relu sigmoid".split()


def test_op_table_covers_the_spec():
    assert set(SPEC_OPS) <= set(OPS_BY_NAME)


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_every_op_is_complete(op):
    assert op.arity in (1, 2)
    assert op.method
    if op.takes_constant:
        assert op.arity == 1 and "{k}" in op.expr
    source = op.apply_source(["a", "b"][: op.arity], op.constants[0] if op.constants else None)
    assert "a" in source


def test_unknown_op_message_lists_known_ops():
    with pytest.raises(KeyError, match="known ops: add"):
        get_op("gelu")


def test_negative_constants_are_parenthesised():
    assert get_op("pow").apply_source(["a"], -1) == "a ** (-1)"
    assert get_op("radd").apply_source(["a"], -1.5) == "(-1.5) + a"


def test_domain_rejects_what_is_undefined_or_ill_conditioned():
    assert not in_domain(get_op("log"), [-1.0], None)
    assert not in_domain(get_op("truediv"), [1.0, 0.01], None)
    assert not in_domain(get_op("pow"), [-2.0], 0.5)
    assert not in_domain(get_op("exp"), [50.0], None)
    assert not in_domain(get_op("relu"), [0.0], None)
    assert in_domain(get_op("relu"), [0.5], None)


def test_snippet_reproduces_the_graph_and_names_nodes():
    g = Graph((leaf(0.5), leaf(-1.0), apply("mul", 0, 1), apply("add", 2, 2)))
    text = g.snippet("Scalar")
    assert text.splitlines() == ["a = Scalar(0.5)", "b = Scalar(-1.0)", "n1 = a * b", "n2 = n1 + n1",
                                 "n2.backward()", "print(a.grad, b.grad, n1.grad, n2.grad)"]
    namespace = {}
    exec("class Scalar(float):\n    pass\n" + "\n".join(text.splitlines()[:4]), namespace)
    assert namespace["n2"] == pytest.approx(-1.0)


def test_float_values_and_ancestors():
    g = Graph((leaf(2.0), leaf(3.0), apply("mul", 0, 0), apply("tanh", 1)))
    assert g.float_values()[2] == 4.0
    assert math.isclose(g.float_values()[3], math.tanh(3.0))
    assert g.ancestors_of_output() == [1, 3]
