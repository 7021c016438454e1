"""The op table: everything gradcheck knows about each op, as data.

Generation, the oracles, the capability probe, the worker and the reports all read this table;
adding an op (``gelu``, ``maximum``) is one more ``Op`` entry in ``OPS``.

An op is applied to a subject's values through ``expr``, a Python expression template in which
``{0}``/``{1}`` name the subject's operands, ``{k}`` the op's numeric constant and ``{m}`` the
method an op called by name (``x.exp()``) is called by. Learners spell some methods their own way
(``__exp__``, ``ReLU``): an op lists every name it is known by, and the capability probe decides
which one a subject has, so that the graph built inside the worker and the reproduction snippet
shown to the user both call the learner's own method.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# Generated values are kept to this magnitude so that every op stays well conditioned and the
# float64 subject can be compared with high-precision oracles at a tight tolerance.
MAX_MAGNITUDE = 1e3


@dataclass(frozen=True)
class Op:
    name: str
    arity: int  # number of subject values the op consumes
    expr: str  # how to apply it to a subject's values (see module docstring)
    method: str  # the usual name of the class attribute that implements it
    value: Callable[..., float]  # float forward, used to keep generated inputs in the domain
    torch: Callable[..., object]  # torch counterpart, on float64 tensors
    sympy: Callable[..., object]  # sympy counterpart, on symbols
    # mpmath counterpart, on mpf numbers: the finite-difference oracle's own forward pass, so
    # that it shares no evaluation with the sympy oracle it is meant to cross-check
    mpmath: Callable[..., object]
    domain: Callable[..., bool] = lambda *args: True  # (operands..., k) -> inside the domain?
    constants: tuple[float, ...] = ()  # values of {k}; empty when the op takes none
    weight: int = 2  # relative frequency in generated graphs
    # the primitives learners usually build it from (micrograd: `a - b = a + (-b)`); only used
    # to attribute a defect when the subject's structure cannot be observed
    built_from: tuple[str, ...] = ()
    symbol: str = ""  # its label in graph pictures; the name when empty
    # Where gradcheck needs a few ops to build graphs from (traversal shapes) or verifies ops one
    # at a time, lower ranks come first: the primitives learners build everything else from.
    rank: int = 9
    # other names learners give the method (only for an op called by name, ``{m}`` in expr);
    # the first of ``methods`` a class has is the one used
    aliases: tuple[str, ...] = ()
    # Ops whose method alone does not say the subject implements them: the capability probe
    # runs the op once at these operands (and constant) and keeps it only when ``confirm``
    # holds: "runs" (gives a number: `__pow__` may take only number exponents) or "value"
    # (gives this op's value: a leaky_relu with another slope is not this op).
    probe: tuple[float, ...] = ()
    confirm: str = ""
    # the op this one is another form of, sharing its method (gelu's tanh approximation): the
    # probe's value says which form a subject computes, and only that one is checked
    form_of: str = ""

    @property
    def methods(self) -> tuple[str, ...]:
        return (self.method, *self.aliases)

    @property
    def takes_constant(self) -> bool:
        return bool(self.constants)

    @property
    def label(self) -> str:
        return self.symbol or self.name

    def apply_source(self, operands: list[str], k: float | None = None, method: str | None = None) -> str:
        """Python source applying this op to the named operands, e.g. ``a ** 2`` or, with the
        learner's method name, ``a.__exp__()``."""
        return self.expr.format(*operands, k=_literal(k), m=method or self.method)


def _literal(k: float | None) -> str:
    if k is None:
        return ""
    text = repr(k)
    return f"({text})" if text.startswith("-") else text


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


LEAKY_SLOPE = 0.01
GELU_C = math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715


def _gelu_tanh(x: float) -> float:
    return 0.5 * x * (1.0 + math.tanh(GELU_C * (x + GELU_CUBIC * x**3)))


def _not_near_zero(x: float) -> bool:
    return abs(x) >= 0.1


def _pow_domain(x: float, k: float) -> bool:
    if k < 0 and abs(x) < 0.1:
        return False
    if k != int(k) and x < 0.1:
        return False
    return True


def _sym():
    import sympy

    return sympy


def _mp():
    import mpmath

    return mpmath


