"""Static reading of a submission's source, to point at lines and explain -- never to judge.

A finding always comes from observed behaviour; these helpers only find the statement to show
(``self.grad = ...`` in ``__mul__``'s closure) and words for the message.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GradStatement:
    line: int
    text: str
    assigns: bool  # `=` rather than `+=` -- and not `x.grad = x.grad + ...`, which accumulates
    target: str = ""  # whose gradient: the name before `.grad` (`self`, `other`), "" if not a name


# Larger sources are not parsed: nobody hand-writes a 2 MB Value class, and the parser's memory
# grows with the source (the trusted process must not be the one that runs out).
MAX_PARSE_CHARS = 2_000_000


@functools.lru_cache(maxsize=32)
def parse_or_none(source: str) -> ast.Module | None:
    """The source's syntax tree, or None when it cannot be had safely: a syntax error, source
    over ``MAX_PARSE_CHARS``, nesting deep enough to exhaust the parser's recursion or memory,
    or a null byte. Submissions are untrusted, and this runs in the trusted process.

    One parse per source: a check's scans, lookups and fixes ask about the same few sources a
    dozen times. The tree is therefore shared -- read it, never change it."""
    if len(source) > MAX_PARSE_CHARS:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None


@functools.lru_cache(maxsize=32)
def module_nodes(source: str) -> tuple[ast.AST, ...]:
    """Every node of the source's tree, in ``ast.walk``'s order (empty when it cannot be parsed):
    several of a check's scans go over the whole module, and each walked it again. Shared like
    the tree -- read it, never change it."""
    tree = parse_or_none(source)
    return () if tree is None else tuple(ast.walk(tree))


def function_at(source: str, line: int) -> ast.FunctionDef | ast.Lambda | None:
    """The function (or lambda) defined at ``line``: the first one there, in walk order.
    Callers only read the tree they get; it is shared between calls."""
    return _functions_by_line(source).get(line)


@functools.lru_cache(maxsize=8)
def _functions_by_line(source: str) -> dict[int, ast.AST]:
    # one parse per source: a check asks about dozens of closures of the same file
    found: dict[int, ast.AST] = {}
    for node in module_nodes(source):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found.setdefault(node.lineno, node)
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            found.setdefault(node.decorator_list[0].lineno, node)
    return found


def grad_statements(source: str, func_line: int, grad_attr: str) -> list[GradStatement]:
    """Statements in the function defined at ``func_line`` that write ``<x>.<grad_attr>``."""
    fn = function_at(source, func_line)
    if fn is None:
        return []
    lines = source.splitlines()
    found = []
    for node in ast.walk(fn):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == grad_attr:
                accumulates = isinstance(node, ast.AugAssign) or _reads_itself(node, target)
                found.append(GradStatement(node.lineno, lines[node.lineno - 1].strip(),
                                           assigns=not accumulates, target=_base_name(target)))
    return sorted(found, key=lambda s: s.line)


def _reads_itself(node: ast.AST, target: ast.Attribute) -> bool:
    """``x.grad = x.grad + ...``: an assignment whose value reads the very attribute it writes
    accumulates (marimo writes every ``+=`` this way)."""
    value = getattr(node, "value", None)
    if value is None:
        return False
    wanted = ast.dump(target, annotate_fields=False).replace("Store()", "Load()")
    return any(ast.dump(n, annotate_fields=False) == wanted for n in ast.walk(value)
               if isinstance(n, ast.Attribute))


def _base_name(target: ast.Attribute) -> str:
    return target.value.id if isinstance(target.value, ast.Name) else ""


def free_globals(source: str, func_line: int) -> list[str]:
    """Names a function reads that are neither its own, nor builtins, nor the class's module
    level definitions -- e.g. ``o`` in a ``backward()`` that calls ``build_topo(o)``."""
    fn = function_at(source, func_line)
    if fn is None or isinstance(fn, ast.Lambda):
        return []
    try:
        defined_at_top = top_level_names(source)
    except SyntaxError:
        return []
    local = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not fn:
            local.add(node.name)
            local.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
    read = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return sorted({n for n in read if n not in local and n not in defined_at_top
                   and not hasattr(builtins, n)})


def top_level_names(source: str) -> set[str]:
    """Functions, classes and imports a module or cell defines at its top level: names that
    are code, not data. Raises SyntaxError for source that does not parse (safely)."""
    tree = parse_or_none(source)
    if tree is None:
        raise SyntaxError("the source cannot be parsed safely")
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


_TYPE_PARAMS = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+\s*\[")
_TYPE_ALIAS = re.compile(r"^\s*type\s+\w+\s*(?:\[[^\]]*\])?\s*=")
_FSTRING_START = re.compile(r"(?<![\w'\"])[rR]?[fF][rR]?(['\"])")


def newer_syntax(line: str) -> str | None:
    """The Python 3.12 feature a line that 3.11 cannot parse uses, if it is one learners meet:
    3.11 says only "invalid syntax" for these, as it does for an ordinary typo, so the line
    itself is read to tell them apart."""
    if _TYPE_PARAMS.match(line):
        return "a type parameter list (Python 3.12)"
    if _TYPE_ALIAS.match(line):
        return "a `type` alias statement (Python 3.12)"
    for m in _FSTRING_START.finditer(line):
        if _reuses_quote(line, m.end(), m.group(1)):
            return "an f-string that reuses its own quote inside braces (Python 3.12)"
    return None


def _reuses_quote(line: str, start: int, quote: str) -> bool:
    """Whether the f-string opened just before ``start`` has ``quote`` inside a replacement
    field (``f"{d["k"]}"``), which only Python 3.12 parses."""
    depth = 0
    for ch in line[start:]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == quote:
            if depth == 0:
                return False  # the string ended first
            return True
    return False


def calls_itself_on_others(source: str, func_line: int, name: str) -> bool:
    """Whether the function defined at ``func_line`` calls ``<something>.<name>(...)`` on an
    object other than its own first parameter -- a backward() that recurses into its inputs'
    backward(), or a closure (no parameters) that calls its inputs' ``_backward()``."""
    fn = function_at(source, func_line)
    if not isinstance(fn, ast.FunctionDef):
        return False
    me = fn.args.args[0].arg if fn.args.args else None
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name
               and not (isinstance(n.func.value, ast.Name) and n.func.value.id == me)
               for n in ast.walk(fn))
