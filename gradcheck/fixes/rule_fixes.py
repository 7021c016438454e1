"""Fixes for an op's backward rule: the edit at the closure's statements, in the learner's names.

Which edit is decided by the finding's code and op (typed data); the source is read only to place
it. Every proposer returns None when the code does not have the shape its edit needs.
"""

from __future__ import annotations

import ast

from gradcheck.findings import Finding
from gradcheck.fixes import statement_edits as change
from gradcheck.fixes.locate import (
    Function,
    closures,
    final_return,
    grad_writes,
    indent_of,
    operands,
    reads_attribute,
    returned_name,
)
from gradcheck.fixes.patch import Edit, replacing
from gradcheck.fixes.proposal import Context, Proposal
from gradcheck.fixes.slope_fixes import recorded_slopes
from gradcheck.fixes.textbook import Names as RuleNames
from gradcheck.fixes.textbook import rule_lines


def _op_site(finding: Finding, ctx: Context, own: bool = False) -> tuple[int | None, Function, Function | None] | None:
    """(cell, op method, its closure): from the finding's line when it lies in a closure, else
    from the method the capability probe found for the op. ``own``: only a closure of the op's
    own method -- not the one closure a helper (``_make(data, children, rule)``) builds for
    every op, whose rule the op passes in."""
    loc = finding.location
    method_name = ctx.names.op_methods.get(finding.op or "")
    if loc is not None and loc.line:
        chain = ctx.code.functions_around(loc.cell, loc.line)
        # class method -> closure: the closure is the innermost, its method the one around it
        if len(chain) >= 2 and chain[-1] in closures(chain[-2]) \
                and not (own and method_name and chain[-2].name != method_name):
            return loc.cell, chain[-2], chain[-1]
    found = ctx.code.method(ctx.names.class_name, method_name) if method_name else None
    if found is None:
        return None
    cell, method = found
    attached = [c for c in closures(method) if _attached(method, c, ctx.names.closure)]
    inner = attached or closures(method)
    return cell, method, inner[0] if len(inner) == 1 else None


def _attached(method: Function, closure: Function, attr: str | None) -> bool:
    return any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == attr for t in n.targets)
               and any(isinstance(v, ast.Name) and v.id == closure.name for v in ast.walk(n.value))
               for n in ast.walk(method))


def _statement_edit(cell: int | None, node: ast.stmt, fn) -> Edit:
    return Edit(cell, node.lineno, node.end_lineno or node.lineno, fn)


def accumulate(finding: Finding, ctx: Context) -> Proposal | None:
    """grad-overwrite: ``=`` -> ``+=`` at every assigning statement of the closure (or only the
    finding's statement when it lies in a method, e.g. a loop in ``backward()``)."""
    grad, loc = ctx.names.grad, finding.location
    site = _op_site(finding, ctx)
    if site is not None and site[2] is not None:
        cell, _, closure = site
        targets = [n for n in grad_writes(closure, grad) if isinstance(n, ast.Assign)
                   and not reads_attribute(n.value, _base(n.targets[0]), grad)]
    elif loc is not None and loc.line:
        cell = loc.cell
        chain = ctx.code.functions_around(cell, loc.line)
        me = (operands(chain[-1]) or ("",))[0] if chain else ""
        # a method's own `self.grad = ...` is its start (``__init__``) or the seed: not an input's
        targets = [n for n in grad_writes(chain[-1], grad) if n.lineno == loc.line
                   and isinstance(n, ast.Assign) and _base(n.targets[0]) != me
                   and not isinstance(n.value, ast.Constant)] if chain else []
    else:
        return None
    if not targets and (site is None or site[2] is None):
        cell, targets = _overwrites_in_backward(ctx)
    if not targets:
        return None
    edits = [_statement_edit(cell, n, change.accumulate(grad)) for n in targets]
    return Proposal(finding, edits, "accumulate with `+=` instead of assigning with `=`")


def _overwrites_in_backward(ctx: Context) -> tuple[int | None, list[ast.Assign]]:
    """An op with no closure of its own has its rule applied by ``backward()`` (a tape): there,
    the statements that set an input's grad from the upstream one without adding to it. Setting
    the output's grad (the seed) or a constant (zeroing) is not an overwrite."""
    found = ctx.code.method(ctx.names.class_name, ctx.names.backward) if ctx.names.backward else None
    if found is None:
        return None, []
    cell, method = found
    me, grad = (operands(method) or ("",))[0], ctx.names.grad
    return cell, [n for n in grad_writes(method, grad) if isinstance(n, ast.Assign) and _base(n.targets[0]) != me
                  and not isinstance(n.value, ast.Constant) and not reads_attribute(n.value, _base(n.targets[0]), grad)
                  and any(isinstance(a, ast.Attribute) and a.attr == grad for a in ast.walk(n.value))]


def _base(target: ast.expr) -> str:
    return target.value.id if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) else ""


