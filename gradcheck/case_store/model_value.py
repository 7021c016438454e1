"""A correct Value, the subject the shipped case store is built with (``case_store.build``).

Never imported by gradcheck: ``build`` reads this file as text, keeps the methods of one op set,
and checks the result like any submission, in the sandbox, recording every case the check asks
for. Every op is a primitive with its own closure, so any subset of ops stands on its own.
"""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    @staticmethod
    def _wrap(x):
        return x if isinstance(x, Value) else Value(x)

    def _unary(self, data, slope):
        out = Value(data, (self,))

        def _backward():
            self.grad += slope * out.grad
        out._backward = _backward
        return out

    def __add__(self, other):
        other = self._wrap(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._wrap(other)
        out = Value(self.data - other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._wrap(other)
        out = Value(self.data / other.data, (self, other))

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def __radd__(self, k):
        return self._unary(k + self.data, 1.0)

    def __rsub__(self, k):
        return self._unary(k - self.data, -1.0)

    def __rmul__(self, k):
        return self._unary(k * self.data, k)

    def __rtruediv__(self, k):
        return self._unary(k / self.data, -k / self.data ** 2)

    def __neg__(self):
        return self._unary(-self.data, -1.0)

    def __pow__(self, k):
        return self._unary(self.data ** k, k * self.data ** (k - 1))

    def __abs__(self):
        return self._unary(abs(self.data), 1.0 if self.data > 0 else -1.0)

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e)

    def log(self):
        return self._unary(math.log(self.data), 1.0 / self.data)

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t)

    def relu(self):
        return self._unary(max(0.0, self.data), 1.0 if self.data > 0 else 0.0)

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        return self._unary(s, s * (1.0 - s))

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
