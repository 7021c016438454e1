"""Fixes for ``backward()``'s walk: the small edit where the walk has the lecture's shape
(``reversed(topo)``, the visited set made once and filled before recursing, the output's grad
seeded with 1), else the whole method rewritten in the lecture's shape -- said to be a rewrite.
"""

from __future__ import annotations

import ast

from gradcheck.findings import Finding
from gradcheck.fixes import statement_edits as change
from gradcheck.fixes.locate import Function, calls_itself, closures, indent_of, operands, statements
from gradcheck.fixes.patch import Edit, replacing
from gradcheck.fixes.proposal import Context, Proposal
from gradcheck.fixes.textbook import backward_method


def _backward(ctx: Context) -> tuple[int | None, Function] | None:
    name = ctx.names.backward
    return ctx.code.method(ctx.names.class_name, name) if name else None


def _running_loop(method: Function) -> ast.For | None:
    """The loop that runs the nodes' rules: the last ``for`` of the method's own body."""
    loops = [n for n in method.body if isinstance(n, ast.For)]
    return loops[-1] if loops else None


def rewritten(finding: Finding, ctx: Context) -> Proposal | None:
    """The whole ``backward()`` in the lecture's shape, in the class's attribute names; only for
    the closure design (per-node closures and recorded inputs, as found by probing)."""
    names = ctx.names
    if names.closure is None or names.inputs is None:
        return None
    found = _backward(ctx)
    if found is None:
        return None
    cell, method = found
    me = (operands(method) or ("self",))[0]
    first = method.decorator_list[0].lineno if method.decorator_list else method.lineno
    indent = indent_of(ctx.code.cells[cell], method.lineno)
    lines = backward_method(method.name, me, names.inputs, names.closure, names.grad)
    text = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
    edits = [Edit(cell, first, method.end_lineno or method.lineno, replacing(text))]
    if finding.code == "per-node-recursion" and finding.evidence.get("in_closures"):
        edits += _closure_calls_removed(ctx)
    return Proposal(finding, edits, f"`{method.name}()` rewritten in the lecture's shape"
                    + (", and no closure calls another" if len(edits) > 1 else ""), rewrite=True)


def _closure_calls_removed(ctx: Context) -> list[Edit]:
    """The ops' closures that run their inputs' closures themselves (``self._backward()`` at
    their end): those calls removed, since the walk now runs every closure once, in order."""
    found = ctx.code.class_def(ctx.names.class_name)
    attr = ctx.names.closure
    if found is None or attr is None:
        return []
    cell, cls = found
    edits = []
    for method in (m for m in cls.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)):
        for closure in closures(method):
            calls = [n for n in closure.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
                     and isinstance(n.value.func, ast.Attribute) and n.value.func.attr == attr
                     and not n.value.args]
            if len(calls) == len(closure.body):
                continue  # nothing else in it: not a rule with a walk appended
            edits += [Edit(cell, n.lineno, n.end_lineno or n.lineno, replacing("")) for n in calls]
    return edits