def times_upstream(finding: Finding, ctx: Context) -> Proposal | None:
    """missing-chain-factor: ``* out.grad`` (the learner's name for the result) appended to each
    gradient statement of the closure that does not read it."""
    site = _op_site(finding, ctx)
    if site is None or site[2] is None:
        return None
    cell, method, closure = site
    out, grad = returned_name(method), ctx.names.grad
    if out is None:
        return None
    targets = [n for n in grad_writes(closure, grad) if not reads_attribute(n.value, out, grad)]
    if not targets:
        return None
    edits = [_statement_edit(cell, n, change.times_upstream(grad, out)) for n in targets]
    return Proposal(finding, edits, f"multiply by the upstream gradient `{out}.{grad}`")


def product_for_power(finding: Finding, ctx: Context) -> Proposal | None:
    """power-for-product: ``d ** out.grad`` -> ``d * out.grad``."""
    site = _op_site(finding, ctx)
    if site is None or site[2] is None:
        return None
    cell, method, closure = site
    out, grad = returned_name(method), ctx.names.grad
    targets = [n for n in grad_writes(closure, grad)
               if out and any(isinstance(b, ast.BinOp) and isinstance(b.op, ast.Pow)
                              and reads_attribute(b.right, out, grad) for b in ast.walk(n.value))]
    if not targets:
        return None
    edits = [_statement_edit(cell, n, change.product_for_power(grad, out)) for n in targets]
    return Proposal(finding, edits, f"multiply by `{out}.{grad}` with `*`, not `**`")


def store_not_call(finding: Finding, ctx: Context) -> Proposal | None:
    """closure-called-at-build: ``out._backward = _backward()`` -> ``... = _backward``."""
    site = _op_site(finding, ctx)
    if site is None or ctx.names.closure is None:
        return None
    cell, method, _ = site
    names = {c.name for c in closures(method)}
    calls = [n for n in method.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
             and isinstance(n.value.func, ast.Name) and n.value.func.id in names
             and any(isinstance(t, ast.Attribute) and t.attr == ctx.names.closure for t in n.targets)]
    if not calls:
        return None
    edits = [_statement_edit(cell, n, change.stored_not_called(ctx.names.closure)) for n in calls]
    return Proposal(finding, edits, "store the closure itself instead of calling it")


def attach(finding: Finding, ctx: Context) -> Proposal | None:
    """closure-not-attached: the closure stored under the attribute the walk calls."""
    site = _op_site(finding, ctx)
    attr = ctx.names.closure
    if site is None or attr is None:
        return None
    cell, method, closure = site
    out = returned_name(method)
    if closure is None or (_attached(method, closure, attr) and out is None):
        return None
    on_other = [n for n in method.body if isinstance(n, ast.Assign) and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Attribute) and n.targets[0].attr == attr
                and isinstance(n.targets[0].value, ast.Name) and n.targets[0].value.id != out
                and isinstance(n.value, ast.Name) and n.value.id == closure.name]
    if any(_base(n.targets[0]) == out for n in ast.walk(method) if isinstance(n, ast.Assign)
           and isinstance(n.targets[0], ast.Attribute) and n.targets[0].attr == attr):
        return None  # stored on the result already
    if on_other and out is not None:  # `self._backward = push`: on an operand, not the result
        edits = [_statement_edit(cell, on_other[0], change.rebase_attribute(attr, out))]
        return Proposal(finding, edits, f"store the closure on the result: `{out}.{attr} = {closure.name}`")
    stores = [n for n in method.body if isinstance(n, ast.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0], ast.Attribute) and n.targets[0].attr != attr
              and isinstance(n.value, ast.Name) and n.value.id == closure.name]
    if stores:
        edits = [_statement_edit(cell, n, change.retarget_attribute(stores[0].targets[0].attr, attr))
                 for n in stores[:1]]
        return Proposal(finding, edits, f"store the closure as `{out or 'out'}.{attr}`")
    ret = final_return(method)
    if ret is None or out is None:
        return None
    edit = Edit(cell, ret.lineno, ret.lineno, change.insert_before([f"{out}.{attr} = {closure.name}"]))
    return Proposal(finding, [edit], f"attach the closure: `{out}.{attr} = {closure.name}`")


def textbook_rule(finding: Finding, ctx: Context) -> Proposal | None:
    """wrong-derivative, grad-not-propagated: the closure's body replaced by the textbook rule in
    the learner's names; in a design without closures, the slopes the op records
    (``slope_fixes``); for a method that builds neither, a closure added before its ``return``.
    A rewrite, and said so."""
    site = _op_site(finding, ctx, own=True)
    if site is None:
        return None
    cell, method, closure = site
    op = _rule_op(finding.op or "", method)
    if closure is None:
        recorded = recorded_slopes(finding, ctx, cell, method, op)
        if recorded is not None:
            return recorded
    out = returned_name(method)
    names = RuleNames(operands=operands(method), out=out, grad=ctx.names.grad, data=ctx.names.data)
    rule = rule_lines(op, names, ctx.code.has_math())
    if rule is None:
        return None
    text = ctx.code.cells[cell]
    if closure is not None:
        first, last = closure.body[0].lineno, closure.body[-1].end_lineno or closure.body[-1].lineno
        indent = indent_of(text, first)
        body = "".join(f"{indent}{line}\n" for line in rule)
        return Proposal(finding, [Edit(cell, first, last, replacing(body))],
                        f"the textbook rule for `{finding.op}`", rewrite=True)
    ret = final_return(method)
    if ret is None or ctx.names.closure is None or closures(method):
        return None
    if ctx.code.method(ctx.names.class_name, ctx.names.closure) is not None:
        return None  # the class's own method runs the rules (a dispatch design): no closure to add
    block = ["def _backward():", *(f"    {line}" for line in rule), f"{out}.{ctx.names.closure} = _backward"]
    edit = Edit(cell, ret.lineno, ret.lineno, change.insert_before(block))
    return Proposal(finding, [edit], f"a `_backward` for `{finding.op}` with the textbook rule", rewrite=True)


