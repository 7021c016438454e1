"""Shapes of code learners really write (issue 11), each a small subject of our own with the
exact findings it must get."""

from gradcheck.runner import Options, check_path

from conftest import REFERENCE

CORRECT = (REFERENCE / "correct_full.py").read_text()


def edited(tmp_path, name, old, new):
    assert old in CORRECT, old
    path = tmp_path / f"{name}.py"
    path.write_text(CORRECT.replace(old, new, 1))
    return path


def test_a_crash_inside_backward_names_the_line_that_raised(tmp_path, consensus):
    path = edited(tmp_path, "crash_in_backward", "        for v in reversed(topo):\n            v._backward()",
                  "        for v in reversed(topo):\n            if v._op == 'tanh':\n"
                  "                undefined_helper(v)\n            v._backward()")
    result = check_path(str(path), Options(), consensus)
    errors = [f for f in result.findings if f.severity == "error"]
    assert [(f.code, f.op) for f in errors] == [("gradient-mismatch", "tanh")]
    assert errors[0].location is not None and errors[0].location.text == "undefined_helper(v)"
