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
            for i in range(len(graph.nodes)):
                coarse = self._central(graph, base, i, STEP)
                fine = self._central(graph, base, i, STEP / 2)
                estimate = (4 * fine - coarse) / 3
                if abs(coarse - fine) > RELATIVE_AGREEMENT * (1 + abs(estimate)):
                    grads.append(math.nan)
                else:
                    grads.append(float(estimate))
            return Answer(values=[float(v) for v in base], grads=grads)

    @staticmethod
    def _central(graph: Graph, base: list, i: int, h) -> mpmath.mpf:
        keep = {j: base[j] for j in range(i)}
        up = forward_values(graph, {**keep, i: base[i] + h})[-1]
        down = forward_values(graph, {**keep, i: base[i] - h})[-1]
        return (up - down) / (2 * h)
