"""The textbook backward rules, as code written in a learner's own names.

A fix that replaces a wrong local derivative (or adds a missing closure) writes the rule every
course teaches, with the learner's names filled in: ``{a}``/``{b}`` the op method's operands
(``self``, ``other``), ``{k}`` its constant exponent, ``{out}`` the result the method returns,
``{g}``/``{d}`` the class's gradient and data attributes. Ops not listed here (value exponents,
reflected ops whose operand may be a plain number, gelu) get no rewrite: a fix gradcheck cannot
write with confidence is better not proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

# op -> one statement per operand; ``math.`` marks rules that need the module imported
RULES: dict[str, tuple[str, ...]] = {
    "add": ("{a}.{g} += {out}.{g}", "{b}.{g} += {out}.{g}"),
    "sub": ("{a}.{g} += {out}.{g}", "{b}.{g} -= {out}.{g}"),
    "mul": ("{a}.{g} += {b}.{d} * {out}.{g}", "{b}.{g} += {a}.{d} * {out}.{g}"),
    "truediv": ("{a}.{g} += {out}.{g} / {b}.{d}", "{b}.{g} -= {a}.{d} / {b}.{d} ** 2 * {out}.{g}"),
    "neg": ("{a}.{g} -= {out}.{g}",),
    "radd": ("{a}.{g} += {out}.{g}",),
    "rsub": ("{a}.{g} -= {out}.{g}",),
    "pow": ("{a}.{g} += {k} * {a}.{d} ** ({k} - 1) * {out}.{g}",),
    "exp": ("{a}.{g} += {out}.{d} * {out}.{g}",),
    "log": ("{a}.{g} += {out}.{g} / {a}.{d}",),
    "tanh": ("{a}.{g} += (1 - {out}.{d} ** 2) * {out}.{g}",),
    "relu": ("{a}.{g} += ({a}.{d} > 0) * {out}.{g}",),
    "sigmoid": ("{a}.{g} += {out}.{d} * (1 - {out}.{d}) * {out}.{g}",),
    "abs": ("{a}.{g} += (1.0 if {a}.{d} > 0 else -1.0) * {out}.{g}",),
    "sqrt": ("{a}.{g} += 0.5 / {out}.{d} * {out}.{g}",),
    "sin": ("{a}.{g} += math.cos({a}.{d}) * {out}.{g}",),
    "cos": ("{a}.{g} -= math.sin({a}.{d}) * {out}.{g}",),
    "softplus": ("{a}.{g} += 1 / (1 + math.exp(-{a}.{d})) * {out}.{g}",),
}

# operands each rule reads from the op method's parameters, in order: a, then b or k
_SECOND = {"add": "b", "sub": "b", "mul": "b", "truediv": "b", "pow": "k"}


@dataclass(frozen=True)
class Names:
    """A learner's names for what a rule is written in."""

    operands: tuple[str, ...]  # the op method's parameters: ("self", "other")
    out: str  # the result the op method returns
    grad: str
    data: str


def rule_lines(op: str, names: Names, has_math: bool) -> list[str] | None:
    """The rule's statements (unindented), or None when it cannot be written for this op with
    these names."""
    rule = RULES.get(op)
    if rule is None or (not has_math and any("math." in s for s in rule)):
        return None
    second = _SECOND.get(op)
    if len(names.operands) < (2 if second else 1):
        return None
    fill = {"a": names.operands[0], "out": names.out, "g": names.grad, "d": names.data}
    if second:
        fill[second] = names.operands[1]
    return [s.format(**fill) for s in rule]


def backward_method(name: str, me: str, inputs: str, closure: str, grad: str) -> list[str]:
    """A whole ``backward()`` in the lecture's shape (unindented, 4-space body): one visited set
    for the walk, each node added before its inputs are visited, the output seeded with 1, the
    closures run consumers first. Nodes are kept by ``id`` so that a class comparing values by
    their data still walks every node."""
    return [
        f"def {name}({me}):",
        "    topo, visited = [], set()",
        "",
        "    def build_topo(v):",
        "        if id(v) not in visited:",
        "            visited.add(id(v))",
        f"            for child in v.{inputs}:",
        "                build_topo(child)",
        "            topo.append(v)",
        f"    build_topo({me})",
        f"    {me}.{grad} = 1.0",
        "    for v in reversed(topo):",
        f"        v.{closure}()",
    ]
