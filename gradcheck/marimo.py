"""Reading a marimo notebook as units the worker runs in order -- without marimo, executing nothing.

A marimo notebook is a ``.py`` file whose top level only wires cells into an app::

    import marimo
    app = marimo.App()

    @app.cell
    def _(math):          # the names this cell uses from other cells
        class Value: ...
        return (Value,)   # the names it gives them

    if __name__ == "__main__":
        app.run()

Run as a plain file it defines nothing (the class lives inside a function nobody calls, and
``import marimo`` fails in the sandbox). So each cell becomes one unit: its body, dedented to the
top level with its ``return`` dropped, run in the one namespace the worker gives a notebook --
there every cell sees the names the cells before it defined, which is what its parameters ask
for. Cells run in the order marimo would run them: after the cells that define what they use,
otherwise in file order. A unit's code keeps the file's line numbers (lines outside the cell are
blank), so the worker's tracebacks and gradcheck's findings point at lines of the ``.py`` file.

A module of its own, beside the loader: it is one more notebook format, with its own reading
rules, and the loader only has to ask whether a file is one.
"""

from __future__ import annotations

import ast
import heapq
from dataclasses import dataclass


@dataclass
class MarimoUnit:
    """One piece of the notebook to run: a cell's body, the setup block, or a top-level
    definition marimo shares between cells (``@app.function``)."""

    label: str
    key: str  # unique within the file: names the unit's code for tracebacks
    code: str  # the file's line count, blank outside this unit, its body dedented
    uses: frozenset[str] = frozenset()
    defines: frozenset[str] = frozenset()
    # what runs before every cell, as marimo has it at module level: the setup block (0), then
    # the shared definitions (1), which may use only setup's names; cells and the rest are 2
    rank: int = 2


def marimo_app_name(tree: ast.Module) -> str | None:
    """The name the file's ``marimo.App(...)`` is bound to, when the file is a marimo notebook:
    it imports marimo, makes an App at top level and decorates at least one function with that
    app's ``cell``. None for any other file (importing marimo alone does not make a notebook)."""
    aliases = {a.asname or a.name for node in tree.body if isinstance(node, ast.Import)
               for a in node.names if a.name == "marimo"}
    if not aliases:
        return None
    apps = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) in {f"{alias}.App" for alias in aliases}):
            apps.add(node.targets[0].id)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                app, role = _app_role(decorator)
                if app in apps and role == "cell":
                    return app
    return None


