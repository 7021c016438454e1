"""A correct scalar autograd engine with a different design from the lecture's.

- class `Scalar`, constructor argument `x`; inputs kept in a list `_children`;
- `__eq__` compares numbers, so instances are unhashable: traversal keys on `id()`;
- gradients start as the int 0; `backprop()` instead of `backward()`, with an explicit stack
  (no recursion limit) and zeroing the graph's gradients first;
- every op is its own primitive (`sub`, `truediv` and the reflected ops have their own rules),
  `tanh` via the exp formula, `sigmoid` via `exp(x) / (1 + exp(x))`.
Expected: pass.
"""

import math


class Scalar:
    def __init__(self, x, children=(), op=None):
        self.data = float(x)
        self.grad = 0
        self._children = list(children)
        self.op = op
        self._backward = lambda: None

    def __eq__(self, other):
        return isinstance(other, Scalar) and self.data == other.data

    def __repr__(self):
        return f"Scalar({self.data})"

    @staticmethod
    def lift(v):
        return v if isinstance(v, Scalar) else Scalar(v)

    def _make(self, data, children, op, rule):
        out = Scalar(data, children, op)

        def _backward():
            for child, local in zip(children, rule(out)):
                child.grad = child.grad + local * out.grad
        out._backward = _backward
        return out

    def __add__(self, other):
        other = Scalar.lift(other)
        return self._make(self.data + other.data, (self, other), "+", lambda o: (1, 1))

    def __radd__(self, other):
        return Scalar.lift(other) + self

    def __sub__(self, other):
        other = Scalar.lift(other)
        return self._make(self.data - other.data, (self, other), "-", lambda o: (1, -1))

    def __rsub__(self, other):
        return Scalar.lift(other) - self

    def __mul__(self, other):
        other = Scalar.lift(other)
        return self._make(self.data * other.data, (self, other), "*", lambda o: (other.data, self.data))

    def __rmul__(self, other):
        return Scalar.lift(other) * self

    def __truediv__(self, other):
        other = Scalar.lift(other)
        return self._make(self.data / other.data, (self, other), "/",
                          lambda o: (1 / other.data, -self.data / other.data ** 2))

    def __rtruediv__(self, other):
        return Scalar.lift(other) / self

    def __neg__(self):
        return self._make(-self.data, (self,), "neg", lambda o: (-1,))

    def __pow__(self, k):
        return self._make(self.data ** k, (self,), "pow", lambda o: (k * self.data ** (k - 1),))

    def exp(self):
        return self._make(math.exp(self.data), (self,), "exp", lambda o: (o.data,))

    def log(self):
        return self._make(math.log(self.data), (self,), "log", lambda o: (1 / self.data,))

    def tanh(self):
        e = math.exp(2 * self.data)
        return self._make((e - 1) / (e + 1), (self,), "tanh", lambda o: (1 - o.data ** 2,))

    def relu(self):
        return self._make(max(0.0, self.data), (self,), "relu", lambda o: (1 if self.data > 0 else 0,))

    def sigmoid(self):
        e = math.exp(self.data)
        return self._make(e / (1 + e), (self,), "sigmoid", lambda o: (o.data * (1 - o.data),))

    def backprop(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._children if id(c) not in seen)
        for node in order:
            node.grad = 0
        self.grad = 1
        for node in reversed(order):
            node._backward()
