"""What only the source shows about the subject class: an op's method indented one level too
deep, inside another method (read from gradcheck's copy, never run).

Python accepts it silently: ``def __neg__(self)`` written inside ``backward`` is a local function
of ``backward``, so the class has no ``__neg__`` and ``-x`` fails. Running the class only shows
that the op is missing (``unsupported-op``, an info); the source shows why, and where.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from gradcheck.capabilities import Capabilities
from gradcheck.findings import Finding
from gradcheck.loader import Submission, Unit
from gradcheck.ops import OPS, Op
from gradcheck.source import module_nodes

_FUNCTIONS = ast.FunctionDef | ast.AsyncFunctionDef


def misplaced_method_findings(submission: Submission, caps: Capabilities | None) -> list[Finding]:
    """One warning per op method that the subject class lacks and that is defined inside one
    of its methods, at that ``def``'s line. Only a ``def`` that takes the enclosing method's
    ``self`` as its own first parameter counts: that is a method written at the wrong depth,
    where a helper named ``exp`` taking a number is deliberate."""
    if caps is None:
        return []
    found = _subject_class(submission, caps)
    if found is None:
        return []
    unit, cls = found
    missing = _missing_op_methods(caps)
    findings, reported = [], set()
    for method in (s for s in cls.body if isinstance(s, _FUNCTIONS)):
        receiver = _first_parameter(method)
        for nested in _defs_in_body(method.body):
            op = missing.get(nested.name)
            if op is None or nested.name in reported or receiver is None:
                continue
            if _first_parameter(nested) != receiver:
                continue
            reported.add(nested.name)
            example = op.apply_source(["a", "b"][:op.arity], op.constants[0] if op.constants else None,
                                      nested.name)
            findings.append(Finding(
                "misplaced-method",
                f"`{nested.name}` is defined inside `{method.name}` (indented one level too "
                f"deep), so it is a local function there and {cls.name} has no `{nested.name}`: "
                f"`{example}` fails",
                op=op.name, location=submission.locate(unit.filename, nested.lineno),
                evidence={"inside": method.name, "while": "reading the source"}))
    return findings


def _missing_op_methods(caps: Capabilities) -> dict[str, Op]:
    """Op methods the class does not have, under every name learners give them (`ReLU`,
    `__exp__`), each with the first op of the table it serves (one method can serve two ops:
    `__pow__` with a number or a Value exponent). A method the class has counts as present even
    when an op it serves was not taken (`__pow__` refusing ints), and a supported op's other
    names are not missing."""
    missing: dict[str, Op] = {}
    for op in OPS:
        for name in op.methods:
            if name not in caps.methods and name not in missing:
                missing[name] = op
    for op in OPS:
        if caps.ops.get(op.name, False):
            for name in op.methods:
                missing.pop(name, None)
    return missing


def _subject_class(submission: Submission, caps: Capabilities) -> tuple[Unit, ast.ClassDef] | None:
    """The class statement the worker's class came from: the one named like it that holds the
    lines of its methods; failing that, the last one of that name (a notebook's latest)."""
    method_lines = {(m.get("file"), m.get("line")) for m in caps.methods.values()}
    named = []  # (unit index, line, unit, class statement)
    for index, unit in enumerate(submission.units):
        named.extend((index, node.lineno, unit, node) for node in module_nodes(unit.code)
                     if isinstance(node, ast.ClassDef) and node.name == caps.class_name)
    for _, _, unit, node in named:
        end = node.end_lineno or node.lineno
        if any(file == unit.filename and isinstance(line, int) and node.lineno <= line <= end
               for file, line in method_lines):
            return unit, node
    last = max(named, key=lambda entry: entry[:2], default=None)
    return last[2:] if last else None


def _defs_in_body(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The ``def`` statements of a method's own body, also under its ``if``/``for``/``with``/
    ``try`` blocks -- not inside its nested functions or classes, which are other scopes."""
    for stmt in body:
        if isinstance(stmt, _FUNCTIONS):
            yield stmt
        elif not isinstance(stmt, ast.ClassDef):
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(stmt, field, None) or []:
                    if isinstance(child, ast.stmt):
                        yield from _defs_in_body([child])
                    else:  # an except handler or a match case: statements one level down
                        yield from _defs_in_body(getattr(child, "body", []))


def _first_parameter(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = [*fn.args.posonlyargs, *fn.args.args]
    return params[0].arg if params else None
