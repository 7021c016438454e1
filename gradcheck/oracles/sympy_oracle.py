"""Exact derivatives from sympy, evaluated at high precision.

Each op's local partial derivatives are derived symbolically once (``sympy.diff``) and evaluated
with mpmath at ``DIGITS`` significant digits; the chain rule is then applied in the same
precision, which yields every node's gradient, intermediates included, at no extra cost.
"""

from __future__ import annotations

from functools import cache

import mpmath

from gradcheck.graph import Graph
from gradcheck.ops import get_op
from gradcheck.oracles import Answer

DIGITS = 50


@cache
def compiled(op_name: str, k: float | None):
    """(forward, [partial wrt each operand]) as mpmath callables for one op and constant."""
    import sympy

    op = get_op(op_name)
    symbols = sympy.symbols(f"x0:{op.arity}", real=True)
    const = [sympy.nsimplify(k)] if op.takes_constant else []
    expr = op.sympy(*symbols, *const)
    forward = sympy.lambdify(symbols, expr, "mpmath")
    partials = [sympy.lambdify(symbols, sympy.diff(expr, s), "mpmath") for s in symbols]
    return forward, partials


def forward_values(graph: Graph, override: dict[int, mpmath.mpf] | None = None) -> list[mpmath.mpf]:
    """High-precision forward pass; ``override`` replaces chosen nodes' values (for FD)."""
    values: list[mpmath.mpf] = []
    for i, node in enumerate(graph.nodes):
        if override and i in override:
            values.append(override[i])
        elif node.is_leaf:
            values.append(mpmath.mpf(node.value))
        else:
            forward, _ = compiled(node.op, node.k)
            values.append(mpmath.mpf(forward(*[values[a] for a in node.args])))
    return values


class SympyOracle:
    name = "sympy"

    def evaluate(self, graph: Graph) -> Answer:
        with mpmath.workdps(DIGITS):
            values = forward_values(graph)
            grads = [mpmath.mpf(0)] * len(graph.nodes)
            grads[-1] = mpmath.mpf(1)
            for i in range(len(graph.nodes) - 1, -1, -1):
                node = graph.nodes[i]
                if node.is_leaf or grads[i] == 0:
                    continue
                _, partials = compiled(node.op, node.k)
                args = [values[a] for a in node.args]
                for a, partial in zip(node.args, partials, strict=True):
                    grads[a] += grads[i] * mpmath.mpf(partial(*args))
            return Answer(values=[float(v) for v in values], grads=[float(g) for g in grads])
