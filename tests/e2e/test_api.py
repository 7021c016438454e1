"""The Python API: classes and paths, as a learner would call it from a notebook."""

import sys
import types

import pytest

from gradcheck import UsageError, check
from gradcheck.loader import session_submission
from gradcheck.runner import Options, check_submission

from conftest import REFERENCE


def test_check_an_installed_class():
    import micrograd.engine

    result = check(micrograd.engine.Value, examples=20)
    assert result.verdict == "pass"
    assert "pass" in result._repr_html_()


def test_check_a_class_from_a_file(tmp_path, monkeypatch):
    path = tmp_path / "student_engine.py"
    path.write_text((REFERENCE / "seed_003.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    import student_engine

    result = check(student_engine.Value, examples=20)
    assert ("grad-overwrite", "exp") in result.codes()


def test_a_session_is_checked_from_its_cells():
    cells = ["import math", (REFERENCE / "correct_full.py").read_text().split('"""', 2)[2],
             "x = Value(2.0)\n(x * x).backward()", "import gradcheck\ngradcheck.check(Value)"]
    sub = session_submission(cells)
    assert [u.cell for u in sub.units] == [1, 2, 3]  # the cell calling gradcheck is left out
    result = check_submission(sub, Options(class_name="Value"))
    assert result.verdict == "pass"


def test_interactive_class_without_ipython_is_a_clear_usage_error():
    module = types.ModuleType("__main__")
    exec("class Value:\n    pass\n", module.__dict__)
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = module
    try:
        with pytest.raises(UsageError, match="defined interactively"):
            check(module.Value)
    finally:
        sys.modules["__main__"] = saved


def test_wrong_argument_type():
    with pytest.raises(UsageError, match="takes a class or a path"):
        check(42)


def test_imported_value_is_named_as_such(tmp_path):
    path = tmp_path / "lazy.py"
    path.write_text("from micrograd.engine import Value\n")
    result = check(path)
    assert result.findings[0].code == "load-error"
    assert "imported from `micrograd.engine`" in result.findings[0].message
