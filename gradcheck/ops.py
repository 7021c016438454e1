"""The op table: everything gradcheck knows about each op, as data.

Generation, the oracles, the capability probe, the worker and the reports all read this table;
adding an op (``gelu``, ``max``) is one more ``Op`` entry in ``OPS``.

An op is applied to a subject's values through ``expr``, a Python expression template in which
``{0}``/``{1}`` name the subject's operands and ``{k}`` the op's numeric constant. The same
template builds the graph inside the worker and the reproduction snippet shown to the user.
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
    method: str  # the class attribute that must exist for the subject to support it
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

    @property
    def takes_constant(self) -> bool:
        return bool(self.constants)

    @property
    def label(self) -> str:
        return self.symbol or self.name

    def apply_source(self, operands: list[str], k: float | None = None) -> str:
        """Python source applying this op to the named operands, e.g. ``a ** 2``."""
        return self.expr.format(*operands, k=_literal(k))


def _literal(k: float | None) -> str:
    if k is None:
        return ""
    text = repr(k)
    return f"({text})" if text.startswith("-") else text


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


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
    Op("exp", 1, "{0}.exp()", "exp", math.exp,
       lambda a: a.exp(), lambda a: _sym().exp(a), mpmath=lambda a: _mp().exp(a),
       domain=lambda a: a <= 6.0),
    Op("log", 1, "{0}.log()", "log", math.log,
       lambda a: a.log(), lambda a: _sym().log(a), mpmath=lambda a: _mp().log(a),
       domain=lambda a: a >= 0.05),
    # tanh and sigmoid saturate long before |x| = 20; beyond it, the exp formulas learners are
    # taught overflow, which says nothing about their gradients.
    Op("tanh", 1, "{0}.tanh()", "tanh", math.tanh,
       lambda a: a.tanh(), lambda a: _sym().tanh(a), mpmath=lambda a: _mp().tanh(a),
       domain=lambda a: abs(a) <= 20, weight=3, rank=2),
    Op("relu", 1, "{0}.relu()", "relu", lambda a: max(0.0, a),
       lambda a: a.relu(), lambda a: _sym().Piecewise((0, a < 0), (a, True)),
       mpmath=lambda a: a if a > 0 else _mp().mpf(0),
       # The kink at 0 has no derivative; stay clear of it by more than any difference step.
       domain=lambda a: abs(a) >= 1e-3),
    Op("sigmoid", 1, "{0}.sigmoid()", "sigmoid", _sigmoid,
       lambda a: a.sigmoid(), lambda a: 1 / (1 + _sym().exp(-a)),
       mpmath=lambda a: 1 / (1 + _mp().exp(-a)), domain=lambda a: abs(a) <= 20, symbol="σ"),
    Op("abs", 1, "abs({0})", "__abs__", abs,
       lambda a: a.abs(), lambda a: _sym().Abs(a), mpmath=lambda a: abs(a),
       # like relu, a kink at 0: stay clear of it by more than any difference step
       domain=lambda a: abs(a) >= 1e-3, symbol="|x|"),
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
