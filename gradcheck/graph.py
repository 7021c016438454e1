"""Expression DAGs: the cases gradcheck builds with a subject's class and with the oracles.

A graph is a list of nodes in construction order; each op node names earlier nodes as operands
(possibly the same node twice), so sharing and diamonds are plain index reuse. The last node is
the output that ``backward()`` is called on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from gradcheck.ops import get_op, in_domain

# op name -> the method a subject implements it with (Capabilities.op_methods); where absent,
# the op table's usual name
Methods = Mapping[str, str] | None


@dataclass(frozen=True)
class Node:
    op: str | None = None  # None for a leaf
    args: tuple[int, ...] = ()
    k: float | None = None  # the op's constant, if it takes one
    value: float | None = None  # a leaf's value

    @property
    def is_leaf(self) -> bool:
        return self.op is None


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]

    @property
    def output(self) -> int:
        return len(self.nodes) - 1

    @property
    def ops_used(self) -> frozenset[str]:
        return frozenset(n.op for n in self.nodes if n.op is not None)

    def name(self, i: int) -> str:
        """Variable names in snippets: leaves a, b, c, ...; op results n1, n2, ..."""
        leaves = [j for j, n in enumerate(self.nodes) if n.is_leaf]
        if self.nodes[i].is_leaf:
            pos = leaves.index(i)
            return "abcdefghijklm"[pos] if pos < 13 else f"x{pos}"
        return f"n{i - len([j for j in leaves if j < i]) + 1}"

    def ancestors_of_output(self) -> list[int]:
        """Indices of nodes the output depends on, including itself."""
        seen = {self.output}
        stack = [self.output]
        while stack:
            for a in self.nodes[stack.pop()].args:
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return sorted(seen)

    def consumers(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {i: [] for i in range(len(self.nodes))}
        for i, n in enumerate(self.nodes):
            for a in set(n.args):
                out[a].append(i)
        return out

    def statement(self, i: int, methods: Methods = None) -> str:
        node = self.nodes[i]
        if node.is_leaf:
            return f"{self.name(i)} = {{cls}}({node.value!r})"
        op = get_op(node.op)
        return f"{self.name(i)} = " + op.apply_source([self.name(a) for a in node.args], node.k,
                                                      _method(node.op, methods))

    def to_wire(self, methods: Methods = None) -> list[dict]:
        """The form sent to the worker: only data, plus each op's application template, calling
        the subject's own method names."""
        wire = []
        for n in self.nodes:
            if n.is_leaf:
                wire.append({"leaf": n.value})
            else:
                op = get_op(n.op)
                expr = op.apply_source([f"{{{a}}}" for a in range(op.arity)], n.k, _method(n.op, methods))
                wire.append({"op": n.op, "expr": expr, "args": list(n.args)})
        return wire

    def describe(self, methods: Methods = None) -> str:
        """One line per node, e.g. ``n1 = a * b``; used in messages and evidence."""
        return "; ".join(self.statement(i, methods).replace("{cls}", "Value") for i in range(len(self.nodes)))

    def snippet(self, class_name: str, backward: str | None = "backward", methods: Methods = None) -> str:
        lines = [self.statement(i, methods).replace("{cls}", class_name) for i in range(len(self.nodes))]
        out = self.name(self.output)
        if backward:
            lines.append(f"{out}.{backward}()")
        interesting = [self.name(i) for i in self.ancestors_of_output()]
        lines.append("print(" + ", ".join(f"{v}.grad" for v in interesting) + ")")
        return "\n".join(lines)

    def shifted(self, shift: float, digits: int) -> Graph:
        """The same graph with every leaf moved by ``shift``, rounded to ``digits``."""
        return Graph(tuple(replace(n, value=round(n.value + shift, digits)) if n.is_leaf else n
                           for n in self.nodes))

    def in_domain(self) -> bool:
        """Whether every op is well defined where this graph applies it."""
        try:
            values = self.float_values()
        except (ArithmeticError, ValueError, TypeError):  # TypeError: a complex power
            return False
        return all(n.is_leaf or in_domain(get_op(n.op), [values[a] for a in n.args], n.k) for n in self.nodes)

    def float_values(self) -> list[float]:
        """Forward pass in plain floats (the generator's view, used for domain checks)."""
        vals: list[float] = []
        for n in self.nodes:
            if n.is_leaf:
                vals.append(float(n.value))
            else:
                op = get_op(n.op)
                args = [vals[a] for a in n.args] + ([n.k] if op.takes_constant else [])
                vals.append(float(op.value(*args)))
        return vals


def _method(op: str, methods: Methods) -> str | None:
    return methods.get(op) if methods else None


def leaf(value: float) -> Node:
    return Node(value=float(value))


def apply(op: str, *args: int, k: float | None = None) -> Node:
    return Node(op=op, args=tuple(args), k=k)
