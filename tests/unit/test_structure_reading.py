"""How the structure check reads an op's method (checks/method_source.py) and which generated
failures it explains (checks/structure.py), on source text and evidence written here."""

from gradcheck.checks.method_source import read_method
from gradcheck.checks.structure import StructureOutcome
from gradcheck.findings import Finding

SOURCE = '''\
class Value:
    def __mul__(self, other):
        product = Value(self.data * other.data, (self, other))

        def push():
            self.grad = other.data * product.grad
            other.grad += self.data * product.grad
        product._backward = push()
        return product

    def tanh(self):
        def helper(x):
            return x * 2
        result = Value(helper(self.data), (self,))

        def push():
            self.grad += result.grad
        result.backward = push
        return result

    def relu(self):
        return Value(max(0.0, self.data))
'''


def test_a_closure_called_at_build_and_its_overwrite_are_read():
    reading = read_method(SOURCE, 2, "grad")
    assert reading.closures == {"push": 5}
    (store,) = reading.stores
    assert (store.owner, store.attr, store.value, store.called, store.line) == ("product", "_backward", "push", True, 8)
    writes = reading.grad_writes["push"]
    assert [(w.owner, w.assigns, w.line) for w in writes] == [("self", True, 6), ("other", False, 7)]
    assert (reading.result_line, reading.result_text) == (3, "product = Value(self.data * other.data, (self, other))")


def test_a_closure_stored_elsewhere_is_not_attached_and_helpers_are_not_closures():
    reading = read_method(SOURCE, 11, "grad")
    assert list(reading.closures) == ["push"]  # helper writes no gradient
    assert not reading.stored("push", "_backward") and reading.stored("push", "backward")


def test_the_line_building_a_returned_value():
    reading = read_method(SOURCE, 21, "grad")
    assert (reading.result_line, reading.closures) == (22, {})


def _mismatch(data: list[float]) -> Finding:
    return Finding("gradient-mismatch", "m", evidence={"graph": {"nodes": [{"data": d} for d in data]}})


def test_node_identity_explains_only_cases_with_equal_data():
    outcome = StructureOutcome(node_identity=True)
    assert outcome.explains(_mismatch([1.0, 2.0, 1.0]))
    assert not outcome.explains(_mismatch([1.0, 2.0, 3.0]))
    assert not StructureOutcome().explains(_mismatch([1.0, 1.0]))
