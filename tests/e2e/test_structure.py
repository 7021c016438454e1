"""The structure check (gradcheck/checks/structure.py) beyond the learner corpus: a broken
primitive's None closure seen again in the ops built from it is reported once, on the primitive;
a closure never stored anywhere is named as such; values that compare by data but are walked by
identity are not a defect."""

import pytest

from gradcheck.runner import Options, check_path

BASE = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(inputs)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node._prev:
                    visit(child)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
'''

VARIANTS = {
    "correct": BASE,
    # `__eq__`/`__hash__` on data, but inputs in a tuple and a visited set of ids: nothing merges
    "eq_by_data_walked_by_id": BASE.replace("    def __add__(self, other):", """\
    def __eq__(self, other):
        return isinstance(other, Value) and self.data == other.data

    def __hash__(self):
        return hash(self.data)

    def __add__(self, other):""", 1),
    # mul's closure called at build time; neg (a * -1) and sub (a + (-b)) run it too
    "mul_called_at_build": BASE.replace("""\
            other.grad += self.data * out.grad
        out._backward = _backward
""", """\
            other.grad += self.data * out.grad
        out._backward = _backward()
"""),
    # tanh's closure is defined and then forgotten
    "tanh_closure_never_stored": BASE.replace("""\
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
""", """\
            self.grad += (1 - t * t) * out.grad
"""),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, consensus):
    folder = tmp_path_factory.mktemp("structure")
    out = {}
    for name, source in VARIANTS.items():
        assert source != BASE or name == "correct", f"{name}: the replacement did not apply"
        path = folder / f"{name}.py"
        path.write_text(source)
        out[name] = check_path(str(path), Options(), consensus)
    return out


def serious(result):
    return {(f.code, f.op): f for f in result.findings if f.severity in ("error", "warning")}


@pytest.mark.parametrize("name", ["correct", "eq_by_data_walked_by_id"])
def test_no_false_alarm(name, results):
    assert results[name].verdict == "pass", [f.message for f in results[name].findings]


def test_a_primitive_called_at_build_is_reported_once_with_its_heirs(results):
    found = serious(results["mul_called_at_build"])
    assert set(found) == {("closure-called-at-build", "mul")}
    finding = found[("closure-called-at-build", "mul")]
    assert finding.inherited_by == ["neg", "sub"]
    assert finding.location.text == "out._backward = _backward()"
    cells = results["mul_called_at_build"].coverage
    assert cells["mul"]["local rule"][0] == "fail" and cells["add"]["local rule"][0] == "pass"


def test_a_closure_never_stored_is_named_on_its_op(results):
    found = serious(results["tanh_closure_never_stored"])
    assert set(found) == {("closure-not-attached", "tanh")}
    finding = found[("closure-not-attached", "tanh")]
    assert finding.evidence["stored_in"] is None and finding.evidence["closure"] == "_backward"
