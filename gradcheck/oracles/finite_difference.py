"""Central finite differences with error control, in high precision.

Evaluating the forward pass at ``DIGITS`` digits makes a tiny step safe from rounding; two step
sizes give a Richardson-extrapolated estimate and an error bound. Where the two disagree (a kink
such as relu at 0 within the step), the node's derivative is reported as NaN: unknown.
"""

from __future__ import annotations

import math

import mpmath

from gradcheck.graph import Graph
from gradcheck.oracles import Answer
from gradcheck.oracles.sympy_oracle import forward_values

DIGITS = 40
STEP = mpmath.mpf("1e-12")
RELATIVE_AGREEMENT = 1e-9


class FiniteDifferenceOracle:
    name = "fd"

    def evaluate(self, graph: Graph) -> Answer:
        with mpmath.workdps(DIGITS):
            base = forward_values(graph)
            grads = []
            out = base[-1]
            for i in range(len(graph.nodes)):
                up, down = self._sides(graph, base, i, STEP)
                coarse = (up - down) / (2 * STEP)
                half_up, half_down = self._sides(graph, base, i, STEP / 2)
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
    def _sides(graph: Graph, base: list, i: int, h) -> tuple[mpmath.mpf, mpmath.mpf]:
        keep = {j: base[j] for j in range(i)}
        up = forward_values(graph, {**keep, i: base[i] + h})[-1]
        down = forward_values(graph, {**keep, i: base[i] - h})[-1]
        return up, down
