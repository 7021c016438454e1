"""Diagnosis accuracy on the bug-injector registry, and false alarms on correct variants."""

import pytest
from subjects.injectors import DESIGNS, REGISTRY
from subjects.variants import VARIANTS

from gradcheck.runner import Options, check_path

RESULTS: dict[str, tuple[bool, bool]] = {}


def errors(result):
    return frozenset((f.code, f.op) for f in result.findings if f.severity == "error")


@pytest.mark.parametrize("injector", REGISTRY, ids=[i.name for i in REGISTRY])
def test_injected_defect_is_detected_and_named(injector, tmp_path, consensus):
    path = tmp_path / f"{injector.name}.py"
    path.write_text(injector.source())
    result = check_path(str(path), Options(), consensus)
    found = errors(result)
    RESULTS[injector.name] = (result.verdict == "fail", found == injector.expect)
    assert result.verdict == "fail", "not detected"
    assert found == injector.expect


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
