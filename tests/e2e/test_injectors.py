"""Diagnosis accuracy on the bug-injector registry, and false alarms on correct variants.

Acceptance: every injected defect detected and diagnosed exactly (the set of error findings,
code and op, equals the injector's), no error on any correct variant. The bar is what is
measured (36/36): a lower one would let a regression in one diagnosis through unnoticed.
"""

import json
from dataclasses import dataclass, field

import pytest

from gradcheck.case_store import CaseStore
from gradcheck.checks import CheckSettings
from gradcheck.oracles.consensus import Consensus
from gradcheck.runner import Options, check_path

from subjects.injectors import DESIGNS, REGISTRY
from subjects.variants import VARIANTS


def errors(result):
    return frozenset((f.code, f.op) for f in result.findings if f.severity == "error")


def as_json(result) -> list[str]:
    return sorted(json.dumps(f.to_json(), sort_keys=True) for f in result.findings)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return CaseStore(tmp_path_factory.mktemp("cases"), shipped=None)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, consensus, store):
    """Every injector run once: name -> (detected, diagnosed exactly, what was found, the
    findings as JSON, their path). Every case the checks ask for is kept in ``store``."""
    folder = tmp_path_factory.mktemp("injected")
    out = {}
    for injector in REGISTRY:
        path = folder / f"{injector.name}.py"
        path.write_text(injector.source())
        result = check_path(str(path), Options(cases=store), consensus)
        found = errors(result)
        out[injector.name] = (result.verdict == "fail", found == injector.expect, found, as_json(result), path)
    return out


@pytest.mark.parametrize("injector", REGISTRY, ids=[i.name for i in REGISTRY])
def test_injected_defect_is_detected(injector, outcomes):
    detected, _, found, _, _ = outcomes[injector.name]
    assert detected, f"{injector.name} passed: {found}"


def test_every_injector_is_detected_and_diagnosed_exactly(outcomes):
    total = len(outcomes)
    undetected = sorted(name for name, (detected, *_) in outcomes.items() if not detected)
    expected = {injector.name: injector.expect for injector in REGISTRY}
    misdiagnosed = {name: {"expected": sorted(expected[name], key=str), "found": sorted(found, key=str)}
                    for name, (_, exact, found, *_) in outcomes.items() if not exact}
    assert total == len(REGISTRY), "two injectors share a name"
    assert not undetected, f"detected {total - len(undetected)}/{total}; missed: {undetected}"
    assert not misdiagnosed, f"diagnosed exactly {total - len(misdiagnosed)}/{total}; wrong: {misdiagnosed}"


@dataclass
class StoreOnly(Consensus):
    """A consensus that notes every graph the store could not answer."""

    misses: list = field(default_factory=list)

    def _evaluate(self, graph):
        self.misses.append(graph.describe())
        return super()._evaluate(graph)


# One injector per design and kind of counterexample (a forward value, a defect fingerprinted
# from numbers, a walk's order, a seed): each found by a search Hypothesis shrank. A sample, not
# the registry: every re-check costs a full check, and these are the slowest ones.
SHRUNK = ("exp-forward", "it-sub-sign", "it-bfs", "tape-mul-overwrite", "tape-no-visited",
          "topo-not-reversed", "no-seed")


def test_the_store_changes_no_finding_and_no_counterexample(outcomes, store):
    """Injectors whose findings carry a counterexample, checked again with every sequence and
    answer read back from the store -- no in-memory sharing, no oracle asked -- find exactly
    what the first check found, counterexamples included."""
    def counterexamples(name):
        return sum("case" in (json.loads(f)["evidence"] or {}) for f in outcomes[name][3])

    assert all(counterexamples(name) for name in SHRUNK), {n: counterexamples(n) for n in SHRUNK}
    again = StoreOnly(share=False)
    differ = {}
    for name in SHRUNK:
        result = check_path(str(outcomes[name][4]), Options(cases=store, settings=CheckSettings(share=False)),
                            again)
        if as_json(result) != outcomes[name][3]:
            differ[name] = sorted(set(as_json(result)) ^ set(outcomes[name][3]))
    assert not again.misses, f"{len(again.misses)} answers were not in the store: {again.misses[:3]}"
    assert not differ, f"{len(differ)}/{len(SHRUNK)} differ: {differ}"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_correct_variant_has_no_error(name, tmp_path, consensus):
    path = tmp_path / f"{name}.py"
    path.write_text(VARIANTS[name])
    result = check_path(str(path), Options(), consensus)
    assert errors(result) == frozenset(), [f.message for f in result.findings]


def test_registry_is_broad_enough():
    assert len(REGISTRY) >= 25
    assert {i.design for i in REGISTRY} == set(DESIGNS)
    assert len(VARIANTS) >= 8