def marimo_units(source: str, tree: ast.Module, app: str) -> list[MarimoUnit]:
    """The notebook's units in the order to run them (``app`` from ``marimo_app_name``)."""
    # lines as Python counts them (``str.splitlines`` also splits at form feeds and the like)
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    units: list[MarimoUnit] = []
    cells = 0
    for node in tree.body:
        if _is_scaffolding(node, app):
            continue
        decorated = node.decorator_list if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef
                                                      | ast.ClassDef) else []
        roles = {role for owner, role in map(_app_role, decorated) if owner == app}
        if "cell" in roles and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            cells += 1
            named = "" if node.name == "_" else f" `{node.name}`"
            left_out = [s for s in node.body if _only_in_a_function(s)]
            body = [s for s in node.body if s not in left_out]
            units.append(MarimoUnit(
                label=f"cell {cells}{named} (line {node.lineno})", key=f"cell{cells}",
                code=_lift(_blanked(lines, left_out), body), uses=frozenset(_parameters(node)),
                defines=frozenset(_returned(node))))
        elif roles & {"function", "class_definition"}:
            # a definition marimo shares as is: it is already at the top level, only the
            # decorator (which needs marimo) goes
            units.append(MarimoUnit(
                label=f"`{node.name}` (line {node.lineno})", key=f"line{node.lineno}",
                code=_lift(lines, [node], leave_out_decorators_of=app), defines=frozenset({node.name}),
                rank=1))
        elif isinstance(node, ast.With) and any(_app_role(item.context_expr) == (app, "setup")
                                                 for item in node.items):
            units.append(MarimoUnit(label=f"setup (line {node.lineno})", key="setup",
                                    code=_lift(lines, node.body), rank=0))
        else:  # anything else at top level runs where it stands (`__generated_with = "0.9"`)
            units.append(MarimoUnit(label=f"line {node.lineno}", key=f"line{node.lineno}",
                                    code=_lift(lines, [node])))
    return [units[i] for i in _run_order(units)]


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` for an attribute chain of names, "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


def _app_role(node: ast.expr) -> tuple[str, str]:
    """(app, role) for ``app.role`` or ``app.role(...)`` (``@app.cell``, ``with app.setup``);
    ("", "") for anything else."""
    if isinstance(node, ast.Call):
        node = node.func
    dotted = _dotted(node).split(".")
    return (dotted[0], dotted[1]) if len(dotted) == 2 else ("", "")


def _is_scaffolding(node: ast.stmt, app: str) -> bool:
    """What only wires the notebook together: ``import marimo``, ``app = marimo.App()`` and the
    ``if __name__ == "__main__": app.run()`` at the end. marimo is not in the sandbox, and none
    of it defines anything a cell uses."""
    if isinstance(node, ast.Import) and all(a.name == "marimo" for a in node.names):
        return True
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == app):
        return True
    if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
        names = [node.test.left, *node.test.comparators]
        return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names)
    return False


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = fn.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _returned(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The names a cell gives other cells: its ``return (a, b)`` (or ``return a``)."""
    names = []
    for stmt in fn.body:
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            items = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
            names.extend(item.id for item in items if isinstance(item, ast.Name))
    return names


_FUNCTION_ONLY = (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFor, ast.AsyncWith,
                  ast.Nonlocal)


def _only_in_a_function(stmt: ast.stmt) -> bool:
    """Whether a cell's statement compiles only inside a function: its ``return``, and a
    ``yield`` or top-level ``await``/``async for`` (async cells), which marimo's runtime allows. Left out
    of the unit: the worker compiles each statement at module level, and one that cannot
    compile would stop the whole notebook loading."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, _FUNCTION_ONLY) or (isinstance(node, ast.comprehension) and node.is_async):
            return True
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))
    return False


def _blanked(lines: list[str], statements: list[ast.stmt]) -> list[str]:
    """The lines with these statements' text turned to spaces: a cell's ``return`` goes even
    where it shares a line with a statement that stays (``x = 1; return (x,)``)."""
    lines = list(lines)
    for stmt in statements:
        last = stmt.end_lineno or stmt.lineno
        for number in range(stmt.lineno, min(last, len(lines)) + 1):
            raw = lines[number - 1].encode()
            start = stmt.col_offset if number == stmt.lineno else 0
            end = stmt.end_col_offset if number == last and stmt.end_col_offset is not None else len(raw)
            lines[number - 1] = (raw[:start] + b" " * (end - start) + raw[end:]).decode("utf-8", "replace")
    return lines


def _lift(lines: list[str], body: list[ast.stmt], leave_out_decorators_of: str = "") -> str:
    """The statements' lines, dedented to the top level, at their own line numbers; every
    other line of the file blank. Indentation is what the first statement has: a line of a
    statement indented less than that (inside a triple-quoted string) is kept as it is. The
    app's own decorators (``@app.function``: marimo is not there to run them) are left out."""
    out = [""] * len(lines)
    if not body:
        return "\n".join(out)
    indent = body[0].col_offset
    for stmt in body:
        start = stmt.lineno
        decorators = [d for d in getattr(stmt, "decorator_list", [])
                      if not leave_out_decorators_of or _app_role(d)[0] != leave_out_decorators_of]
        if decorators:
            start = min(start, *(d.lineno for d in decorators))
        for number in range(start, (stmt.end_lineno or stmt.lineno) + 1):
            if number > len(lines) or out[number - 1]:
                continue  # two statements on one line (`a = 1; b = 2`): copied once
            text = lines[number - 1]
            if number == stmt.lineno and text[:stmt.col_offset].strip():
                # the body starts on the cell's `def` line: keep from the statement on
                text = text.encode()[stmt.col_offset:].decode("utf-8", "replace")
            elif not text[:indent].strip():
                text = text[indent:]
            out[number - 1] = text
    return "\n".join(out)


def _run_order(units: list[MarimoUnit]) -> list[int]:
    """Indices of the units in the order marimo would run them: the setup block and shared
    definitions first, then each cell once every cell defining a name it uses has run, earliest
    in the file first. A cycle (which marimo refuses to run) is broken at its earliest cell."""
    early = [i for i in sorted(range(len(units)), key=lambda i: units[i].rank) if units[i].rank < 2]
    cells = [i for i, unit in enumerate(units) if unit.rank == 2]
    return early + [cells[j] for j in _dataflow_order([units[i] for i in cells])]


def _dataflow_order(units: list[MarimoUnit]) -> list[int]:
    """Kahn's topological order over "uses a name this unit defines", smallest index first."""
    provider: dict[str, int] = {}
    for index, unit in enumerate(units):
        for name in unit.defines:
            provider.setdefault(name, index)
    needs = [{provider[n] for n in u.uses if n in provider and provider[n] != i}
             for i, u in enumerate(units)]
    waiting = [len(n) for n in needs]
    users: dict[int, list[int]] = {}
    for index, need in enumerate(needs):
        for provided_by in need:
            users.setdefault(provided_by, []).append(index)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    done = [False] * len(units)
    order: list[int] = []
    earliest_not_done = 0
    while len(order) < len(units):
        if ready:
            index = heapq.heappop(ready)
            if done[index]:
                continue
        else:
            while done[earliest_not_done]:
                earliest_not_done += 1
            index = earliest_not_done
        done[index] = True
        order.append(index)
        for user in users.get(index, []):
            waiting[user] -= 1
            if waiting[user] == 0 and not done[user]:
                heapq.heappush(ready, user)
    return order
