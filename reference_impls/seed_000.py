"""Seed 000 (../shared/seeds/000_6981064219eaa951.txt), transcribed faithfully.

Known defects:
- forward only: `+` and `*`; no `grad`, no `_backward`, no `backward()` (no-grad);
- no number coercion (`Value(2) + 2` fails);
- every other op of the table is missing.
"""


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        # stores its operands
        self._children = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data})"
    
    def __add__(self, other):
        return Value(self.data + other.data, (self, other), "+")
    
    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), "*")


a = Value(2.0)
b = Value(-3.0)
c = Value(5.0)
d = a*b + c
d
