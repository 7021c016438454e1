"""A correct engine that exposes nothing to instrument: `__slots__`, no per-node closure, and
each node's inputs kept together with their local derivatives in one opaque record.

gradcheck cannot watch its closures or walk its graph, so it checks it end to end only and
names defects by fingerprinting. Expected: pass.
"""

import math


class Var:
    __slots__ = ("data", "grad", "_rule")

    def __init__(self, data, _rule=None):
        self.data = data
        self.grad = 0.0
        self._rule = _rule  # (op name, ((input, local derivative), ...)) or None for a leaf

    def __repr__(self):
        return f"Var({self.data})"

    @staticmethod
    def _wrap(v):
        return v if isinstance(v, Var) else Var(v)

    def __add__(self, other):
        other = Var._wrap(other)
        return Var(self.data + other.data, ("+", ((self, 1.0), (other, 1.0))))

    def __mul__(self, other):
        other = Var._wrap(other)
        return Var(self.data * other.data, ("*", ((self, other.data), (other, self.data))))

    def __pow__(self, k):
        return Var(self.data ** k, ("**", ((self, k * self.data ** (k - 1)),)))

    def exp(self):
        e = math.exp(self.data)
        return Var(e, ("exp", ((self, e),)))

    def log(self):
        return Var(math.log(self.data), ("log", ((self, 1 / self.data),)))

    def tanh(self):
        t = math.tanh(self.data)
        return Var(t, ("tanh", ((self, 1 - t * t),)))

    def relu(self):
        return Var(max(self.data, 0.0), ("relu", ((self, float(self.data > 0)),)))

    def sigmoid(self):
        s = 0.5 * (1 + math.tanh(self.data / 2))
        return Var(s, ("sigmoid", ((self, s * (1 - s)),)))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                for parent, _ in (node._rule[1] if node._rule else ()):
                    stack.append((parent, False))
        self.grad = 1.0
        for node in reversed(order):
            if node._rule:
                for parent, local in node._rule[1]:
                    parent.grad += local * node.grad
