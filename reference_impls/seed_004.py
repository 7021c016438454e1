"""Seed 004 (../shared/seeds/004_b7cac08d9684dbca.txt), the final Value class, transcribed faithfully.

The note's text lost its line breaks; the code below restores them and nothing else.

Known defects:
- `+`, `*` and `tanh` all assign (`=`) gradients instead of accumulating (grad-overwrite);
- there is no `backward()` method at all: the note calls each node's `_backward()` by hand
  (no-backward);
- no number coercion; only `+`, `*` and `tanh` exist.
"""

import math


# extend `Value` class (and its methods) with lambda function attribute: `_backward` (function as attribute!)
class Value:
    # NB: __init__ is auto-called when you create a new instance of a class. they initialise the attributes of the class.
    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None # function for local chain rule at each node. default: do nothing (e.g. at leaf node)
        self._prev = set(_children)
        self._op = _op
        self.label = label

    # NB: __repr__ is a Py built-in function: provides a string representation of an obj. for debugging, logging, etc
    def __repr__(self):
        return f"Value(data={self.data})"

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other), '+')
        # CHAIN RULE:
        # -> propagate `out.grad`; i.e. the gradient of '+' (addition) operation's output
        # -> "backwards" into `self.grad` and `other.grad`; i.e. the children nodes' gradients
        def _backward():
            self.grad = 1.0 * out.grad # '+' node, gradient distributed back, as-is
            other.grad = 1.0 * out.grad # same for 2nd child node
        # save WHOLE _backward FUNCTION as variable leaving () would CALL it here.
        # we want to call it LATER (e.g. running x._backward() on some `Value` object `x`)
        out._backward = _backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other), '*')
        # CHAIN RULE:
        # -> propagate `out.grad`; i.e. the gradient of '*' (multiplication) operation's output
        # -> "backwards" into `self.grad` and `other.grad`; i.e. the children nodes' gradients
        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        x = self.data
        t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
        out = Value(t, (self, ), 'tanh')
        # CHAIN RULE:
        # -> propagate `out.grad`; i.e. the gradient of 'tanh' (act. fn.) operation's output
        # -> "backwards" into `self.grad`; i.e. the (single) child node's gradient
        def _backward():
            self.grad = (1 - t**2) * out.grad # local derivative of tanh (per wikipedia)
        out._backward = _backward
        return out
