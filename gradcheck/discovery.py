"""Which file of a folder is the submission, read without running anything: the one whose
class looks most like a Value (the op table's methods). Used for a folder named to ``check``
(one submission, the rest its helpers) and for a batch of submissions (one per file).

Within a notebook, which definition of the class is: lecture notebooks define ``class Value``
again and again, each with more ops, and sometimes end with an exercise's cut-down variant (two
ops, another experiment). The one checked is the latest among the definitions with the most of
the table's ops (``definition_to_check``), so a later full definition that fixes a bug wins
and a later smaller one does not.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from gradcheck.notebook_syntax import strip_ipython
from gradcheck.ops import OPS
from gradcheck.source import parse_or_none


def discover(folder: Path, class_name: str | None = None) -> list[Path]:
    """The files in a folder that define the class. One file: the folder is one submission
    (its other files are helpers). Several: a collection, e.g. ``reference_impls/``."""
    return [entry[-1] for entry in sorted(_scored_files(folder, class_name))]


def _scored_files(folder: Path, class_name: str | None) -> list[tuple]:
    """(key, path) for each file under ``folder`` that defines the class. The walk keeps its
    own stack (a folder nested thousands deep would exhaust ``rglob``'s recursion) and skips
    hidden entries, ``__pycache__`` and symlinks; no single file can stop it."""
    candidates, stack = [], [folder]
    while stack:
        current = stack.pop()
        try:
            children = list(current.iterdir())
        except OSError:  # unreadable, or vanished meanwhile
            continue
        for child in children:
            if child.name.startswith(".") or child.name == "__pycache__":  # .ipynb_checkpoints too
                continue
            try:
                if child.is_symlink():  # it may lead to a classmate's file: never the submission
                    continue
                if child.is_dir():
                    stack.append(child)
                elif child.suffix in (".py", ".ipynb"):
                    candidates.append(child)
            except OSError:
                continue
    scored = []
    for path in sorted(candidates):
        try:
            score = _class_score(path, class_name)
        except (OSError, ValueError, RecursionError, MemoryError):  # what a hostile file can cause
            continue
        if score > 0:
            scored.append((str(path), path))
    return scored


def pick_file(folder: Path, class_name: str | None) -> Path | None:
    """The file in a folder that defines the class: the one whose class has the most
    arithmetic dunders; .py preferred over .ipynb when tied. None when no file does."""
    scored = [(-_class_score(path, class_name), path.suffix != ".py", len(path.parts), key, path)
              for key, path in _scored_files(folder, class_name)]
    return min(scored)[-1] if scored else None


# Discovery reads at most this much of a file: more than any notebook with its outputs needs,
# and a bound on what one hostile file can cost the trusted process.
_DISCOVERY_READ_BYTES = 16 * 2**20
# what makes a class look like the subject, in a folder of files: the op table's methods
_VALUE_METHODS = frozenset({m for op in OPS for m in op.methods} | {"backward"})


def _class_score(path: Path, class_name: str | None) -> int:
    """How much the file looks like it defines the class (0: not at all): the arithmetic
    dunders of its best class. A file that is too big or too deeply nested to parse safely
    scores 1 if its text mentions the class, so that loading it reports its error rather than
    skipping it silently; one that cannot be read as text or a notebook scores 0."""
    mentions = re.compile(rf"class\s+{re.escape(class_name or 'Value')}\b").search
    try:
        if not path.is_file():  # a FIFO would block discovery, a device never end it
            return 0
        with path.open("rb") as f:
            raw = f.read(_DISCOVERY_READ_BYTES + 1)
    except OSError:
        return 0
    if len(raw) > _DISCOVERY_READ_BYTES:
        return 1 if mentions(raw.decode("utf-8", errors="replace")) else 0
    try:
        text = raw.decode("utf-8")
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                       for c in cells if c.get("cell_type") == "code"]
        else:
            sources = [text]
    except (ValueError, TypeError, AttributeError, RecursionError, MemoryError):
        return 0
    best = 0
    for source in (s for s in sources if isinstance(s, str)):
        tree = parse_or_none(strip_ipython(source))
        if tree is None:
            if mentions(source):
                best = max(best, 1)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                if class_name and node.name != class_name:
                    continue
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                score = len(methods & _VALUE_METHODS)
                if node.name.lower() == "value":
                    score += 1
                best = max(best, score)
    return best


@dataclass(frozen=True)
class Definition:
    """One top-level ``class`` statement of a submission, with the table's ops it supports."""

    name: str
    filename: str  # the unit's, as the worker runs it
    cell: int | None
    line: int  # of the ``class`` statement in its unit
    end: int
    ops: frozenset[str]
    # what gives it an ``__eq__`` without a ``__hash__`` ("__eq__" written in its body, or
    # "@dataclass" generating one), "" if nothing does: Python makes such a class unhashable,
    # so ``set(children)`` or a visited set of its values raises TypeError
    unhashable: str = ""

    def holds(self, filename: str | None, line: int | None) -> bool:
        return filename == self.filename and isinstance(line, int) and self.line <= line <= self.end


def class_definitions(units: Iterable[tuple[str, int | None, str]]) -> dict[str, list[Definition]]:
    """Every top-level class statement of the (filename, cell, code) units, in the order they
    run, by name. A definition's ops are those of the methods its body defines, of the classes
    it derives from (``class Value(Value)`` extends the one before), and of the methods assigned
    to it afterwards (``Value.__radd__ = radd``) until its name is defined again."""
    found: dict[str, list[Definition]] = {}
    methods: dict[str, set[str]] = {}  # name -> the methods of its latest definition so far
    patched: dict[str, set[str]] = {}  # name -> those assigned after its latest definition
    for filename, cell, code in units:
        tree = parse_or_none(strip_ipython(code))
        if tree is None:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                _settle(found, methods, patched, stmt.name)  # the one it replaces has all its ops
                bases = [methods.get(b.id, set()) for b in stmt.bases if isinstance(b, ast.Name)]
                own = _body_names(stmt)
                methods[stmt.name], patched[stmt.name] = set().union(*bases) | own, set()
                found.setdefault(stmt.name, []).append(Definition(
                    stmt.name, filename, cell, stmt.lineno, stmt.end_lineno or stmt.lineno, frozenset(),
                    unhashable=_unhashable_by(stmt, own)))
            else:
                for name, method in _patched(stmt):
                    if name in methods:
                        methods[name].add(method)
                        patched[name].add(method)
    for name in found:
        _settle(found, methods, patched, name)
    return found


def _settle(found: dict[str, list[Definition]], methods: dict[str, set[str]],
            patched: dict[str, set[str]], name: str) -> None:
    """Give the latest definition of ``name`` the ops of the methods it has now."""
    if name in found:
        latest = found[name][-1]
        ops = frozenset(op.name for op in OPS if methods[name] & set(op.methods))
        hashed = "__hash__" in patched[name]
        found[name][-1] = replace(latest, ops=ops, unhashable="" if hashed else latest.unhashable)


def definition_to_check(definitions: list[Definition]) -> Definition | None:
    """The latest of the definitions with the most ops; None when the class has no op at all
    (not a Value-like class: the notebook's own binding stands)."""
    most = max((len(d.ops) for d in definitions), default=0)
    if most == 0:
        return None
    return [d for d in definitions if len(d.ops) == most][-1]


def _unhashable_by(cls: ast.ClassDef, own: set[str]) -> str:
    """What leaves the class with ``__eq__`` and ``__hash__ = None``: its own ``__eq__`` (when no
    decorator could add a hash), or ``@dataclass`` comparing fields without ``frozen`` or
    ``unsafe_hash`` (a plain dataclass node); "" when neither does."""
    if "__hash__" in own:
        return ""
    if not cls.decorator_list:
        return "__eq__" if "__eq__" in own else ""
    if len(cls.decorator_list) != 1:
        return ""
    decorator = cls.decorator_list[0]
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    if name != "dataclass":
        return ""
    options = {k.arg: k.value for k in (call.keywords if call else [])}
    if any(not isinstance(options.get(k, ast.Constant(None)), ast.Constant) for k in ("eq", "frozen", "unsafe_hash")):
        return ""  # decided at run time: cannot be read

    def given(key: str, default: bool) -> bool:
        return bool(options[key].value) if key in options else default

    unhashable = given("eq", True) and not given("frozen", False) and not given("unsafe_hash", False)
    return "@dataclass" if unhashable else ""


def _body_names(cls: ast.ClassDef) -> set[str]:
    """The names a class body binds: its methods, and aliases such as ``__radd__ = __add__``."""
    names = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return names


def _patched(stmt: ast.stmt) -> list[tuple[str, str]]:
    """(class name, method) for each ``Name.method = ...`` of a top-level assignment."""
    if not isinstance(stmt, ast.Assign):
        return []
    return [(t.value.id, t.attr) for t in stmt.targets
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)]
