"""Learner-pattern subjects: small Value classes written here, each showing one pattern found by
reading public learners' micrograd implementations (issue 11). Sources only, as data; their
exact expected findings are in tests/e2e/test_learner_corpus.py, for the patterns gradcheck
handles. Written in our own words: no learner's code is copied.
"""

SOURCES: dict[str, str] = {}

SOURCES['s01_closure_called_at_build'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
            other.grad += total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad += other.data * product.grad
            other.grad += self.data * product.grad
        product._backward = push()
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
'''

SOURCES['s02_closure_called_hides_overwrite'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
            other.grad += total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad = other.data * product.grad
            other.grad = self.data * product.grad
        product._backward = push()
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
'''

SOURCES['s03_math_missing_hides_overwrite'] = '''\
class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
            self.grad = (1.0 - squashed * squashed) * result.grad
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
'''

SOURCES['s04_no_coercion_breaks_composites'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
            other.grad += total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad += other.data * product.grad
            other.grad += self.data * product.grad
        product._backward = push
        return product

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

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
'''

SOURCES['s05_grad_used_for_data'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
            other.grad += total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad += other.grad * product.grad
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
'''

SOURCES['s06_power_for_times'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
            other.grad += total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad += other.data * product.grad
            other.grad += self.data ** product.grad
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
'''

SOURCES['s07_children_not_a_tuple'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def relu(self):
        clipped = Value(self.data if self.data > 0 else 0.0, (self), "relu")

        def push():
            self.grad += (clipped.data > 0) * clipped.grad
        clipped._backward = push
        return clipped

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
'''

SOURCES['s08_methods_nested_in_backward'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

        def __neg__(self):
            return self * -1

        def __sub__(self, other):
            return self + (-other)

        def __radd__(self, other):
            return self + other
'''

SOURCES['s09_rsub_parameters_swapped'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rsub__(other, self):
        return other + (-self)

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
'''

SOURCES['s10_op_returns_none'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def relu(self):
        clipped = Value(max(0.0, self.data), (self,), "relu")

        def push():
            self.grad += (clipped.data > 0) * clipped.grad
        clipped._backward = push

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
'''

SOURCES['s11_unusual_names_correct'] = '''\
import math


class Scalar:
    def __init__(self, value, sources=(), tag=""):
        self.value = value
        self.grade = 0.0
        self._ins = set(sources)
        self._tag = tag
        self._bck = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        total = Scalar(self.value + other.value, (self, other), "+")

        def push():
            self.grade += total.grade
            other.grade += total.grade
        total._bck = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        product = Scalar(self.value * other.value, (self, other), "*")

        def push():
            self.grade += other.value * product.grade
            other.grade += self.value * product.grade
        product._bck = push
        return product

    def tanh(self):
        squashed = math.tanh(self.value)
        result = Scalar(squashed, (self,), "tanh")

        def push():
            self.grade += (1.0 - squashed * squashed) * result.grade
        result._bck = push
        return result

    def back(self):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for parent in node._ins:
                    visit(parent)
                order.append(node)
        visit(self)
        self.grade = 1.0
        for node in reversed(order):
            node._bck()
'''

SOURCES['s12a_local_slopes_correct'] = '''\
import math


class Value:
    """Each node keeps its inputs and the local derivative towards each; no closures."""

    __slots__ = ("data", "grad", "_inputs", "_slopes")

    def __init__(self, data, inputs=(), slopes=()):
        self.data = data
        self.grad = 0.0
        self._inputs = inputs
        self._slopes = slopes

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,))

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._inputs:
                    visit(parent)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            for parent, slope in zip(node._inputs, node._slopes):
                parent.grad += slope * node.grad
'''

SOURCES['s12b_local_slopes_wrong_pow'] = '''\
import math


class Value:
    """Each node keeps its inputs and the local derivative towards each; no closures."""

    __slots__ = ("data", "grad", "_inputs", "_slopes")

    def __init__(self, data, inputs=(), slopes=()):
        self.data = data
        self.grad = 0.0
        self._inputs = inputs
        self._slopes = slopes

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):
        return Value(self.data ** k, (self,), (k * self.data ** k,))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,))

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._inputs:
                    visit(parent)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            for parent, slope in zip(node._inputs, node._slopes):
                parent.grad += slope * node.grad
'''

SOURCES['s13_topo_append_inside_loop'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
'''

