"""Leaves come from a continuous range: a derivative right only on a grid of "round" inputs is
caught, and the shrunk counterexample still reads as round numbers."""

from hypothesis import strategies as st

from gradcheck.checks import CheckSettings, generate
from gradcheck.runner import Options, check_path

from subjects.dodges import OFF_GRID

# No shared case sequences: the control below swaps the leaf strategy within this process.
UNSHARED = Options(settings=CheckSettings(share=False))


def check_off_grid(tmp_path, consensus):
    path = tmp_path / "off_grid.py"
    path.write_text(OFF_GRID)
    return check_path(str(path), UNSHARED, consensus)


def test_a_derivative_wrong_only_off_the_grid_is_caught(tmp_path, consensus):
    result = check_off_grid(tmp_path, consensus)
    assert result.verdict == "fail"
    blamed = [f for f in result.findings if f.severity == "error"]
    assert [f.op for f in blamed] == ["tanh"], [(f.code, f.op) for f in blamed]
    leaves = [n["data"] for n in blamed[0].evidence["graph"]["nodes"] if n["op"] is None]
    assert any(round(x, 2) != x for x in leaves), leaves  # the grid alone cannot show it
    # shrunk to a short binary fraction (0.125, 1.5, ...), not 1.2637261829577104
    assert all(float(x).as_integer_ratio()[1] <= 1024 for x in leaves), leaves


def test_the_same_subject_passes_when_leaves_sit_on_the_grid(tmp_path, consensus, monkeypatch):
    """The control: the old generator (multiples of 0.01) never sees the defect."""
    monkeypatch.setattr(generate, "leaf_values", lambda: st.integers(-300, 300).map(lambda i: i / 100))
    result = check_off_grid(tmp_path, consensus)
    assert result.verdict == "pass", [(f.code, f.op) for f in result.findings]
