"""Correct implementations of varied design: gradcheck must raise no error on any of them."""

from pathlib import Path

import micrograd.engine

from subjects.injectors import DESIGNS

FULL = DESIGNS["closure"]


def _edit(source: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in source, old
        source = source.replace(old, new)
    return source


DISPATCH = '''
import math

class Node:
    """_backward is a method dispatching on the op; inputs behind a read-only property."""
    def __init__(self, data, inputs=(), op="", k=None):
        self.data, self.grad, self._inputs, self.op, self.k = data, 0.0, tuple(inputs), op, k
    @property
    def prev(self):
        return self._inputs
    def __add__(self, o):
        o = o if isinstance(o, Node) else Node(o)
        return Node(self.data + o.data, (self, o), "+")
    __radd__ = __add__
    def __mul__(self, o):
        o = o if isinstance(o, Node) else Node(o)
        return Node(self.data * o.data, (self, o), "*")
    __rmul__ = __mul__
    def __neg__(self):
        return self * -1
    def __sub__(self, o):
        return self + (-o)
    def tanh(self):
        return Node(math.tanh(self.data), (self,), "tanh")
    def _backward(self):
        if self.op == "+":
            for x in self._inputs:
                x.grad += self.grad
        elif self.op == "*":
            a, b = self._inputs
            a.grad += b.data * self.grad
            b.grad += a.data * self.grad
        elif self.op == "tanh":
            self._inputs[0].grad += (1 - self.data ** 2) * self.grad
    def backward(self, seed=1.0):
        order, seen = [], set()
        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._inputs:
                    visit(c)
                order.append(v)
        visit(self)
        self.grad = seed
        for v in reversed(order):
            v._backward()
'''

VARIANTS = {
    "micrograd_pypi": open(micrograd.engine.__file__).read(),
    "closure_full": FULL,
    "iterative_unhashable_scalar": DESIGNS["iterative"],
    "children_tuple": _edit(FULL, ("self._prev = set(_children)", "self._children = tuple(_children)"),
                            ("for child in v._prev:", "for child in v._children:")),
    "int_grads": _edit(FULL, ("self.grad = 0.0", "self.grad = 0"), ("self.grad = 1.0", "self.grad = 1")),
    "tanh_exp_formula": _edit(FULL, ("t = math.tanh(self.data)",
                                     "t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)")),
    "div_as_reciprocal": _edit(FULL, ("return self * other ** -1", "return self * (1 / other) if not isinstance(other, Value) else self * other ** -1")),
    "method_dispatch_prev_property": DISPATCH,
    "zero_grads_first": _edit(FULL, ("        self.grad = 1.0\n", "        for v in topo:\n            v.grad = 0.0\n        self.grad = 1.0\n")),
    "backward_none_for_leaves": _edit(FULL, ("self._backward = lambda: None", "self._backward = None"),
                                      ("            v._backward()", "            if v._backward:\n                v._backward()")),
    "numpy_math": _edit(FULL, ("import math\n", "import math\nimport numpy as np\n"),
                        ("t = math.tanh(self.data)", "t = np.tanh(self.data)"),
                        ("out = Value(math.exp(self.data), (self,), \"exp\")", "out = Value(np.exp(self.data), (self,), \"exp\")")),
    "kahn_topological_order": (Path(__file__).parent / "kahn_value.py").read_text(),
    "slots_and_seed_argument": _edit(
        FULL, ("class Value:\n", "class Value:\n    __slots__ = ('data', 'grad', '_backward', '_prev', '_op', 'label')\n\n"),
        ("    def backward(self):", "    def backward(self, seed=1.0):"), ("        self.grad = 1.0\n", "        self.grad = seed\n")),
    # a future import must reach the class body: an annotation naming the class being defined
    "future_annotations": "from __future__ import annotations\n" + _edit(
        FULL, ("class Value:\n", "class Value:\n    data: float\n    _prev: set[Value]\n\n")),
    # data held as numpy numbers: a float64 scalar, a 0-d array, float32 (compared at float32's
    # own precision)
    **{name: _edit(FULL, ("import math\n", "import math\nimport numpy as np\n"),
                   ("        self.data = data\n", f"        self.data = {expr}\n"))
       for name, expr in (("numpy_float64_data", "np.float64(data)"),
                          ("numpy_0d_array_data", "np.array(data)"),
                          ("numpy_float32_0d_array_data", "np.array(data, dtype=np.float32)"))},
    # ops beyond the lecture's under learners' own names (`__exp__`, `ReLU`, `leakyrelu`...),
    # the exact (erf) GELU, and a `__pow__` taking value exponents
    "learner_ops_aliases": DESIGNS["learner_ops"],
    # pow keeps its number exponent among the inputs; the learner's traversal skips non-Values
    "pow_exponent_among_inputs": _edit(
        FULL, ('out = Value(self.data ** k, (self,), f"**{k}")', 'out = Value(self.data ** k, (self, k), f"**{k}")'),
        ("                for child in v._prev:\n                    build_topo(child)",
         "                for child in v._prev:\n                    if isinstance(child, Value):\n"
         "                        build_topo(child)")),
}
