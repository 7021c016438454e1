"""What the end-to-end search shrinks: only failures whose smallest form tells something.

A subject without observable closures (a tape) is searched op by op. Once a primitive has
failed, the ops usually built from it (``neg = a * -1``) fail through it on nearly every graph:
their first failures are kept as generated rather than shrunk, and the diagnosis is the one that
shrinking each of them gave -- including an heir's own defect, named from the heir alone.

A subject whose new values start with a gradient compares forward values only: every gradient
would carry that start, which its own finding already names."""

import pytest

import gradcheck.checks.property_search as property_search
from gradcheck.checks import CheckSettings
from gradcheck.runner import Options, check_path

from subjects.injectors import DESIGNS, REGISTRY

STARTS_AT_ONE = next(i for i in REGISTRY if i.name == "grad-starts-at-one")
MUL_OVERWRITES = next(i for i in REGISTRY if i.name == "tape-mul-overwrite")
# the tape's own negation, with the sign of its derivative wrong: not built from mul any more
OWN_NEG = ("    def __neg__(self):\n        return self * -1\n",
           '    def __neg__(self):\n        return Var(-self.data, ("neg", ((self, 1.0),)))\n')


@pytest.fixture
def shrinks(monkeypatch):
    """The focus of every search Hypothesis shrinks, in order."""
    focuses = []
    shrink = property_search.shrunk_failure

    def counted(run, ops, focus):
        focuses.append(focus)
        return shrink(run, ops, focus)

    monkeypatch.setattr(property_search, "shrunk_failure", counted)
    return focuses


def _errors(result):
    return {(f.code, f.op): f for f in result.findings if f.severity == "error"}


def test_only_the_failed_primitive_is_shrunk(tmp_path, consensus, shrinks):
    path = tmp_path / "tape.py"
    path.write_text(MUL_OVERWRITES.source())
    found = _errors(check_path(str(path), Options(), consensus))
    assert found.keys() == {("grad-overwrite", "mul")}
    mul = found["grad-overwrite", "mul"]
    assert mul.inherited_by == ["neg", "rmul", "rsub", "sub", "truediv"]
    assert mul.evidence["case"] == "a = Value(1.0); n1 = a * a"
    assert "shrunk" not in mul.evidence  # the primitive's own case is the smallest one
    assert shrinks == ["mul"]


def test_an_heirs_own_defect_is_still_named(tmp_path, consensus, shrinks):
    """``neg`` has a rule of its own, with a wrong sign (the op table still has it built from
    ``mul``, so it is not shrunk either): the overwriting ``mul`` does not hide it."""
    source = MUL_OVERWRITES.source()
    assert source.count(OWN_NEG[0]) == 1 and DESIGNS["tape"].count(OWN_NEG[0]) == 1
    path = tmp_path / "tape.py"
    path.write_text(source.replace(*OWN_NEG))
    found = _errors(check_path(str(path), Options(), consensus))
    assert found.keys() == {("grad-overwrite", "mul"), ("wrong-derivative", "neg")}
    assert shrinks == ["mul"]


def test_values_that_start_with_a_gradient_are_searched_on_forward_values(tmp_path, consensus, shrinks):
    path = tmp_path / "starts_at_one.py"
    path.write_text(STARTS_AT_ONE.source())
    result = check_path(str(path), Options(), consensus)
    assert _errors(result).keys() == {("grad-seed", None)}
    assert _errors(result)["grad-seed", None].evidence == {"initial_grad": 1.0}
    assert any(note.startswith("end-to-end: forward values only") for note in result.notes), result.notes
    assert result.stats["cases"] >= CheckSettings().examples  # every generated graph was still run
    assert shrinks == []
