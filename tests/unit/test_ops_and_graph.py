import itertools
import math
import string

import pytest

from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, OPS_BY_NAME, Op, get_op, in_domain
from gradcheck.oracles import ORACLE_NAMES, get_oracle

SPEC_OPS = "add radd sub rsub mul rmul neg truediv rtruediv pow exp log tanh relu sigmoid".split()


def test_op_table_covers_the_spec():
    assert set(SPEC_OPS) <= set(OPS_BY_NAME)


# Operand values at which every op's definitions are compared (pairs of them for binary ops);
# each op must be inside its domain at some of them for every constant it takes.
SAMPLE_POINTS = (-2.3, -0.7, 0.4, 1.3, 2.9)


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def recorder_class(calls: list[str]) -> type:
    """A class with every op's method, each recording its own name when called."""
    def recording(method):
        def call(self, *args):
            calls.append(method)
            return self
        return call

    return type("Recorder", (), {name: recording(name) for op in OPS for name in op.methods})


def samples(op: Op, k):
    points = itertools.product(SAMPLE_POINTS, repeat=op.arity)
    return [list(p) for p in points if in_domain(op, list(p), k)]


def definitions_at(op: Op, operands: list[float], k) -> dict[str, float]:
    """The op's value at ``operands`` by each of its definitions in the table."""
    import mpmath
    import sympy
    import torch

    constant = [k] if op.takes_constant else []
    tensors = [torch.tensor(x, dtype=torch.float64) for x in operands]
    symbols = sympy.symbols(f"x0:{op.arity}", real=True)
    expr = op.sympy(*symbols, *([sympy.nsimplify(k)] if op.takes_constant else []))
    source = op.apply_source(["a", "b"][: op.arity], k)
    with mpmath.workdps(30):
        return {
            "value": float(op.value(*operands, *constant)),
            "torch": float(op.torch(*tensors, *constant)),
            "sympy": float(expr.subs(dict(zip(symbols, operands, strict=True))).evalf(30)),
            "mpmath": float(op.mpmath(*[mpmath.mpf(x) for x in operands], *constant)),
            # an op called by name is its method; torch has methods of some of those names
            # (with tensor arguments: `a.max(b)` is torch's too, `a.max(0.5)` is not)
            **({"expr": float(eval(source, {"a": tensors[0], "b": tensors[-1]}))}  # noqa: S307
               if "{m}" not in op.expr or hasattr(torch.Tensor, op.method) and "{k}" not in op.expr
               else {}),
        }


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_every_op_is_complete(op):
    assert op.arity in (1, 2) and op.method
    # the template names exactly the op's operands, and {k} exactly when it takes a constant
    expected = {str(i) for i in range(op.arity)} | ({"k"} if op.takes_constant else set())
    assert placeholders(op.expr) - {"m"} == expected, op.expr
    # only an op called by name can be spelled another way
    assert op.aliases == () or "{m}" in op.expr, op.name
    if op.takes_constant:
        assert op.arity == 1, "the generator only places constants on unary ops"
    for k in op.constants or (None,):
        # applied to a subject's values, the template calls the method the capability probe
        # looks for, and nothing else
        calls: list[str] = []
        cls = recorder_class(calls)
        eval(op.apply_source(["a", "b"][: op.arity], k), {"a": cls(), "b": cls()})  # noqa: S307
        assert calls == [op.method], (op.expr, k, calls)
        # ... or, given a learner's spelling, that one
        for alias in op.aliases:
            calls.clear()
            eval(op.apply_source(["a", "b"][: op.arity], k, alias), {"a": cls(), "b": cls()})  # noqa: S307
            assert calls == [alias], (op.expr, alias, calls)
        # every constant is usable: some sample operands are inside the domain with it
        points = samples(op, k)
        assert points, f"{op.name} with k={k} is outside its domain at every sample point"
        # the float, torch, sympy and mpmath definitions and the template itself say the same
        for operands in points:
            seen = definitions_at(op, operands, k)
            assert all(math.isclose(v, seen["sympy"], rel_tol=1e-12, abs_tol=1e-12)
                       for v in seen.values()), (op.name, operands, k, seen)


def test_op_names_are_unique():
    assert len(OPS_BY_NAME) == len(OPS)


def test_unknown_op_message_lists_known_ops():
    with pytest.raises(KeyError, match="known ops: add"):
        get_op("max")


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


