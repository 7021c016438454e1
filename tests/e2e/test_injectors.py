"""Diagnosis accuracy on the bug-injector registry, and false alarms on correct variants.

Acceptance: every injected defect detected and diagnosed exactly (the set of error findings,
code and op, equals the injector's), no error on any correct variant. The bar is what is
measured (36/36): a lower one would let a regression in one diagnosis through unnoticed.
"""

import pytest

from gradcheck.runner import Options, check_path

from subjects.injectors import DESIGNS, REGISTRY
from subjects.variants import VARIANTS


def errors(result):
    return frozenset((f.code, f.op) for f in result.findings if f.severity == "error")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, consensus):
    """Every injector run once: name -> (detected, diagnosed exactly, what was found)."""
    folder = tmp_path_factory.mktemp("injected")
    out = {}
    for injector in REGISTRY:
        path = folder / f"{injector.name}.py"
        path.write_text(injector.source())
        result = check_path(str(path), Options(), consensus)
        found = errors(result)
        out[injector.name] = (result.verdict == "fail", found == injector.expect, found)
    return out


@pytest.mark.parametrize("injector", REGISTRY, ids=[i.name for i in REGISTRY])
def test_injected_defect_is_detected(injector, outcomes):
    detected, _, found = outcomes[injector.name]
    assert detected, f"{injector.name} passed: {found}"


def test_every_injector_is_detected_and_diagnosed_exactly(outcomes):
    total = len(outcomes)
    undetected = sorted(name for name, (detected, _, _) in outcomes.items() if not detected)
    expected = {injector.name: injector.expect for injector in REGISTRY}
    misdiagnosed = {name: {"expected": sorted(expected[name], key=str), "found": sorted(found, key=str)}
                    for name, (_, exact, found) in outcomes.items() if not exact}
    assert total == len(REGISTRY), "two injectors share a name"
    assert not undetected, f"detected {total - len(undetected)}/{total}; missed: {undetected}"
    assert not misdiagnosed, f"diagnosed exactly {total - len(misdiagnosed)}/{total}; wrong: {misdiagnosed}"


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
