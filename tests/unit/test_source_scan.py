"""An op's method indented one level too deep (inside another method) is named at its line; a
nested helper that is not a misplaced method is not. Read from the source, never run: the
class's capabilities are given here as the worker would have found them."""

import textwrap
from pathlib import Path

from gradcheck.capabilities import Capabilities
from gradcheck.checks.source_scan import misplaced_method_findings
from gradcheck.findings import WARNING
from gradcheck.loader import Submission, Unit
from gradcheck.ops import OPS

SOURCE = textwrap.dedent('''\
    import math


    class Value:
        def __init__(self, data):
            self.data = data

            def exp(x):  # a helper taking a number: deliberate, whatever its name
                return math.exp(x)
            self.e = exp(data)

        def __add__(self, other):
            return Value(self.data + other.data)

        def backward(self):
            for node in []:
                node._backward()

            def __neg__(self):
                return self * -1

            if True:
                def __sub__(self, other):
                    return self + (-other)

            def helper(self):  # not an op's method
                return self

            def visit(node):
                def __radd__(self, other):  # inside a nested function: another scope
                    return self
            return visit
    ''')


def submission(code: str = SOURCE) -> Submission:
    unit = Unit(label="x.py", filename="/submission/x.py", code=code)
    return Submission(path=Path("x.py"), kind="file", units=[unit], files={"x.py": code.encode()})


def caps(present=("add",), class_name="Value", init_line=5) -> Capabilities:
    return Capabilities(class_name=class_name, ops={op.name: op.name in present for op in OPS},
                        methods={"__init__": {"file": "/submission/x.py", "line": init_line}})


def test_each_op_method_written_inside_another_method_is_a_warning_at_its_def():
    found = misplaced_method_findings(submission(), caps())
    assert [(f.code, f.op, f.severity, f.location.line, f.location.text) for f in found] == [
        ("misplaced-method", "neg", WARNING, 19, "def __neg__(self):"),
        ("misplaced-method", "sub", WARNING, 23, "def __sub__(self, other):")]
    assert found[0].evidence["inside"] == "backward"


def test_a_method_the_class_has_after_all_is_not_reported():
    """`Value.__neg__ = ...` later in a notebook: the worker's class has it."""
    found = misplaced_method_findings(submission(), caps(present=("add", "neg", "sub")))
    assert found == []


def test_nothing_without_a_subject_class():
    assert misplaced_method_findings(submission(), None) == []
    assert misplaced_method_findings(submission(), caps(class_name="Tensor")) == []


def test_the_class_the_worker_checked_is_the_one_scanned():
    """Two classes of the same name (a notebook's evolution): the methods' lines pick one."""
    earlier = "class Value:\n    def __init__(self, data):\n        def __neg__(self):\n            pass\n\n"
    code = earlier + SOURCE
    shifted = len(earlier.splitlines())
    assert misplaced_method_findings(submission(code), caps(init_line=2))[0].location.line == 3
    lines = [f.location.line for f in misplaced_method_findings(submission(code),
                                                                 caps(init_line=5 + shifted))]
    assert lines == [19 + shifted, 23 + shifted]


def test_a_method_the_class_has_counts_even_when_its_op_was_not_taken():
    """`__pow__` that refuses a number exponent: the op is not supported, the method exists."""
    code = ("class Value:\n    def __init__(self, data):\n        def __pow__(self, other):\n"
            "            pass\n\n    def __pow__(self, other):\n        pass\n")
    checked = caps(init_line=2)
    checked.methods["__pow__"] = {"file": "/submission/x.py", "line": 6}
    assert misplaced_method_findings(submission(code), checked) == []
    del checked.methods["__pow__"]
    assert [f.op for f in misplaced_method_findings(submission(code), checked)] == ["pow"]
