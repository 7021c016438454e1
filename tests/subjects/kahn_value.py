"""A correct Value whose backward() orders nodes with Kahn's algorithm (consumer counts), not DFS."""
import math
from collections import deque


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._prev = list(_children)
        self._op = _op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')
        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        # Kahn's algorithm: a node runs once every consumer has passed its gradient on
        waiting, stack, seen = {}, [self], {id(self)}
        while stack:
            v = stack.pop()
            for c in v._prev:
                waiting[id(c)] = waiting.get(id(c), 0) + 1
                if id(c) not in seen:
                    seen.add(id(c))
                    stack.append(c)
        self.grad = 1.0
        ready = deque([self])
        while ready:
            v = ready.popleft()
            v._backward()
            for c in v._prev:
                waiting[id(c)] -= 1
                if waiting[id(c)] == 0:
                    ready.append(c)
