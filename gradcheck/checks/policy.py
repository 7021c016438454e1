"""The import policy: a class that computes with torch (or another autograd library) has not
implemented backpropagation itself. Importing such a library elsewhere in a notebook -- a torch
sanity-check cell -- is fine (the sandbox refuses the import, the cell fails quietly, a note says
so); the class using it is not. What else the sandbox refused is ``checks/conduct.py``'s."""

from __future__ import annotations

import ast

from gradcheck.checks import Subject
from gradcheck.findings import Finding
from gradcheck.sandbox import protocol
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.source import module_nodes, parse_or_none

FORBIDDEN_IMPORT = protocol.FORBIDDEN_IMPORT  # the guard's kind for a refused library


def import_policy_check(subject: Subject) -> list[Finding]:
    forbidden = set(subject.session.limits.forbidden_imports)
    if not forbidden:
        return []
    sub = subject.session.submission
    if sub.module:  # an installed package checked as itself is allowed its own name
        forbidden.discard(sub.module.split(".")[0].split(":")[0])
    # a learner's own package named like a library (`micrograd/engine.py` importing
    # `micrograd.order`): the guard let it load and kept the library's files unreadable
    forbidden -= sub.own_modules(forbidden)
    uses = _class_uses(subject, forbidden)
    try:
        now = {m.split(".")[0] for m in subject.session.imported_modules()}
    except WorkerDied:
        now = set()
    before = {m.split(".")[0] for m in subject.session.modules_after_load}
    # imported (or, under the guard, refused) while its ops and backward ran
    during_checks = subject.session.client.tampering[subject.session.attempts_at_load or 0:]
    refused = {_module_of(a) for a in _refused(during_checks)}
    # the guard refuses forbidden import statements at load, so a forbidden module present after
    # loading came in around it (importlib.import_module raises no audit event)
    lazily = sorted(((now - before) | refused | before) & forbidden)
    names = sorted({name for name, _ in uses} | set(lazily))
    if not names:
        return []
    shown = ", ".join(f"`{n}`" for n in names)
    where = uses[0][1] if uses else None
    return [Finding(
        "forbidden-import", f"`{subject.caps.class_name}` uses {shown} to compute its results; gradients "
        "must come from your own `_backward` code (allowed libraries are set with --allow-import)",
        location=where, evidence={"libraries": names, "imported_during_checks": lazily})]


def _class_uses(subject: Subject, forbidden: set[str]) -> list[tuple[str, object]]:
    """(library, location) for each forbidden library the class body refers to."""
    sub = subject.session.submission
    aliases: dict[str, str] = {}
    found = []
    for unit in sub.units:
        tree = parse_or_none(unit.code)
        if tree is None:
            continue
        for node in module_nodes(unit.code):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[(a.asname or a.name).split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = node.module.split(".")[0]
        # a name the notebook binds again at top level after importing it (an exercise cell's
        # `from micrograd.engine import Value`, then the learner's own `class Value`) no longer
        # names the library
        for name in _rebound_after_import(tree):
            aliases.pop(name, None)
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == subject.caps.class_name]
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


def _rebound_after_import(tree: ast.Module) -> set[str]:
    """Names a top-level class, def or assignment binds after the unit's last top-level import
    of that name (or in a unit that does not import it)."""
    last: dict[str, str] = {}  # name -> "import" | "bound", in statement order
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            for a in stmt.names:
                last[(a.asname or a.name).split(".")[0]] = "import"
        elif isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            last[stmt.name] = "bound"
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    last[target.id] = "bound"
    return {name for name, how in last.items() if how == "bound"}


def _refused(attempts: list[dict]) -> list[dict]:
    return [a for a in attempts if a.get("kind") == FORBIDDEN_IMPORT]


def _module_of(attempt: dict) -> str:
    return str(attempt.get("detail", "")).split(".")[0]  # the guard's detail is the module name


def refused_import_notes(session) -> list[str]:
    """Libraries the sandbox refused while the submission loaded (a sanity-check cell)."""
    at_load = session.client.tampering[:session.attempts_at_load]  # None: loading never ended
    names = sorted({_module_of(a) for a in _refused(at_load)})
    if not names:
        return []
    return [f"the submission imports {', '.join(names)}: refused in the sandbox (the class must "
            "compute its gradients itself; --allow-import lifts this), so code using it did not run"]
