"""Diagnosis accuracy on the bug-injector registry, and false alarms on correct variants.

Acceptance (issue 3): 100% of injected defects detected, >= 95% diagnosed exactly (the set of
error findings, code and op, equals the injector's), no error on any correct variant.
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


def test_diagnosis_accuracy(outcomes):
    wrong = {name: sorted(found, key=str) for name, (_, exact, found) in outcomes.items() if not exact}
    rate = 1 - len(wrong) / len(outcomes)
    print(f"\ndiagnosed exactly: {len(outcomes) - len(wrong)}/{len(outcomes)} = {rate:.1%}; wrong: {wrong}")
    assert rate >= 0.95, wrong


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