OPS: tuple[Op, ...] = (
    Op("add", 2, "{0} + {1}", "__add__", lambda a, b: a + b,
       lambda a, b: a + b, lambda a, b: a + b, mpmath=lambda a, b: a + b, weight=4, symbol="+", rank=0),
    Op("radd", 1, "{k} + {0}", "__radd__", lambda a, k: k + a,
       lambda a, k: k + a, lambda a, k: k + a, mpmath=lambda a, k: k + a,
       constants=(2.0, -1.5), built_from=("add",), symbol="+"),
    Op("sub", 2, "{0} - {1}", "__sub__", lambda a, b: a - b,
       lambda a, b: a - b, lambda a, b: a - b, mpmath=lambda a, b: a - b,
       weight=3,
       built_from=("add", "neg", "mul"), symbol="-"),
    Op("rsub", 1, "{k} - {0}", "__rsub__", lambda a, k: k - a,
       lambda a, k: k - a, lambda a, k: k - a, mpmath=lambda a, k: k - a,
       constants=(1.0, -2.5), built_from=("add", "neg", "mul"), symbol="-"),
    Op("mul", 2, "{0} * {1}", "__mul__", lambda a, b: a * b,
       lambda a, b: a * b, lambda a, b: a * b, mpmath=lambda a, b: a * b, weight=4, symbol="*", rank=1),
    Op("rmul", 1, "{k} * {0}", "__rmul__", lambda a, k: k * a,
       lambda a, k: k * a, lambda a, k: k * a, mpmath=lambda a, k: k * a,
       constants=(3.0, -0.5), built_from=("mul",), symbol="*"),
    Op("neg", 1, "-{0}", "__neg__", lambda a: -a,
       lambda a: -a, lambda a: -a, mpmath=lambda a: -a, built_from=("mul",)),
    Op("truediv", 2, "{0} / {1}", "__truediv__", lambda a, b: a / b,
       lambda a, b: a / b, lambda a, b: a / b, mpmath=lambda a, b: a / b,
       domain=lambda a, b: _not_near_zero(b), weight=3,
       built_from=("mul", "pow"), symbol="/"),
    Op("rtruediv", 1, "{k} / {0}", "__rtruediv__", lambda a, k: k / a,
       lambda a, k: k / a, lambda a, k: k / a, mpmath=lambda a, k: k / a,
       domain=lambda a, k: _not_near_zero(a), constants=(1.0, -2.0),
       built_from=("mul", "pow"), symbol="/"),
    Op("pow", 1, "{0} ** {k}", "__pow__", lambda a, k: a**k,
       lambda a, k: a**k, lambda a, k: a**k, mpmath=lambda a, k: a**k,
       domain=_pow_domain, constants=(2, 3, -1, 0.5, -2.0, 1.5), weight=3, symbol="**"),
    Op("exp", 1, "{0}.{m}()", "exp", math.exp,
       lambda a: a.exp(), lambda a: _sym().exp(a), mpmath=lambda a: _mp().exp(a),
       domain=lambda a: a <= 6.0, aliases=("__exp__", "Exp")),
    Op("log", 1, "{0}.{m}()", "log", math.log,
       lambda a: a.log(), lambda a: _sym().log(a), mpmath=lambda a: _mp().log(a),
       domain=lambda a: a >= 0.05, aliases=("Log",)),
    # tanh and sigmoid saturate long before |x| = 20; beyond it, the exp formulas learners are
    # taught overflow, which says nothing about their gradients.
    Op("tanh", 1, "{0}.{m}()", "tanh", math.tanh,
       lambda a: a.tanh(), lambda a: _sym().tanh(a), mpmath=lambda a: _mp().tanh(a),
       domain=lambda a: abs(a) <= 20, weight=3, rank=2, aliases=("Tanh",)),
    Op("relu", 1, "{0}.{m}()", "relu", lambda a: max(0.0, a),
       lambda a: a.relu(), lambda a: _sym().Piecewise((0, a < 0), (a, True)),
       mpmath=lambda a: a if a > 0 else _mp().mpf(0),
       # The kink at 0 has no derivative; stay clear of it by more than any difference step.
       domain=lambda a: abs(a) >= 1e-3, aliases=("ReLU", "Relu")),
    Op("sigmoid", 1, "{0}.{m}()", "sigmoid", _sigmoid,
       lambda a: a.sigmoid(), lambda a: 1 / (1 + _sym().exp(-a)),
       mpmath=lambda a: 1 / (1 + _mp().exp(-a)), domain=lambda a: abs(a) <= 20, symbol="σ",
       aliases=("Sigmoid",)),
    Op("abs", 1, "abs({0})", "__abs__", abs,
       lambda a: a.abs(), lambda a: _sym().Abs(a), mpmath=lambda a: abs(a),
       # like relu, a kink at 0: stay clear of it by more than any difference step
       domain=lambda a: abs(a) >= 1e-3, symbol="|x|"),
    # Ops learners add beyond the lecture's: checked when a subject has them, required by no
    # rubric. Each keeps clear of kinks, of slopes too steep to compare, and of overflow.
    Op("sqrt", 1, "{0}.{m}()", "sqrt", math.sqrt,
       lambda a: a.sqrt(), lambda a: _sym().sqrt(a), mpmath=lambda a: _mp().sqrt(a),
       domain=lambda a: a >= 0.05, weight=1, built_from=("pow",), symbol="√"),
    Op("sin", 1, "{0}.{m}()", "sin", math.sin,
       lambda a: a.sin(), lambda a: _sym().sin(a), mpmath=lambda a: _mp().sin(a),
       domain=lambda a: abs(a) <= 20, weight=1),
    Op("cos", 1, "{0}.{m}()", "cos", math.cos,
       lambda a: a.cos(), lambda a: _sym().cos(a), mpmath=lambda a: _mp().cos(a),
       domain=lambda a: abs(a) <= 20, weight=1),
    # Learners write `leaky_relu(self, alpha=0.01)`: the default slope is the one checked, and a
    # class whose leaky_relu() has another slope is not taken for this op.
    Op("leaky_relu", 1, "{0}.{m}()", "leaky_relu", lambda a: a if a > 0 else LEAKY_SLOPE * a,
       lambda a: a.clamp(min=0) + LEAKY_SLOPE * a.clamp(max=0),
       lambda a: _sym().Piecewise((_sym().Rational(1, 100) * a, a < 0), (a, True)),
       mpmath=lambda a: a if a > 0 else _mp().mpf("0.01") * a,
       domain=lambda a: abs(a) >= 1e-3, weight=1,
       aliases=("leakyrelu", "leaky_ReLU", "LeakyReLU", "leakyReLU", "leaky_Relu", "LeakyRelu"),
       probe=(-1.3,), confirm="value"),
    # log(1 + e^x): below -10 the `log(1 + exp(x))` learners write loses digits to rounding
    Op("softplus", 1, "{0}.{m}()", "softplus", lambda a: math.log1p(math.exp(a)),
       lambda a: (1 + a.exp()).log(), lambda a: _sym().log(1 + _sym().exp(a)),
       mpmath=lambda a: _mp().log(1 + _mp().exp(a)), domain=lambda a: -10 <= a <= 20, weight=1,
       aliases=("Softplus", "SoftPlus")),
    # GELU exactly (x * Phi(x)) and in the tanh approximation learners copy: the two differ by up
    # to 5e-4, far beyond the tolerance, so the probe's value decides which one a subject's
    # gelu() computes, and that form is checked.
    Op("gelu", 1, "{0}.{m}()", "gelu", lambda a: 0.5 * a * (1.0 + math.erf(a / math.sqrt(2.0))),
       lambda a: 0.5 * a * (1 + (a / math.sqrt(2.0)).erf()),
       lambda a: a / 2 * (1 + _sym().erf(a / _sym().sqrt(2))),
       mpmath=lambda a: a / 2 * (1 + _mp().erf(a / _mp().sqrt(2))),
       domain=lambda a: abs(a) <= 10, weight=1, aliases=("GELU", "Gelu")),
    Op("gelu_tanh", 1, "{0}.{m}()", "gelu", _gelu_tanh,
       lambda a: 0.5 * a * (1 + (GELU_C * (a + GELU_CUBIC * a**3)).tanh()),
       lambda a: a / 2 * (1 + _sym().tanh(_sym().sqrt(2 / _sym().pi)
                                          * (a + _sym().Rational(44715, 10**6) * a**3))),
       mpmath=lambda a: a / 2 * (1 + _mp().tanh(_mp().sqrt(2 / _mp().pi)
                                                * (a + _mp().mpf("0.044715") * a**3))),
       domain=lambda a: abs(a) <= 10, weight=1, aliases=("GELU", "Gelu"),
       probe=(2.6,), confirm="value", form_of="gelu"),
    # `2 ** x`: the number is the base
    Op("rpow", 1, "{k} ** {0}", "__rpow__", lambda a, k: k**a,
       lambda a, k: k**a, lambda a, k: k**a, mpmath=lambda a, k: _mp().mpf(k) ** a,
       domain=lambda a, k: abs(a) <= 20, constants=(2.0, 0.5), weight=1, symbol="**"),
    # `x ** y` with both values: the same `__pow__` as pow, which often takes numbers only
    # (micrograd asserts it); the probe keeps it only when a value exponent works.
    Op("vpow", 2, "{0} ** {1}", "__pow__", lambda a, b: a**b,
       lambda a, b: a**b, lambda a, b: a**b, mpmath=lambda a, b: a**b,
       domain=lambda a, b: a >= 0.1 and abs(b) <= 5, weight=1, symbol="**",
       probe=(1.3, 0.7), confirm="runs"),
    # ELU with the usual alpha = 1: e^x - 1 below 0. Its slope is continuous at 0, its curvature
    # is not: kept clear of 0 like relu; an elu with another alpha is not this op.
    Op("elu", 1, "{0}.{m}()", "elu", lambda a: a if a > 0 else math.expm1(a),
       lambda a: a.clamp(min=0) + a.clamp(max=0).exp() - 1,
       lambda a: _sym().Piecewise((_sym().exp(a) - 1, a < 0), (a, True)),
       mpmath=lambda a: a if a > 0 else _mp().exp(a) - 1,
       domain=lambda a: abs(a) >= 1e-3 and a <= 20, weight=1, aliases=("ELU", "Elu"),
       probe=(-1.3,), confirm="value"),
    Op("atan", 1, "{0}.{m}()", "atan", math.atan,
       lambda a: a.atan(), lambda a: _sym().atan(a), mpmath=lambda a: _mp().atan(a),
       domain=lambda a: abs(a) <= 20, weight=1, aliases=("arctan", "Arctan", "ArcTan", "Atan")),
    # `x.max(y)`: the larger of two values, its gradient going to that one only. At a tie any
    # split is a valid subgradient, so cases keep the two apart (as relu's keep clear of 0) and
    # no side is ever required. The same method with a number (`x.max(0.5)`, relu's way with a
    # threshold) is maximum_number; a method taking one of the two kinds only is confirmed by
    # running it.
    Op("maximum", 2, "{0}.{m}({1})", "max", max,
       lambda a, b: a.maximum(b),
       lambda a, b: _sym().Piecewise((a, a > b), (b, True)),
       mpmath=lambda a, b: a if a > b else b,
       domain=lambda a, b: abs(a - b) >= 1e-3, weight=1, symbol="max",
       aliases=("maximum", "Max", "__max__"), probe=(1.3, 0.7), confirm="runs"),
    Op("maximum_number", 1, "{0}.{m}({k})", "max", lambda a, k: max(a, k),
       lambda a, k: a.clamp(min=k),
       lambda a, k: _sym().Piecewise((a, a > k), (k, True)),
       mpmath=lambda a, k: a if a > k else _mp().mpf(k),
       domain=lambda a, k: abs(a - k) >= 1e-3, constants=(0.5, -1.0), weight=1, symbol="max",
       aliases=("maximum", "Max", "__max__"), probe=(1.3,), confirm="runs"),
)

OPS_BY_NAME: dict[str, Op] = {op.name: op for op in OPS}


def get_op(name: str) -> Op:
    try:
        return OPS_BY_NAME[name]
    except KeyError:
        known = ", ".join(OPS_BY_NAME)
        raise KeyError(f"unknown op {name!r}; known ops: {known}") from None


def in_domain(op: Op, operands: list[float], k: float | None) -> bool:
    """Whether the op is well defined and well conditioned at these operand values."""
    args = [*operands, k] if op.takes_constant else list(operands)
    if not all(math.isfinite(a) and abs(a) <= MAX_MAGNITUDE for a in operands):
        return False
    if not op.domain(*args):
        return False
    try:
        result = op.value(*args)
    except (ArithmeticError, ValueError):
        return False
    return isinstance(result, float | int) and math.isfinite(result) and abs(result) <= MAX_MAGNITUDE