def _rule_op(op: str, method: Function) -> str:
    """A max against a number whose method makes the number a value first has the two-value
    rule: both are values by the time the rule reads them."""
    params = operands(method)
    if op == "maximum_number" and len(params) > 1 and any(
            isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == params[1] for t in n.targets)
            for n in method.body):
        return "maximum"
    return op


def inputs_as_tuple(finding: Finding, ctx: Context) -> Proposal | None:
    """A result built with its input passed as itself (``Value(x, (self), ...)``: the parentheses
    make no tuple), with no inputs before the op's label (``Value(x, "tanh")``) or with none at
    all (``Value(x)``): the inputs passed as a tuple."""
    site = _op_site(finding, ctx)
    if site is None:
        return None
    cell, method, _ = site
    params, out = operands(method), returned_name(method)
    for node in method.body:
        call = node.value if isinstance(node, ast.Assign) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and params
                and call.func.id == ctx.names.class_name and call.args
                and any(isinstance(t, ast.Name) and t.id == out for t in node.targets)):
            continue
        if len(call.args) == 1 and not call.keywords:
            arg = call.args[0]
            return Proposal(finding, [Edit(cell, arg.end_lineno or arg.lineno, arg.end_lineno or arg.lineno,
                                           _inputs_after(arg, params[0]))],
                            f"record the input: `({params[0]},)` after the result's value")
        arg = call.args[1] if len(call.args) >= 2 else None
        if isinstance(arg, ast.Name) and arg.id in params:
            return Proposal(finding, [Edit(cell, arg.lineno, arg.end_lineno or arg.lineno,
                                           _wrap_name(arg))], f"pass the input as a tuple: `({arg.id},)`")
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return Proposal(finding, [Edit(cell, arg.lineno, arg.end_lineno or arg.lineno,
                                           _tuple_before(arg, params[0]))],
                            f"record the input: `({params[0]},)` before the op's label")
    return None


def add_import(finding: Finding, ctx: Context) -> Proposal | None:
    """An op that uses a module it never imports (gradcheck imported it to check the rest, and
    says so in the evidence): the import added above the class."""
    modules = finding.evidence.get("checked_after_adding")
    found = ctx.code.class_def(ctx.names.class_name)
    if not modules or found is None:
        return inputs_as_tuple(finding, ctx)
    cell, _ = found
    body = [n for n in ctx.code.trees[cell].body
            if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
            and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str))]
    if not body:
        return None
    first = body[0]
    at = first.decorator_list[0].lineno if getattr(first, "decorator_list", None) else first.lineno
    lines = [f"import {m}" for m in modules if isinstance(m, str) and m.isidentifier()]
    if not lines:
        return None
    return Proposal(finding, [Edit(cell, at, at, change.insert_before([*lines, ""]))],
                    "import " + ", ".join(f"`{m}`" for m in modules) + " above the class")


def _inputs_after(arg: ast.expr, name: str):
    def run(text: str) -> str:
        rows = text.splitlines(keepends=True)
        line = rows[-1].encode()
        tail = line[arg.end_col_offset:].decode()
        if tail.lstrip().startswith(","):
            return text
        rows[-1] = line[:arg.end_col_offset].decode() + f", ({name},)" + tail
        return "".join(rows)
    return run


def _wrap_name(arg: ast.Name):
    def run(text: str) -> str:
        lines = text.splitlines(keepends=True)
        row = lines[0].encode()
        start, end = arg.col_offset, arg.end_col_offset
        if row[start:end].decode() != arg.id:
            return text
        before = row[:start].decode().rstrip()
        after = row[end:].decode().lstrip()
        if before.endswith("(") and after.startswith(",)"):
            return text
        if before.endswith("(") and after.startswith(")"):
            lines[0] = (row[:end].decode() + "," + row[end:].decode())
        else:
            lines[0] = row[:start].decode() + f"({arg.id},)" + row[end:].decode()
        return "".join(lines)
    return run


def _tuple_before(arg: ast.Constant, name: str):
    def run(text: str) -> str:
        row = text.splitlines(keepends=True)
        line = row[0].encode()
        head = line[:arg.col_offset].decode()
        if head.rstrip().endswith(f"({name},),") or head.rstrip().endswith(f"({name},) ,"):
            return text
        row[0] = head + f"({name},), " + line[arg.col_offset:].decode()
        return "".join(row)
    return run
