"""A marimo notebook (a .py of @app.cell functions; marimo itself is not installed) is checked
as a notebook: its cells run in order, the class a cell returns is the subject, and findings point
at lines of the .py file. The correct case is s19 in the learner corpus."""

import pytest

from gradcheck.runner import Options, check_path

# the class cell comes before the cell that imports math; a last cell uses marimo's `mo`, which
# the sandbox lacks (a note, not a finding); `__add__`'s closure assigns with `=`
BUGGY = '''\
import marimo

__generated_with = "0.9.14"
app = marimo.App(width="medium")


@app.cell
def _(math):
    class Value:
        def __init__(self, data, inputs=(), op=""):
            self.data = data
            self.grad = 0.0
            self._prev = set(inputs)
            self._backward = lambda: None

        def __add__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            total = Value(self.data + other.data, (self, other), "+")

            def push():
                self.grad = total.grad
                other.grad += total.grad
            total._backward = push
            return total

        def __mul__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            product = Value(self.data * other.data, (self, other), "*")

            def push():
                self.grad += other.data * product.grad
                other.grad += self.data * product.grad
            product._backward = push
            return product

        def tanh(self):
            squashed = math.tanh(self.data)
            result = Value(squashed, (self,), "tanh")

            def push():
                self.grad += (1.0 - squashed * squashed) * result.grad
            result._backward = push
            return result

        def backward(self):
            order, seen = [], set()

            def visit(node):
                if node not in seen:
                    seen.add(node)
                    for parent in node._prev:
                        visit(parent)
                    order.append(node)
            visit(self)
            self.grad = 1.0
            for node in reversed(order):
                node._backward()
    return (Value,)


@app.cell
def _():
    import marimo as mo
    import math
    return math, mo


@app.cell
def _(mo):
    mo.md("# my autograd")
    return


if __name__ == "__main__":
    app.run()
'''
OVERWRITE_LINE = 21


@pytest.fixture(scope="module")
def result(tmp_path_factory, consensus):
    path = tmp_path_factory.mktemp("marimo") / "autograd.py"
    path.write_text(BUGGY)
    return path, check_path(str(path), Options(), consensus)


def test_the_bug_in_a_cell_is_named_exactly(result):
    _, checked = result
    serious = {(f.code, f.op) for f in checked.findings if f.severity in ("error", "warning")}
    assert serious == {("grad-overwrite", "add")}, [f.message for f in checked.findings]
    assert checked.capabilities["class_name"] == "Value"


def test_the_finding_points_at_the_line_of_the_py_file(result):
    path, checked = result
    (finding,) = [f for f in checked.findings if f.code == "grad-overwrite"]
    loc = finding.location
    assert (loc.file, loc.line, loc.cell) == (str(path), OVERWRITE_LINE, None)
    assert BUGGY.splitlines()[OVERWRITE_LINE - 1].strip() == loc.text == "self.grad = total.grad"
    assert dict(loc.context)[OVERWRITE_LINE] == BUGGY.splitlines()[OVERWRITE_LINE - 1]
