"""Loading real learner material: notebooks with magics and drawing, odd names, broken files."""

import nbformat
import pytest

from gradcheck.runner import Options, check_path

from conftest import REFERENCE

CORRECT = (REFERENCE / "correct_full.py").read_text()
CLASS_ONLY = CORRECT.split('"""', 2)[2]


def notebook(tmp_path, *cells, name="hw.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    return str(path)


def codes(result):
    return {(f.code, f.op) for f in result.findings if f.severity == "error"}


def test_notebook_with_magics_drawing_torch_and_training(tmp_path, consensus):
    path = notebook(
        tmp_path,
        "%matplotlib inline\n!pip install graphviz\nimport math",
        "from graph import draw_dot  # a local helper that is not there",
        CLASS_ONLY,
        "get_ipython().run_line_magic('time', '1')\nx = Value(2.0); y = x * 3; y.backward()\ndraw_dot(y)",
        "import torch\nt = torch.tensor([2.0], requires_grad=True)\n(t * 3).sum().backward()",
        "for step in range(3):\n    loss = (Value(1.0) * 2) ** 2\n    loss.backward()\nprint('trained')",
    )
    result = check_path(path, Options(), consensus)
    assert result.verdict == "pass", result.findings
    assert "trained" in result.output
    assert any("draw_dot" in n or "graph" in n for n in result.notes)


def test_class_extended_later_by_assignment_is_honoured(tmp_path, consensus):
    base = CLASS_ONLY.replace("    def __radd__(self, other):  # other + self\n        return self + other\n", "")
    assert base != CLASS_ONLY
    path = notebook(tmp_path, base, "def radd(self, other):\n    return self + other\nValue.__radd__ = radd")
    result = check_path(path, Options(), consensus)
    assert ("unsupported-op", "radd") not in {(f.code, f.op) for f in result.findings}
    assert result.verdict == "pass"


def test_last_definition_wins(tmp_path, consensus):
    broken = CLASS_ONLY.replace("self.grad += out.data * out.grad", "self.grad = out.data * out.grad")
    path = notebook(tmp_path, broken, CLASS_ONLY)
    assert check_path(path, Options(), consensus).verdict == "pass"
    path = notebook(tmp_path, CLASS_ONLY, broken, name="b.ipynb")
    assert ("grad-overwrite", "exp") in codes(check_path(path, Options(), consensus))


def test_backward_from_a_notebook_global_is_named(tmp_path, consensus):
    global_topo = CLASS_ONLY.replace("        build_topo(self)\n        self.grad = 1.0",
                                     "        build_topo(o)\n        self.grad = 1.0")
    assert global_topo != CLASS_ONLY
    path = notebook(tmp_path, global_topo, "a = Value(1.0); o = a * 2")
    result = check_path(path, Options(), consensus)
    topo = [f for f in result.findings if f.code == "topo-incomplete"]
    assert topo and "`o`" in topo[0].message and "self" in topo[0].message


def test_unusual_names_are_found_by_probing(tmp_path, consensus):
    src = (REFERENCE / "correct_iterative.py").read_text()
    renamed = (src.replace("class Scalar", "class value").replace("Scalar", "value")
               .replace("_children", "came_from").replace("def backprop", "def runbackpropagation"))
    path = tmp_path / "odd.py"
    path.write_text(renamed)
    result = check_path(str(path), Options(), consensus)
    assert result.verdict == "pass", result.findings
    caps = result.capabilities
    assert (caps["class_name"], caps["inputs_attr"], caps["backward"]) == ("value", "came_from", "runbackpropagation")


def test_syntax_error_is_a_load_error_with_the_line(tmp_path, consensus):
    path = tmp_path / "bad.py"
    path.write_text("class Value:\n    def __add__(self, other)\n        return self\n")
    result = check_path(str(path), Options(), consensus)
    f = result.findings[0]
    assert f.code == "load-error" and f.location.line == 2 and "SyntaxError" in f.message


def test_a_statement_only_a_function_may_hold_skips_itself_not_the_file(tmp_path, consensus):
    """`return` at top level (a notebook cell pasted from a function) fails alone."""
    path = tmp_path / "stray_return.py"
    path.write_text((REFERENCE / "correct_full.py").read_text() + "\nreturn 5\n")
    result = check_path(str(path), Options(), consensus)
    assert result.verdict == "pass", [f.message for f in result.findings]
    assert any("'return' outside function" in n for n in result.notes)


def test_a_typo_is_not_called_newer_syntax(tmp_path, consensus):
    path = tmp_path / "typo.py"
    path.write_text("class Value:\n    def __add__(self, other):\n        return self +* other\n")
    result = check_path(str(path), Options(), consensus)
    assert result.findings[0].code == "load-error" and "newer Python" not in result.findings[0].message


def test_newer_python_syntax_says_so(tmp_path, consensus):
    path = tmp_path / "py312.py"
    path.write_text('class Value:\n    def __repr__(self):\n        return f"{"x"}"\n'
                    '    def __add__(self, o): return self\n    def __mul__(self, o): return self\n')
    result = check_path(str(path), Options(), consensus)
    assert result.findings[0].code == "load-error"
    assert "newer Python" in result.findings[0].message and "--python" in result.findings[0].message


def test_no_value_like_class(tmp_path, consensus):
    path = tmp_path / "nothing.py"
    path.write_text("class Neuron:\n    def __init__(self, nin):\n        self.w = list(range(nin))\n")
    result = check_path(str(path), Options(), consensus)
    assert result.findings[0].code == "load-error"
    assert "no Value-like class found" in result.findings[0].message


@pytest.mark.parametrize("exit_stmt", ["import sys; sys.exit(0)", "raise SystemExit(3)"])
def test_exit_at_import_does_not_stop_loading(tmp_path, consensus, exit_stmt):
    path = tmp_path / "exits.py"
    path.write_text(CLASS_ONLY + "\n" + exit_stmt + "\n")
    assert check_path(str(path), Options(), consensus).verdict == "pass"
