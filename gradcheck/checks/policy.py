"""The import policy: a class that computes with torch (or another autograd library) has not
implemented backpropagation itself. Importing such a library elsewhere in a notebook -- a
torch sanity-check cell -- is fine; the class using it is not."""

from __future__ import annotations

import ast

from gradcheck.checks import CheckContext
from gradcheck.findings import Finding
from gradcheck.sandbox.client import WorkerDied


def import_policy_check(ctx: CheckContext) -> None:
    forbidden = set(ctx.session.limits.forbidden_imports)
    if not forbidden:
        return
    sub = ctx.session.submission
    if sub.module:  # an installed package checked as itself is allowed its own name
        forbidden.discard(sub.module.split(".")[0].split(":")[0])
    uses = _class_uses(ctx, forbidden)
    try:
        now = {m.split(".")[0] for m in ctx.session.imported_modules()}
    except WorkerDied:
        now = set()
    before = {m.split(".")[0] for m in ctx.session.modules_after_load}
    lazily = sorted((now - before) & forbidden)  # imported while its ops and backward ran
    names = sorted({name for name, _ in uses} | set(lazily))
    if not names:
        return
    shown = ", ".join(f"`{n}`" for n in names)
    where = uses[0][1] if uses else None
    ctx.findings.append(Finding(
        "forbidden-import", f"`{ctx.caps.class_name}` uses {shown} to compute its results; gradients "
        "must come from your own `_backward` code (allowed libraries are set with --allow-import)",
        location=where, evidence={"libraries": names, "imported_during_checks": lazily}))


def _class_uses(ctx: CheckContext, forbidden: set[str]) -> list[tuple[str, object]]:
    """(library, location) for each forbidden library the class body refers to."""
    sub = ctx.session.submission
    aliases: dict[str, str] = {}
    found = []
    for unit in sub.units:
        try:
            tree = ast.parse(unit.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[(a.asname or a.name).split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = node.module.split(".")[0]
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == ctx.caps.class_name]
        for cls in classes[-1:]:
            for node in ast.walk(cls):
                lib = None
                if isinstance(node, ast.Name):
                    lib = aliases.get(node.id)
                elif isinstance(node, ast.Import):
                    lib = node.names[0].name.split(".")[0]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    lib = node.module.split(".")[0]
                if lib in forbidden:
                    found.append((lib, sub.locate(unit.filename, node.lineno)))
    return found
