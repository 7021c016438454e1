"""Fixes for designs without closures, where each node records the local derivative towards
each of its inputs (its *slopes*) and one loop in ``backward()`` applies them all:

- a rule passed with the result, ``self._make(data, (self, other), "-", lambda o: (1, -1))``;
- slopes beside the inputs, ``Value(data, (self,), (k * self.data ** (k - 1),))``;
- (input, slope) pairs, ``Var(data, ("log", ((self, 1 / self.data),)))`` -- or none at all,
  ``("exp", ())``, in a class whose other ops record pairs.

A wrong or missing slope is replaced by the textbook one in the learner's names, in the place
and shape the learner's own code records it: a rewrite of that expression, and said so.
"""

from __future__ import annotations

import ast

from gradcheck.findings import Finding
from gradcheck.fixes import statement_edits as change
from gradcheck.fixes.locate import Function, final_return, operands, statements
from gradcheck.fixes.patch import Edit
from gradcheck.fixes.proposal import Context, Proposal
from gradcheck.fixes.textbook import Names, slopes


def recorded_slopes(finding: Finding, ctx: Context, cell: int | None, method: Function,
                    op: str) -> Proposal | None:
    """The op method's recorded slopes rewritten with the textbook ones, or None when the method
    records none of the shapes above."""
    built = _building_statement(method)
    params = operands(method)
    if built is None or not params:
        return None
    site = _slope_site(built, params) or _missing_pairs(built, params, ctx)
    if site is None:
        return None
    node, order, out, pairs = site
    names = Names(operands=params, out=out, grad=ctx.names.grad, data=ctx.names.data)
    written = slopes(op, names, ctx.code.has_math())
    if written is None:
        return None
    order = order or list(params[:len(written)])
    if any(params.index(n) >= len(written) for n in order):
        return None
    parts = [f"({n}, {written[params.index(n)]})" if pairs else written[params.index(n)] for n in order]
    new = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    old = ast.get_source_segment(ctx.code.cells[cell], node)
    if old is None or old == new:
        return None
    first = built.lineno
    edit = Edit(cell, first, built.end_lineno or first, change.replace_expression(first, node, old, new))
    return Proposal(finding, [edit], f"the textbook slopes for `{op}`: `{new}`", rewrite=True)


def _building_statement(method: Function) -> ast.stmt | None:
    """The statement that builds the result: the method's final ``return <call>``, or the
    assignment to the name it returns."""
    ret = final_return(method)
    if ret is None:
        return None
    if isinstance(ret.value, ast.Call):
        return ret
    if isinstance(ret.value, ast.Name):
        assigned = [n for n in statements(method) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                    and any(isinstance(t, ast.Name) and t.id == ret.value.id for t in n.targets)]
        return assigned[-1] if assigned else None
    return None


def _is_inputs(node: ast.AST, params: tuple[str, ...]) -> bool:
    return (isinstance(node, ast.Tuple) and bool(node.elts)
            and all(isinstance(e, ast.Name) and e.id in params for e in node.elts))


def _is_pairs(node: ast.AST, params: tuple[str, ...]) -> bool:
    return (isinstance(node, ast.Tuple) and bool(node.elts)
            and all(isinstance(e, ast.Tuple) and len(e.elts) == 2 and isinstance(e.elts[0], ast.Name)
                    and e.elts[0].id in params for e in node.elts))


def _slope_site(built: ast.stmt, params: tuple[str, ...]):
    """(the slopes' tuple, the operand each entry is for, the result's name, pairs?) or None."""
    inputs = next((n for n in ast.walk(built) if _is_inputs(n, params)), None)
    if inputs is not None:
        order = [e.id for e in inputs.elts]
        for n in ast.walk(built):
            if (isinstance(n, ast.Lambda) and len(n.args.args) == 1 and isinstance(n.body, ast.Tuple)
                    and len(n.body.elts) == len(order)):
                return n.body, order, n.args.args[0].arg, False
        for n in ast.walk(built):
            if isinstance(n, ast.Tuple) and n is not inputs and len(n.elts) == len(order) \
                    and not _is_inputs(n, params) and not _is_pairs(n, params):
                return n, order, None, False
        return None
    pairs = next((n for n in ast.walk(built) if _is_pairs(n, params)), None)
    if pairs is not None:
        return pairs, [e.elts[0].id for e in pairs.elts], None, True
    return None


def _missing_pairs(built: ast.stmt, params: tuple[str, ...], ctx: Context):
    """An empty ``()`` where the class's other ops record their (input, slope) pairs: the op's
    pairs were left out (its inputs get no gradient)."""
    empty = [n for n in ast.walk(built) if isinstance(n, ast.Tuple) and not n.elts]
    found = ctx.code.class_def(ctx.names.class_name)
    if len(empty) != 1 or found is None:
        return None
    _, cls = found
    others = [m for m in cls.body if isinstance(m, Function)
              and any(_is_pairs(n, operands(m)) for n in ast.walk(m))]
    if not others:
        return None
    return empty[0], None, None, True  # for as many operands as the op's rule has
