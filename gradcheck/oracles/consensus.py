"""Ask every oracle, keep a case only when they agree, and derive the tolerance for the subject.

The exact (sympy) answer is the expected value. The tolerance a subject gets at each node grows
with how far float64 torch strayed from the exact answer there: a correct subject that merely
evaluates in another float order (``math.tanh`` vs the exp formula, ``x**-1`` vs ``1/x``) is
off by the same order of rounding, and must not fail.
"""

from __future__ import annotations

import math
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gradcheck.graph import Graph
from gradcheck.oracles import ORACLE_NAMES, Oracle, get_oracle

if TYPE_CHECKING:
    from gradcheck.case_store import Bundle


def precision_scale(number_bytes: int | None) -> float:
    """How much looser a subject's tolerance is for numbers narrower than float64: float32's
    rounding error is ~2**29 times float64's, so 1e-6 relative becomes 1e-4."""
    if number_bytes is None or number_bytes >= 8:
        return 1.0
    return 100.0 if number_bytes >= 4 else 1e4


# Oracles must agree to this relative precision for a case to count.
AGREE_RTOL = 1e-7
# A subject is compared at this relative tolerance, plus rounding headroom (see module doc).
SUBJECT_RTOL = 1e-6
SUBJECT_ATOL = 1e-9
ROUNDING_HEADROOM = 1e3


@dataclass(frozen=True)
class Expected:
    values: list[float]
    grads: list[float]
    value_tol: list[float]
    grad_tol: list[float]

    def value_ok(self, i: int, actual: float | None) -> bool:
        return _close(actual, self.values[i], self.value_tol[i])

    def grad_ok(self, i: int, actual: float | None) -> bool:
        return _close(actual, self.grads[i], self.grad_tol[i])


def _close(actual: float | None, expected: float, tol: float) -> bool:
    return actual is not None and math.isfinite(actual) and abs(actual - expected) <= tol


@dataclass
class Consensus:
    oracle_names: tuple[str, ...] = ORACLE_NAMES
    discarded: Counter = field(default_factory=Counter)
    agreed: int = 0
    # Answers are kept per graph: derandomized searches generate the same graphs for every
    # submission, so a batch computes each oracle answer once (``share=False`` to measure).
    share: bool = True
    # Tolerances are multiplied by this for the subject being checked: 1 for float64 numbers,
    # more for a subject that computes in float32 (see ``precision_scale``).
    tolerance_scale: float = 1.0
    # The case store's bundle for the subject being checked (see ``using``): answers are read
    # from it before any oracle is asked, and what the oracles compute is added to it.
    cases: Bundle | None = None
    _memo: dict = field(default_factory=dict, repr=False)
    _oracles: list[Oracle] | None = field(default=None, repr=False)

    @classmethod
    def default(cls, share: bool = True) -> Consensus:
        return cls(share=share)

    @classmethod
    def of(cls, oracles: list[Oracle], share: bool = True) -> Consensus:
        """A consensus of oracles already made (tests reuse them across many cases)."""
        return cls(oracle_names=tuple(o.name for o in oracles), share=share, _oracles=list(oracles))

    @property
    def oracles(self) -> list[Oracle]:
        """Created on first need: importing torch and sympy is most of a cold check's time, and
        a check whose answers are all in the case store needs neither."""
        if self._oracles is None:
            self._oracles = [get_oracle(name) for name in self.oracle_names]
        return self._oracles

    @contextmanager
    def using(self, cases: Bundle | None, tolerance_scale: float = 1.0):
        """Answer one subject's questions from ``cases`` and at its tolerance."""
        self.cases, self.tolerance_scale = cases, tolerance_scale
        try:
            yield self
        finally:
            self.cases, self.tolerance_scale = None, 1.0

    def expected(self, graph: Graph) -> Expected | None:
        """The agreed answer, or None (and the reason counted) when the oracles disagree."""
        found = self._memo.get(graph) if self.share else None
        if found is None and self.cases is not None:
            found = self.cases.answer(graph)
        if found is None:
            found = self._evaluate(graph)
        if self.share:
            self._memo[graph] = found
        if self.cases is not None:
            self.cases.keep_answer(graph, found)
        answer, reason = found
        if answer is None:
            self.discarded[reason] += 1
            return None
        self.agreed += 1
        if self.tolerance_scale != 1.0:
            k = self.tolerance_scale
            answer = replace(answer, value_tol=[t * k for t in answer.value_tol],
                             grad_tol=[t * k for t in answer.grad_tol])
        return answer

    def _evaluate(self, graph: Graph) -> tuple[Expected | None, str]:
        answers = {}
        for oracle in self.oracles:
            try:
                answers[oracle.name] = oracle.evaluate(graph)
            except (ArithmeticError, ValueError, OverflowError, RuntimeError, TypeError):
                return None, f"{oracle.name} could not evaluate"
        exact = answers.get("sympy") or next(iter(answers.values()))
        for name, ans in answers.items():
            for kind, got, want in (("value", ans.values, exact.values), ("gradient", ans.grads, exact.grads)):
                for g, w in zip(got, want, strict=True):
                    if not (math.isfinite(g) and math.isfinite(w)) or abs(g - w) > AGREE_RTOL * (1 + abs(w)):
                        return None, f"{name} {kind} disagrees"
        rounding = answers.get("torch", exact)
        value_scale = max(1.0, max(abs(v) for v in exact.values))
        grad_scale = max(1.0, max(abs(g) for g in exact.grads))
        return Expected(
            values=exact.values, grads=exact.grads,
            value_tol=[SUBJECT_RTOL * abs(w) + SUBJECT_ATOL * value_scale + ROUNDING_HEADROOM * abs(r - w)
                       for r, w in zip(rounding.values, exact.values, strict=True)],
            grad_tol=[SUBJECT_RTOL * abs(w) + SUBJECT_ATOL * grad_scale + ROUNDING_HEADROOM * abs(r - w)
                      for r, w in zip(rounding.grads, exact.grads, strict=True)],
        ), ""