# Hand-computed values and derivatives: op -> [(operands, constant, value, d value / d operand)].
# Points are chosen so that the numbers are exact or short: ln 2 and ln 3 make exp, tanh and
# sigmoid rational (tanh(ln 2) = (4 - 1) / (4 + 1), sigmoid(ln 3) = 3 / 4). Every constant an op
# takes appears once, so that a new op or constant without a known value fails below.
LN2, LN3 = 0.6931471805599453, 1.0986122886681098
PI, SQRT3 = 3.141592653589793, 1.7320508075688772
PHI1 = 0.8413447460685429  # the standard normal distribution function at 1
KNOWN = {
    "add": [((0.5, 2.0), None, 2.5, (1.0, 1.0))],
    "radd": [((0.5,), 2.0, 2.5, (1.0,)), ((0.5,), -1.5, -1.0, (1.0,))],
    "sub": [((0.5, 2.0), None, -1.5, (1.0, -1.0))],
    "rsub": [((0.5,), 1.0, 0.5, (-1.0,)), ((0.5,), -2.5, -3.0, (-1.0,))],
    "mul": [((0.5, 2.0), None, 1.0, (2.0, 0.5))],
    "rmul": [((0.5,), 3.0, 1.5, (3.0,)), ((0.5,), -0.5, -0.25, (-0.5,))],
    "neg": [((0.5,), None, -0.5, (-1.0,))],
    # d(a/b) = (1/b, -a/b**2)
    "truediv": [((0.5, 2.0), None, 0.25, (0.5, -0.125))],
    # d(k/a) = -k/a**2
    "rtruediv": [((0.5,), 1.0, 2.0, (-4.0,)), ((0.5,), -2.0, -4.0, (8.0,))],
    # d(a**k) = k * a**(k-1)
    "pow": [((1.5,), 2, 2.25, (3.0,)), ((2.0,), 3, 8.0, (12.0,)), ((2.0,), -1, 0.5, (-0.25,)),
            ((4.0,), 0.5, 2.0, (0.25,)), ((2.0,), -2.0, 0.25, (-0.25,)),
            ((4.0,), 1.5, 8.0, (3.0,))],
    "exp": [((LN2,), None, 2.0, (2.0,))],  # d exp = exp
    "log": [((2.0,), None, LN2, (0.5,))],  # d log a = 1/a
    "tanh": [((LN2,), None, 0.6, (0.64,))],  # d tanh = 1 - tanh**2
    "relu": [((0.7,), None, 0.7, (1.0,)), ((-0.7,), None, 0.0, (0.0,))],
    "sigmoid": [((LN3,), None, 0.75, (0.1875,))],  # d sigmoid = s * (1 - s)
    "abs": [((-1.5,), None, 1.5, (-1.0,)), ((0.25,), None, 0.25, (1.0,))],  # d|x| = sign(x)
    "sqrt": [((4.0,), None, 2.0, (0.25,))],  # d sqrt a = 1 / (2 sqrt a)
    "sin": [((PI / 6,), None, 0.5, (SQRT3 / 2,))],  # d sin = cos
    "cos": [((PI / 3,), None, 0.5, (-SQRT3 / 2,))],  # d cos = -sin
    "leaky_relu": [((0.7,), None, 0.7, (1.0,)), ((-2.0,), None, -0.02, (0.01,))],  # slope 0.01 below 0
    "softplus": [((LN3,), None, 2 * LN2, (0.75,))],  # log(1 + 3); d softplus = sigmoid
    # x * Phi(x): Phi(0) = 1/2; Phi(1) and phi(1) are the normal distribution's tabulated values,
    # d = Phi + x * phi
    "gelu": [((0.0,), None, 0.0, (0.5,)),
             ((1.0,), None, PHI1, (PHI1 + 0.24197072451914337,))],
    # x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): 0 and slope 1/2 at 0; at 1 it is below
    # Phi(1) by 1.5e-4 (values worked out to 30 digits with mpmath)
    "gelu_tanh": [((0.0,), None, 0.0, (0.5,)),
                  ((1.0,), None, 0.8411919906082767, (1.0829640838457826,))],
    "rpow": [((3.0,), 2.0, 8.0, (8 * LN2,)), ((2.0,), 0.5, 0.25, (-0.25 * LN2,))],  # d k**a = k**a ln k
    "vpow": [((2.0, 3.0), None, 8.0, (12.0, 8 * LN2))],  # d a**b = (b a**(b-1), a**b ln a)
    "elu": [((0.7,), None, 0.7, (1.0,)), ((-LN2,), None, -0.5, (0.5,))],  # e^a - 1 below 0, d = e^a
    "atan": [((1.0,), None, PI / 4, (0.5,)), ((SQRT3,), None, PI / 3, (0.25,))],  # d = 1 / (1 + a^2)
    # the gradient goes to the larger operand only
    "maximum": [((0.5, 2.0), None, 2.0, (0.0, 1.0)), ((2.0, 0.5), None, 2.0, (1.0, 0.0))],
    "maximum_number": [((0.7,), 0.5, 0.7, (1.0,)), ((-1.5,), -1.0, -1.0, (0.0,))],
}


def test_every_op_has_known_values():
    assert set(KNOWN) == set(OPS_BY_NAME)


@pytest.fixture(scope="module")
def oracles():
    return {name: get_oracle(name) for name in ORACLE_NAMES}


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_known_values(op, oracles):
    assert op.name in KNOWN, f"no hand-computed value for {op.name}: add one to KNOWN"
    cases = KNOWN[op.name]
    assert {k for _, k, _, _ in cases} == set(op.constants or (None,))
    for operands, k, value, partials in cases:
        assert len(operands) == len(partials) == op.arity
        graph = Graph((*[leaf(x) for x in operands], apply(op.name, *range(op.arity), k=k)))
        assert math.isclose(op.value(*operands, *([k] if op.takes_constant else [])), value,
                            rel_tol=1e-12, abs_tol=1e-15)
        for name, oracle in oracles.items():
            answer = oracle.evaluate(graph)
            assert math.isclose(answer.values[-1], value, rel_tol=1e-12, abs_tol=1e-15), \
                (name, operands, k, answer.values[-1])
            for i, partial in enumerate(partials):
                assert math.isclose(answer.grads[i], partial, rel_tol=1e-9, abs_tol=1e-12), \
                    (name, operands, k, i, answer.grads[i])
