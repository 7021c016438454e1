"""Small, idempotent changes to the text of one statement, guided by its syntax tree: every
character the change does not need to touch (spacing, comments, names) stays the learner's.

Each change takes the statement's lines as they are in the file (indented), parses them on their
own, and returns them changed -- or unchanged when there is nothing (more) to do, so that
applying a change twice, or two changes to the same statement, is safe.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from gradcheck.source import parse_or_none


def _split_indent(text: str) -> tuple[str, str] | None:
    first = text.splitlines()[0] if text else ""
    indent = first[: len(first) - len(first.lstrip())]
    lines = text.splitlines(keepends=True)
    if not all(line.startswith(indent) or not line.strip() for line in lines):
        return None
    return indent, "".join(line[len(indent):] for line in lines)


def _reindent(indent: str, body: str) -> str:
    return "".join(indent + line if line.strip() else line for line in body.splitlines(keepends=True))


def _offset(body: str, lineno: int, col: int) -> int:
    """Character index of an AST position (1-based line, UTF-8 byte column)."""
    lines = body.splitlines(keepends=True)
    return sum(len(x) for x in lines[: lineno - 1]) + len(lines[lineno - 1].encode()[:col].decode())


def _span(body: str, node: ast.AST) -> tuple[int, int]:
    return (_offset(body, node.lineno, node.col_offset),
            _offset(body, node.end_lineno, node.end_col_offset))


def _on_tree(change: Callable[[str, ast.Module], str | None]) -> Callable[[str], str]:
    def run(text: str) -> str:
        split = _split_indent(text)
        if split is None:
            return text
        indent, body = split
        tree = parse_or_none(body)
        changed = change(body, tree) if tree is not None else None
        return text if changed is None else _reindent(indent, changed)
    return run


def _grad_target(node: ast.AST, grad: str) -> ast.Attribute | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        target = node.target
    else:
        return None
    return target if isinstance(target, ast.Attribute) and target.attr == grad else None


def accumulate(grad: str) -> Callable[[str], str]:
    """``x.grad = expr`` -> ``x.grad += expr`` (spacing kept: ``x.grad=e`` -> ``x.grad+=e``)."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            target = _grad_target(node, grad)
            if isinstance(node, ast.Assign) and target is not None:
                at = _span(body, target)[1]
                equals = body.index("=", at)
                return body[:equals] + "+" + body[equals:]
        return None
    return _on_tree(change)


_LOOSE = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr, ast.UnaryOp)
_TIGHT_BINOPS = (ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.MatMult)


def times_upstream(grad: str, out: str) -> Callable[[str], str]:
    """``x.grad += expr`` -> ``x.grad += expr * out.grad`` (``(expr) * ...`` when ``expr``
    binds more loosely than ``*``); a statement already reading ``out.grad`` is left alone."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            if _grad_target(node, grad) is None or node.value is None:
                continue
            if any(isinstance(n, ast.Attribute) and n.attr == grad and isinstance(n.value, ast.Name)
                   and n.value.id == out for n in ast.walk(node.value)):
                return None
            start, end = _span(body, node.value)
            value = body[start:end]
            tight = isinstance(node.value, ast.BinOp) and isinstance(node.value.op, _TIGHT_BINOPS)
            if isinstance(node.value, _LOOSE) and not tight:
                value = f"({value})"
            return f"{body[:start]}{value} * {out}.{grad}{body[end:]}"
        return None
    return _on_tree(change)


def product_for_power(grad: str, out: str) -> Callable[[str], str]:
    """``d ** out.grad`` -> ``d * out.grad`` (the first such power in the statement)."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
                    and isinstance(node.right, ast.Attribute) and node.right.attr == grad
                    and isinstance(node.right.value, ast.Name) and node.right.value.id == out):
                between_start = _span(body, node.left)[1]
                between_end = _span(body, node.right)[0]
                between = body[between_start:between_end].replace("**", "*", 1)
                return body[:between_start] + between + body[between_end:]
        return None
    return _on_tree(change)


def stored_not_called(attr: str) -> Callable[[str], str]:
    """``out._backward = _backward()`` -> ``out._backward = _backward``."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and not node.value.args and not node.value.keywords
                    and isinstance(node.value.func, ast.Name)
                    and any(isinstance(t, ast.Attribute) and t.attr == attr for t in node.targets)):
                start, end = _span(body, node.value)
                return body[:start] + node.value.func.id + body[end:]
        return None
    return _on_tree(change)


def retarget_attribute(old: str, new: str) -> Callable[[str], str]:
    """``out.backward_fn = f`` -> ``out._backward = f``: the closure stored where the walk
    looks for it."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Attribute) and target.attr == old:
                    end = _span(body, target)[1]
                    return body[:end - len(old)] + new + body[end:]
        return None
    return _on_tree(change)


def rebase_attribute(attr: str, base: str) -> Callable[[str], str]:
    """``self._backward = f`` -> ``out._backward = f``: stored on the object that is meant."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Attribute) and target.attr == attr and isinstance(target.value, ast.Name):
                    if target.value.id == base:
                        return None
                    start, end = _span(body, target.value)
                    return body[:start] + base + body[end:]
        return None
    return _on_tree(change)


def set_value(text_value: str) -> Callable[[str], str]:
    """``x.grad = <anything>`` -> ``x.grad = <text_value>``."""
    def change(body: str, tree: ast.Module) -> str | None:
        for node in tree.body:
            if isinstance(node, ast.Assign):
                start, end = _span(body, node.value)
                if body[start:end] == text_value:
                    return None
                return body[:start] + text_value + body[end:]
        return None
    return _on_tree(change)


_LOOP_HEADER = re.compile(r"^(\s*(?:async\s+)?for\s+.+?\s+in\s+)([A-Za-z_]\w*)(\s*:)", re.M)


def reversed_loop(text: str) -> str:
    """``for v in topo:`` -> ``for v in reversed(topo):`` (the header line only)."""
    return _LOOP_HEADER.sub(r"\1reversed(\2)\3", text, count=1)


def insert_before(lines: list[str]) -> Callable[[str], str]:
    """New statements placed before the lines, at their indentation (idempotent)."""
    def change(text: str) -> str:
        first = text.splitlines()[0] if text else ""
        indent = first[: len(first) - len(first.lstrip())]
        block = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
        return text if text.startswith(block) else block + text
    return change


def insert_after(lines: list[str], indent: str) -> Callable[[str], str]:
    """New statements placed after the lines, at ``indent`` (idempotent)."""
    def change(text: str) -> str:
        block = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
        ended = text if text.endswith("\n") else text + "\n"
        return text if ended.endswith(block) else ended + block
    return change


def replace_expression(first_line: int, node: ast.AST, old: str, new: str) -> Callable[[str], str]:
    """One expression of the statement that starts at ``first_line`` (``node``, whose text was
    ``old``) replaced by ``new`` -- left alone once it no longer reads ``old``."""
    def change(text: str) -> str:
        try:
            start = _offset(text, node.lineno - first_line + 1, node.col_offset)
            end = _offset(text, node.end_lineno - first_line + 1, node.end_col_offset)
        except IndexError:
            return text
        return text[:start] + new + text[end:] if text[start:end] == old else text
    return change
