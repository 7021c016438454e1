"""Reading a learner's code to place an edit: the class, an op's method and its closure, the
names it uses, the statement at a line. Static reading in the trusted process: nothing runs, and
source that cannot be parsed safely simply gets no fix."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from gradcheck.source import parse_or_none

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Code:
    """The editable sources of a submission: one text per notebook cell, or ``None`` -> the
    file's text; each parsed once."""

    cells: dict[int | None, str]
    trees: dict[int | None, ast.Module] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cell, text in self.cells.items():
            tree = parse_or_none(text)
            if tree is not None:
                self.trees[cell] = tree

    def class_def(self, name: str) -> tuple[int | None, ast.ClassDef] | None:
        """The class as last defined (a notebook may define it again in a later cell)."""
        found = None
        for cell in sorted(self.trees, key=lambda c: c or 0):
            for node in self.trees[cell].body:
                if isinstance(node, ast.ClassDef) and node.name == name:
                    found = (cell, node)
        return found

    def method(self, class_name: str, name: str) -> tuple[int | None, Function] | None:
        found = self.class_def(class_name)
        if found is None:
            return None
        cell, cls = found
        for node in cls.body:
            if isinstance(node, Function) and node.name == name:
                return cell, node
        return None

    def has_math(self) -> bool:
        return any(isinstance(n, ast.Import) and any(a.name == "math" and not a.asname for a in n.names)
                   for tree in self.trees.values() for n in tree.body)

    def functions_around(self, cell: int | None, line: int) -> list[Function]:
        """The functions whose body holds ``line``, outermost first."""
        tree = self.trees.get(cell)
        if tree is None:
            return []
        chain: list[Function] = []

        def visit(node: ast.AST) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, Function) and child.lineno <= line <= (child.end_lineno or 0):
                    chain.append(child)
                    visit(child)
                    return
                if hasattr(child, "lineno") and child.lineno <= line <= (getattr(child, "end_lineno", 0) or 0):
                    visit(child)
                    return
        visit(tree)
        return chain


def statements(fn: ast.AST) -> list[ast.stmt]:
    """Every statement inside ``fn`` (nested ones included), in source order."""
    found = [n for n in ast.walk(fn) if isinstance(n, ast.stmt) and n is not fn]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def grad_writes(fn: ast.AST, grad: str) -> list[ast.Assign | ast.AugAssign]:
    """Statements in ``fn`` that write ``<x>.<grad>``."""
    out = []
    for node in statements(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AugAssign):
            target = node.target
        else:
            continue
        if isinstance(target, ast.Attribute) and target.attr == grad:
            out.append(node)
    return out


def reads_attribute(node: ast.AST, name: str, attr: str) -> bool:
    """Whether ``node`` reads ``<name>.<attr>`` anywhere."""
    return any(isinstance(n, ast.Attribute) and n.attr == attr and isinstance(n.value, ast.Name)
               and n.value.id == name for n in ast.walk(node))


def returned_name(method: Function) -> str | None:
    """The name an op method returns (its result, ``out``/``result``/...), when it returns one."""
    names = [n.value.id for n in statements(method)
             if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)]
    return names[-1] if names else None


def final_return(method: Function) -> ast.Return | None:
    last = method.body[-1] if method.body else None
    return last if isinstance(last, ast.Return) else None


def closures(method: Function) -> list[Function]:
    """Functions the op method defines (its backward closures): in its body, or in an ``if``
    of it (``__pow__`` with one closure for a value exponent and one for a number) -- never
    those nested in another function."""
    found: list[Function] = []

    def visit(body: list) -> None:  # statements, or an ``except``'s handlers
        for node in body:
            if isinstance(node, Function):
                found.append(node)
            elif not isinstance(node, ast.ClassDef):
                for field_name in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field_name, None)
                    if isinstance(inner, list):
                        visit(inner)
    visit(method.body)
    return found


def operands(method: Function) -> tuple[str, ...]:
    return tuple(a.arg for a in (*method.args.posonlyargs, *method.args.args))


def indent_of(text: str, line: int) -> str:
    row = text.splitlines()[line - 1]
    return row[: len(row) - len(row.lstrip())]


def calls_itself(fn: Function) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == fn.name
               for n in ast.walk(fn))
