"""The source scan that flags code reaching into the interpreter (a warning for the instructor),
read from gradcheck's copy and never run."""

from pathlib import Path

import pytest

from gradcheck.checks.conduct import introspection_findings
from gradcheck.findings import WARNING
from gradcheck.loader import Submission, Unit

from conftest import REFERENCE


def submission(code: str) -> Submission:
    unit = Unit(label="x.py", filename="/submission/x.py", code=code)
    return Submission(path=Path("x.py"), kind="file", units=[unit], files={"x.py": code.encode()})


@pytest.mark.parametrize("code, line", [
    ("for c in object.__subclasses__():\n    pass\n", 1),
    ("import sys\nf = sys._getframe()\nwhile f:\n    f = f.f_back\n", 2),
    ("x = 1\nimport json\njson.loads = lambda s: {}\n", 3),
    ("import gc\nobjs = gc.get_objects()\n", 2),
    ("def f():\n    pass\nf.__code__ = (lambda: 1).__code__\n", 3),
])
def test_reaching_code_is_a_warning_at_its_line(code, line):
    (finding,) = introspection_findings(submission(code))
    assert (finding.code, finding.severity, finding.location.line) == ("tampering", WARNING, line)


def test_a_plain_value_class_is_not_flagged():
    assert introspection_findings(submission((REFERENCE / "correct_full.py").read_text())) == []
    # rebinding an attribute of its own objects, or of a class it imported by name, is fine
    assert introspection_findings(submission(
        "from math import tanh\nclass Value:\n    pass\nValue.__radd__ = lambda s, o: s\n"
        "v = Value()\nv.grad = 0.0\n")) == []