def add_backward(finding: Finding, ctx: Context) -> Proposal | None:
    """no-backward: the lecture's ``backward()`` added at the end of the class."""
    names = ctx.names
    found = ctx.code.class_def(names.class_name)
    if found is None or names.closure is None or names.inputs is None:
        return None
    cell, cls = found
    last = cls.body[-1]
    indent = indent_of(ctx.code.cells[cell], last.lineno)
    if isinstance(last, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and last.decorator_list:
        indent = indent_of(ctx.code.cells[cell], last.decorator_list[0].lineno)
    lines = ["", *backward_method(names.backward or "backward", "self", names.inputs, names.closure, names.grad)]
    end = last.end_lineno or last.lineno
    return Proposal(finding, [Edit(cell, end, end, change.insert_after(lines, indent))],
                    "a `backward()` in the lecture's shape", rewrite=True)


def reverse_order(finding: Finding, ctx: Context) -> Proposal | None:
    """topo-order: ``for v in topo:`` -> ``for v in reversed(topo):``; else the rewrite."""
    found = _backward(ctx)
    if found is None:
        return None
    cell, method = found
    loop = _running_loop(method)
    if loop is not None and isinstance(loop.iter, ast.Name) and _appended_in(method, loop.iter.id):
        return Proposal(finding, [Edit(cell, loop.lineno, loop.lineno, change.reversed_loop)],
                        f"walk `{loop.iter.id}` in reverse: consumers before their inputs")
    return rewritten(finding, ctx)


def _appended_in(method: Function, name: str) -> bool:
    """Whether the method builds ``name`` by appending (a topological order, inputs first)."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
               and isinstance(n.func.value, ast.Name) and n.func.value.id == name for n in ast.walk(method))


def seed_output(finding: Finding, ctx: Context) -> Proposal | None:
    """grad-seed: every grad starts at 0 (``__init__``) and the output's is set to 1 before the
    loop that runs the rules."""
    names = ctx.names
    edits: list[Edit] = []
    init = ctx.code.method(names.class_name, "__init__")
    if names.initial_grad not in (0, None) and init is not None:
        cell, fn = init
        me = (operands(fn) or ("self",))[0]
        for node in fn.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and _is_attr(node.targets[0], me, names.grad)
                    and isinstance(node.value, ast.Constant)):
                edits.append(Edit(cell, node.lineno, node.end_lineno or node.lineno, change.set_value("0.0")))
    found = _backward(ctx)
    if found is not None:
        cell, method = found
        me = (operands(method) or ("self",))[0]
        seeds = [n for n in statements(method) if isinstance(n, ast.Assign) and len(n.targets) == 1
                 and _is_attr(n.targets[0], me, names.grad)]
        loop = _running_loop(method)
        if seeds:
            seed = seeds[-1]
            if not (isinstance(seed.value, ast.Constant) and seed.value.value == 1):
                edits.append(Edit(cell, seed.lineno, seed.end_lineno or seed.lineno, change.set_value("1.0")))
        elif loop is not None:
            edits.append(Edit(cell, loop.lineno, loop.lineno, change.insert_before([f"{me}.{names.grad} = 1.0"])))
    if not edits:
        return None
    return Proposal(finding, edits, "start every grad at 0 and the output's at 1")


def _is_attr(node: ast.AST, base: str, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
            and node.value.id == base)


def visit_once(finding: Finding, ctx: Context) -> Proposal | None:
    """topo-revisit: in a recursive ``build_topo(v)`` guarded by ``if v not in visited:``, the
    set made once (outside the helper) and ``visited.add(v)`` done first; else the rewrite."""
    found = _backward(ctx)
    if found is None:
        return None
    cell, method = found
    text = ctx.code.cells[cell]
    for helper in (n for n in method.body if isinstance(n, ast.FunctionDef) and calls_itself(n)):
        guard = next((n for n in ast.walk(helper) if isinstance(n, ast.If) and _not_in(n.test)), None)
        if guard is None:
            continue
        # `if v not in visited:` guards the node itself, `if child not in visited:` each input
        param, seen = guard.test.left.id, guard.test.comparators[0].id
        edits = []
        made_inside = [n for n in helper.body if isinstance(n, ast.Assign) and len(n.targets) == 1
                       and isinstance(n.targets[0], ast.Name) and n.targets[0].id == seen]
        for node in made_inside:  # moved out: one set for the whole walk
            line = text.splitlines()[node.lineno - 1].strip()
            edits.append(Edit(cell, node.lineno, node.end_lineno or node.lineno, replacing("")))
            edits.append(Edit(cell, helper.lineno, helper.lineno, change.insert_before([line])))
        adds = [n for n in ast.walk(helper) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == "add" and isinstance(n.func.value, ast.Name) and n.func.value.id == seen]
        first = guard.body[0]
        if not adds:
            edits.append(Edit(cell, first.lineno, first.lineno, change.insert_before([f"{seen}.add({param})"])))
        elif all(a.lineno > first.lineno for a in adds) and not isinstance(first, ast.Expr):
            for a in adds:
                edits.append(Edit(cell, a.lineno, a.end_lineno or a.lineno, replacing("")))
            edits.append(Edit(cell, first.lineno, first.lineno, change.insert_before([f"{seen}.add({param})"])))
        if edits:
            return Proposal(finding, edits, f"one `{seen}` set for the whole walk, filled before recursing")
    return rewritten(finding, ctx)


def _not_in(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotIn)
            and isinstance(test.left, ast.Name) and isinstance(test.comparators[0], ast.Name))