SOURCES['s14_no_seed'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
        # self.grad = 1.0
        for node in reversed(order):
            node._backward()
'''

SOURCES['s15_per_node_recursion'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def backward(self, root=True):
        if root:
            self.grad = 1.0
        self._backward()
        for parent in self._prev:
            parent.backward(root=False)
'''

SOURCES['s16_op_records_no_inputs'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def relu(self):
        clipped = Value(max(0.0, self.data))

        def push():
            self.grad += (clipped.data > 0) * clipped.grad
        clipped._backward = push
        return clipped

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
'''

SOURCES['s17_equality_by_value'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __eq__(self, other):
        return isinstance(other, Value) and self.data == other.data

    def __hash__(self):
        return hash(self.data)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
'''

SOURCES['s18_stub_not_implemented'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
        raise NotImplementedError("TODO: tanh")

    def exp(self):
        raise NotImplementedError("TODO: exp")

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
'''

SOURCES['s19_marimo_cells'] = '''\
import marimo

app = marimo.App()


@app.cell
def _():
    import math
    return (math,)


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
                self.grad += total.grad
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


if __name__ == "__main__":
    app.run()
'''

SOURCES['s20_spelled_out_accumulate'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad = self.grad + total.grad
            other.grad = total.grad
        total._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other), "*")

        def push():
            self.grad = self.grad + other.data * product.grad
            other.grad = other.grad + self.data * product.grad
        product._backward = push
        return product

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
'''

SOURCES['s21_closure_on_other_attribute'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
        result.backward = push
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
'''

SOURCES['s22_pow_rejects_int_exponent'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def __pow__(self, k):
        assert isinstance(k, float), "float exponents only"
        raised = Value(self.data ** k, (self,), f"**{k}")

        def push():
            self.grad += k * self.data ** (k - 1) * raised.grad
        raised._backward = push
        return raised

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
'''

SOURCES['s23_log_divides_by_output'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def log(self):
        logged = Value(math.log(self.data), (self,), "log")

        def push():
            self.grad += logged.grad / logged.data
        logged._backward = push
        return logged

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
'''

SOURCES['s24_exp_dunder_and_value_exponent'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def __exp__(self):
        e = math.exp(self.data)
        result = Value(e, (self,), "exp")

        def push():
            self.grad += e * result.grad
        result._backward = push
        return result

    def __pow__(self, other):
        if isinstance(other, Value):
            raised = Value(self.data ** other.data, (self, other), "**")

            def push():
                self.grad += other.data * self.data ** (other.data - 1) * raised.grad
                other.grad += raised.data * math.log(self.data) * raised.grad
        else:
            raised = Value(self.data ** other, (self,), f"**{other}")

            def push():
                self.grad += other * self.data ** (other - 1) * raised.grad
        raised._backward = push
        return raised

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
'''

SOURCES['s25_extra_activations'] = '''\
import math


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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

    def leaky_relu(self, slope=0.01):
        bent = Value(self.data if self.data > 0 else slope * self.data, (self,), "leaky_relu")

        def push():
            self.grad += (1.0 if self.data > 0 else slope) * bent.grad
        bent._backward = push
        return bent

    def softplus(self):
        smooth = Value(math.log1p(math.exp(self.data)), (self,), "softplus")

        def push():
            self.grad += bent_sigmoid(self.data) * smooth.grad
        smooth._backward = push
        return smooth

    def gelu(self):
        c = math.sqrt(2.0 / math.pi)
        inner = c * (self.data + 0.044715 * self.data ** 3)
        t = math.tanh(inner)
        shaped = Value(0.5 * self.data * (1.0 + t), (self,), "gelu")

        def push():
            slope = 0.5 * (1.0 + t) + 0.5 * self.data * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * self.data ** 2)
            self.grad += slope * shaped.grad
        shaped._backward = push
        return shaped

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


def bent_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))
'''

SOURCES['s26_numpy_scalar_data'] = '''\
import numpy as np


class Value:
    def __init__(self, data, inputs=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(inputs)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other), "+")

        def push():
            self.grad += total.grad
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
        squashed = np.tanh(self.data)
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
'''

SOURCES['s27_grad_becomes_a_value'] = '''\
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

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
            self.grad += other * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

SOURCES['s28_op_name_in_children_slot'] = '''\
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

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

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

SOURCES['s29_neg_returns_a_float'] = '''\
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

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

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        return -self.data

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

SOURCES['s30_closures_call_their_inputs_closures'] = '''\
import math


class Value:
    def __init__(self, data, children=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(children)
        self._op = op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
            self._backward()
            other._backward()
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            self._backward()
            other._backward()
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
            self._backward()
        out._backward = _backward
        return out

    def backward(self):
        self.grad = 1.0
        self._backward()
'''

# Notebooks: a list of cells each, a cell being ("code" | "markdown", source). The corpus test
# writes them as .ipynb files.
NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

_FULL_ENGINE = '''\
class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
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

    def __pow__(self, k):
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

# The engine in cell 3, then a markdown cell and an exercise in cell 5: a new, cut-down `Value`
# (two ops, the exercise's `=` not fixed yet). The engine is what the notebook is about.
NOTEBOOKS['s31_exercise_variant_defined_last'] = [
    ("code", "import math\nimport random"),
    ("markdown", "## The engine"),
    ("code", _FULL_ENGINE),
    ("code", "a, b = Value(2.0), Value(-3.0)\nd = a * b + a ** 2\nd.backward()\nprint(a.grad, b.grad)"),
    ("markdown", "## Exercise: write the backward pass of + and * yourself"),
    ("code", '''\
class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._backward = lambda: None

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out

    def backward(self):
        self.grad = 1.0
        self._backward()
'''),
    ("code", "x = Value(1.5)\ny = x * x + x\ny.backward()\nx.grad"),
]

# The engine twice with the same ops: cell 2's tanh forgets `* out.grad`, cell 4 fixes it. The
# later definition is the one checked, though it is no fuller than the first.
NOTEBOOKS['s32_later_definition_fixes_a_bug'] = [
    ("code", "import math"),
    ("code", _FULL_ENGINE.replace("self.grad += (1 - t ** 2) * out.grad", "self.grad += 1 - t ** 2")),
    ("code", "h = Value(0.3).tanh()\nh.backward()"),
    ("code", _FULL_ENGINE),
]

# Ops beyond the table's first ones, under a learner's names: `max` taking a value or a number,
# `elu` with its alpha as a default argument, `arctan`.
SOURCES['s33_max_elu_arctan'] = '''\
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
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

    def max(self, other):
        other = other if isinstance(other, Value) else Value(other)
        bigger = self.data >= other.data
        out = Value(self.data if bigger else other.data, (self, other), "max")

        def _backward():
            if bigger:
                self.grad += out.grad
            else:
                other.grad += out.grad
        out._backward = _backward
        return out

    def elu(self, alpha=1.0):
        x = self.data
        out = Value(x if x > 0 else alpha * (math.exp(x) - 1), (self,), "elu")

        def _backward():
            slope = 1.0 if x > 0 else alpha * math.exp(x)
            self.grad += slope * out.grad
        out._backward = _backward
        return out

    def arctan(self):
        out = Value(math.atan(self.data), (self,), "arctan")

        def _backward():
            self.grad += out.grad / (1 + self.data ** 2)
        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
'''

# elu's slope below 0 taken from the output alone (e^x - 1), missing alpha's + 1
SOURCES['s34_elu_slope_from_output'] = SOURCES['s33_max_elu_arctan'].replace(
    "slope = 1.0 if x > 0 else alpha * math.exp(x)", "slope = 1.0 if x > 0 else out.data")

# `__eq__` written to compare values by their data, and no `__hash__`: Python then makes the
# class unhashable. Here the children are kept in a set, so every op raises TypeError while
# building its result.
SOURCES['s35_eq_without_hash_children_set'] = '''\
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __eq__(self, other):
        return isinstance(other, Value) and self.data == other.data

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
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

# The same `__eq__` with the children in a tuple: the ops work, and backward()'s visited set
# raises TypeError instead; behind it, mul overwrites its first input's grad.
SOURCES['s36_eq_without_hash_hides_overwrite'] = SOURCES['s35_eq_without_hash_children_set'].replace(
    "self._prev = set(_children)", "self._prev = tuple(_children)").replace(
    "self.grad += other.data * out.grad", "self.grad = other.data * out.grad")

# Each closure takes the node it belongs to (`def step(node)`), is handed to the constructor,
# and backward() calls `node._backward(node)`; leaves get a one-argument no-op. Correct.
SOURCES['s37_closure_takes_its_node'] = '''\
import math


def nothing(node):
    return None


class Value:
    def __init__(self, data, parents=(), step=nothing):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(parents)
        self._backward = step

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def step(node):
            self.grad += node.grad
            other.grad += node.grad
        return Value(self.data + other.data, (self, other), step)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def step(node):
            self.grad += other.data * node.grad
            other.grad += self.data * node.grad
        return Value(self.data * other.data, (self, other), step)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def tanh(self):
        t = math.tanh(self.data)

        def step(node):
            self.grad += (1.0 - t * t) * node.grad
        return Value(t, (self,), step)

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward(node)
'''

# A plain `@dataclass` node: its generated `__eq__` leaves it unhashable, and backward()'s
# visited set raises TypeError (no `def __eq__` anywhere in the source).
SOURCES['s38_dataclass_node_unhashable'] = '''\
import math
from dataclasses import dataclass, field


@dataclass
class Value:
    data: float
    grad: float = 0.0
    parents: tuple = ()
    step: object = field(default=lambda: None, repr=False)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, parents=(self, other))

        def step():
            self.grad += out.grad
            other.grad += out.grad
        out.step = step
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, parents=(self, other))

        def step():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out.step = step
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, parents=(self,))

        def step():
            self.grad += (1 - t * t) * out.grad
        out.step = step
        return out

    def backward(self):
        order, visited = [], set()

        def visit(v):
            if v not in visited:
                visited.add(v)
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v.step()
'''

# The closure stored on an operand (`self._backward = push`) instead of the result, in add and
# mul: the result keeps its do-nothing default, and the operand's own closure is replaced.
SOURCES['s39_closure_stored_on_operand'] = '''\
import math


class Value:
    def __init__(self, data, kids=()):
        self.data = data
        self.grad = 0.0
        self._prev = set(kids)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        total = Value(self.data + other.data, (self, other))

        def push():
            self.grad += total.grad
            other.grad += total.grad
        self._backward = push
        return total

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        product = Value(self.data * other.data, (self, other))

        def push():
            self.grad += other.data * product.grad
            other.grad += self.data * product.grad
        self._backward = push
        return product

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def push():
            self.grad += (1 - t * t) * out.grad
        out._backward = push
        return out

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for k in v._prev:
                    visit(k)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
'''

# Work in progress: every forward is written, mul's and tanh's backward are still TODOs that
# raise NotImplementedError. Not written yet is not wrong.
SOURCES['s40_backward_stubs'] = SOURCES['s39_closure_stored_on_operand'].replace(
    "        self._backward = push\n        return total", "        total._backward = push\n        return total"
).replace(
    "        def push():\n            self.grad += other.data * product.grad\n"
    "            other.grad += self.data * product.grad\n        self._backward = push",
    "        def push():\n            raise NotImplementedError('TODO: the product rule')\n"
    "        product._backward = push"
).replace(
    "            self.grad += (1 - t * t) * out.grad\n",
    "            raise NotImplementedError\n")

# A gradient that starts as None ("nothing received yet", as PyTorch does); the closures treat
# None as 0 when they add. Correct.
SOURCES['s41_grad_starts_as_none'] = '''\
import math


def receive(node, amount):
    node.grad = amount if node.grad is None else node.grad + amount


class Value:
    def __init__(self, data, parents=()):
        self.data = data
        self.grad = None
        self._prev = tuple(parents)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            receive(self, out.grad)
            receive(other, out.grad)
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            receive(self, other.data * out.grad)
            receive(other, self.data * out.grad)
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            receive(self, (1 - t * t) * out.grad)
        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._prev:
                    visit(p)
                order.append(v)
        visit(self)
        for v in order:
            v.grad = None
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
'''

# An exercise notebook's starter class: `+` only (it wraps numbers), and backward(). No `*` is
# not "numbers are not wrapped".
SOURCES['s42_starter_with_add_only'] = '''\
class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''

# Folders: relative path -> source. The corpus test checks the folder.
FOLDERS: dict[str, dict[str, str]] = {}

# The learner's own package is called `micrograd` (the lecture's repository layout), and its
# engine imports one helper by the package's name and another relatively. Correct.
FOLDERS['s43_own_package_named_micrograd'] = {
    "micrograd/__init__.py": "",
    "micrograd/coerce.py": "def wrap(x, cls):\n    return x if isinstance(x, cls) else cls(x)\n",
    "micrograd/walk.py": '''\
def order(root):
    """Every node below root, each after the nodes it was computed from."""
    out, seen = [], set()

    def visit(v):
        if id(v) not in seen:
            seen.add(id(v))
            for p in v._prev:
                visit(p)
            out.append(v)
    visit(root)
    return out
''',
    "micrograd/engine.py": '''\
import math

from micrograd.walk import order

from .coerce import wrap


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = wrap(other, Value)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = wrap(other, Value)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        self.grad = 1.0
        for v in reversed(order(self)):
            v._backward()
''',
}

# An exercise notebook: a first section plays with the library's Value (refused in the sandbox),
# a later section writes the learner's own `class Value`. The import names the library's class;
# the later class statement rebinds the name.
NOTEBOOKS['s44_library_cell_then_own_class'] = [
    ("code", "from micrograd.engine import Value\n\na = Value(2.0)\nprint((a * a).data)"),
    ("markdown", "## Section 2: your own Value"),
    ("code", "import math"),
    ("code", _FULL_ENGINE),
]

# Two defects in one statement of pow's closure (`=`, and no `* out.grad`); truediv, written as
# `self * other ** -1`, runs that closure and shows both at once.
SOURCES['s45_two_defects_in_a_primitive'] = '''\
class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        out = Value(self.data ** n, (self,))

        def _backward():
            self.grad = n * self.data ** (n - 1)
        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * other ** -1

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._prev:
                    visit(c)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
'''
