"""Hypothesis, for the end-to-end check: generating a search's graphs, and finding and
shrinking a counterexample once the subject has failed one.

Kept apart from ``end_to_end`` because importing Hypothesis is a large part of a check's start-up
and a check whose cases come from the case store, and which finds nothing wrong, never needs it.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import FlakyFailure

# Derandomized, Hypothesis seeds its search from the test function's source text: the inner
# functions below (``record``, ``prop``) are kept word for word as they have always been, so
# that the cases and counterexamples stay what they were (``_check_case`` is that name).
from gradcheck.checks.end_to_end import Counterexample, Search
from gradcheck.checks.end_to_end import check_case as _check_case
from gradcheck.checks.generate import expression_dags, without_local_constants
from gradcheck.graph import Graph
from gradcheck.sandbox.limits import WorkerDied


class _Falsified(Exception):
    pass


def _settings(cfg):
    return settings(max_examples=cfg.examples, database=None, deadline=None, verbosity=Verbosity.quiet,
                    derandomize=cfg.seed is None, report_multiple_bugs=False, print_blob=False,
                    phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))


def _seeded(test, cfg):
    return seed(cfg.seed)(test) if cfg.seed is not None else test


def generated(ops: list[str], focus: str | None, cfg) -> tuple[Graph, ...]:
    seen: list[Graph] = []

    @_settings(cfg)
    @given(expression_dags(ops, max_ops=cfg.max_ops, focus=focus))
    def record(graph: Graph) -> None:
        seen.append(graph)

    with without_local_constants():
        _seeded(record, cfg)()
    return tuple(seen)


def shrunk_failure(run: Search, ops: list[str], focus: str | None) -> Counterexample | None:
    """The last failure Hypothesis reports is the shrunk one (it replays it at the end)."""
    found: list[Counterexample] = []
    died: list[WorkerDied] = []
    cfg = run.subject.settings

    @_settings(cfg)
    @given(expression_dags(ops, max_ops=cfg.max_ops, focus=focus))
    def prop(graph: Graph) -> None:
        if died:
            return  # the worker died once: don't let shrinking replay a hang again and again
        try:
            cx = _check_case(run, graph)
        except WorkerDied as exc:
            exc.case = graph.describe()
            died.append(exc)
            return
        if cx is not None:
            found.append(cx)
            raise _Falsified()

    try:
        with without_local_constants():
            _seeded(prop, cfg)()
    except _Falsified:
        pass
    except FlakyFailure:
        # The same graph failed once and passed on replay: the subject's result depends on
        # something like set iteration order (objects hash by address). Wrong some of the
        # time is wrong; report the failing run as it was observed.
        pass
    if died:
        raise died[0]
    return found[-1] if found else None
