"""How an op's method wires its result, read from its source: which local functions it
defines, what it stores on which attribute of which name, and where it builds the result.

Only used to explain what the probe observed (an op's result holding None where its closure
belongs) and to point at the line; the observation itself decides that something is wrong.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from gradcheck.source import function_at


@dataclass(frozen=True)
class Store:
    """``<owner>.<attr> = <value>`` in the method, at ``line``."""

    owner: str
    attr: str
    value: str  # the local function stored, or called when ``called``
    called: bool
    line: int
    text: str


@dataclass(frozen=True)
class GradWrite:
    owner: str  # the name whose gradient is written (``self``, ``other``)
    assigns: bool  # `=` rather than `+=`
    line: int
    text: str


@dataclass
class MethodReading:
    closures: dict[str, int] = field(default_factory=dict)  # local functions writing a grad -> line
    grad_writes: dict[str, list[GradWrite]] = field(default_factory=dict)  # per closure
    stores: list[Store] = field(default_factory=list)
    result_line: int | None = None  # where the returned value is built
    result_text: str = ""
    result_name: str | None = None  # the local name returned (`return out`), if a name
    params: tuple[str, ...] = ()  # the method's parameters: `self` and its operands

    def on_result(self, store: Store) -> bool:
        """Whether a store is on the result: the name returned, when the method returns one."""
        return self.result_name is None or store.owner == self.result_name

    def stored(self, closure: str, attr: str) -> bool:
        return any(s.value == closure and s.attr == attr and not s.called and self.on_result(s)
                   for s in self.stores)


def read_method(source: str, line: int, grad_attr: str | None) -> MethodReading | None:
    """What the method defined at ``line`` does with its local functions; None if unreadable."""
    fn = function_at(source, line)
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    lines = source.splitlines()

    def text(node: ast.AST) -> str:
        return lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""

    reading = MethodReading(params=tuple(a.arg for a in (*fn.args.posonlyargs, *fn.args.args)))
    local = [n for n in ast.walk(fn) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n is not fn]
    for inner in local:
        writes = _grad_writes(inner, grad_attr, text) if grad_attr else []
        if writes:
            reading.closures[inner.name] = inner.lineno
            reading.grad_writes[inner.name] = writes
    names = {n.name for n in local}
    assigned: dict[str, ast.AST] = {}
    for node in _own_nodes(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node
                elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    stored = _local_function(node.value, names)
                    if stored is not None:
                        reading.stores.append(Store(target.value.id, target.attr, stored[0], stored[1],
                                                    node.lineno, text(node)))
        elif isinstance(node, ast.Return) and node.value is not None and reading.result_line is None:
            built = assigned.get(node.value.id) if isinstance(node.value, ast.Name) else node
            if built is not None:
                reading.result_line, reading.result_text = built.lineno, text(built)
                reading.result_name = node.value.id if isinstance(node.value, ast.Name) else None
    return reading


def _own_nodes(fn: ast.AST):
    """The method's statements in order, without descending into its local functions."""
    for node in ast.iter_child_nodes(fn):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        yield node
        yield from _own_nodes(node)


def _local_function(value: ast.AST, names: set[str]) -> tuple[str, bool] | None:
    """(name, called) when ``value`` is a local function or a call of one with no arguments."""
    if isinstance(value, ast.Name) and value.id in names:
        return value.id, False
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in names
            and not value.args and not value.keywords):
        return value.func.id, True
    return None


def _grad_writes(fn: ast.AST, grad_attr: str, text) -> list[GradWrite]:
    found = []
    for node in ast.walk(fn):
        target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else
                  node.target if isinstance(node, ast.AugAssign) else None)
        if (isinstance(target, ast.Attribute) and target.attr == grad_attr
                and isinstance(target.value, ast.Name)):
            found.append(GradWrite(target.value.id, isinstance(node, ast.Assign), node.lineno, text(node)))
    return sorted(found, key=lambda w: w.line)
