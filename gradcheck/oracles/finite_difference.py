"""Central finite differences with error control, in high precision.

The forward pass is this oracle's own: each op's ``mpmath`` counterpart from the op table,
evaluated at ``DIGITS`` digits, so that nothing is shared with the sympy oracle (no symbolic
expression, no lambdify) and a slip in either shows up as a disagreement. The high precision
makes a tiny step safe from rounding; two step sizes give a Richardson-extrapolated estimate and
an error bound. Where the two disagree (a kink such as relu at 0 within the step), the node's
derivative is reported as NaN: unknown.
"""

from __future__ import annotations

import math

import mpmath

from gradcheck.graph import Graph
from gradcheck.ops import get_op
from gradcheck.oracles import Answer

DIGITS = 40
STEP = mpmath.mpf("1e-12")
RELATIVE_AGREEMENT = 1e-9


def steps(graph: Graph) -> list[tuple]:
    """How to compute each node, looked up once per graph rather than once per evaluation:
    ``(leaf value, None, (), ())`` or ``(None, the op's mpmath function, operands, constant)``."""
    plan = []
    for node in graph.nodes:
        if node.is_leaf:
            plan.append((mpmath.mpf(node.value), None, (), ()))
            continue
        op = get_op(node.op)
        constant = (mpmath.mpf(node.k),) if op.takes_constant else ()
        plan.append((None, op.mpmath, node.args, constant))
    return plan


def forward_from(plan: list[tuple], known: list[mpmath.mpf]) -> list[mpmath.mpf]:
    """Every node's value, taking the first ``len(known)`` as given and computing the rest
    from each op's mpmath definition (a perturbed node is passed as the last known value)."""
    values = list(known)
    for leaf_value, function, args, constant in plan[len(values):]:
        if function is None:
            values.append(leaf_value)
        else:
            values.append(mpmath.mpf(function(*[values[a] for a in args], *constant)))
    return values


class FiniteDifferenceOracle:
    name = "fd"

    def evaluate(self, graph: Graph) -> Answer:
        with mpmath.workdps(DIGITS):
            plan = steps(graph)
            base = forward_from(plan, [])
            grads = []
            out = base[-1]
            for i in range(len(graph.nodes)):
                up, down = self._sides(plan, base, i, STEP)
                coarse = (up - down) / (2 * STEP)
                half_up, half_down = self._sides(plan, base, i, STEP / 2)
                fine = (half_up - half_down) / STEP
                estimate = (4 * fine - coarse) / 3
                # One-sided slopes that differ mean a kink (relu at 0): no derivative there,
                # even though the central difference would happily average the two sides.
                right, left = (up - out) / STEP, (out - down) / STEP
                tolerance = RELATIVE_AGREEMENT * (1 + abs(estimate))
                if abs(coarse - fine) > tolerance or abs(right - left) > 1e3 * tolerance:
                    grads.append(math.nan)
                else:
                    grads.append(float(estimate))
            return Answer(values=[float(v) for v in base], grads=grads)

    @staticmethod
    def _sides(plan: list[tuple], base: list, i: int, h) -> tuple[mpmath.mpf, mpmath.mpf]:
        """The output with node ``i`` moved by +h and by -h; earlier nodes keep their values."""
        up = forward_from(plan, [*base[:i], base[i] + h])[-1]
        down = forward_from(plan, [*base[:i], base[i] - h])[-1]
        return up, down
