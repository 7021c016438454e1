"""What a submission may do. The import policy: a class that computes with torch (or another
autograd library) has not implemented backpropagation itself. Importing such a library elsewhere
in a notebook -- a torch sanity-check cell -- is fine (the sandbox refuses the import, the cell
fails quietly, a note says so); the class using it is not. And what the worker's audit hook
(``sandbox/guard.py``) blocked: attempts at things no Value class needs are ``tampering``."""

from __future__ import annotations

import ast

from gradcheck.checks import CheckContext
from gradcheck.findings import ERROR, WARNING, Finding
from gradcheck.loader import Submission
from gradcheck.sandbox.client import WorkerDied
from gradcheck.source import parse_or_none

FORBIDDEN_IMPORT = "forbidden-import"  # the guard's kind for a refused library
# the exception types the guard raises in the submission: a failure they cause is the policy's
# finding (forbidden-import, tampering), not a wrong value of the op that tried
BLOCKED_BY_GUARD = frozenset({"ForbiddenImport", "TamperingBlocked"})


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
    # imported (or, under the guard, refused) while its ops and backward ran
    during_checks = ctx.session.client.tampering[ctx.session.attempts_at_load or 0:]
    refused = {_module_of(a) for a in _refused(during_checks)}
    # the guard refuses forbidden import statements at load, so a forbidden module present after
    # loading came in around it (importlib.import_module raises no audit event)
    lazily = sorted(((now - before) | refused | before) & forbidden)
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
        tree = parse_or_none(unit.code)
        if tree is None:
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


def guard_spoke(ctx: CheckContext) -> bool:
    """Whether the guard reported anything while the class was checked: an exception named like
    the guard's is only the guard's when it did (a submission may define its own)."""
    return len(ctx.session.client.tampering) > (ctx.session.attempts_at_load or 0)


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


def guard_findings(attempts: list[dict], submission: Submission, at_load: int | None) -> list[Finding]:
    """One ``tampering`` finding for everything else the worker's audit hook blocked. An error
    when the class's own code tried it while being checked; a warning when only top-level code
    did while loading (a notebook's `pip install` through subprocess, a data download): blocked,
    it changed nothing, and the instructor still sees it."""
    cut = len(attempts) if at_load is None else at_load
    blocked = [(i >= cut, a) for i, a in enumerate(attempts) if a.get("kind") != FORBIDDEN_IMPORT]
    if not blocked:
        return []
    while_checked = any(during for during, _ in blocked)
    first = next(a for during, a in blocked if during == while_checked)
    where = first.get("where")
    location = (submission.locate(where[0], where[1])
                if isinstance(where, list) and len(where) == 2 else None)
    listed = [f"{a.get('event')}: {a.get('detail')}" for _, a in blocked]
    when = "while its class was checked" if while_checked else "while loading"
    return [Finding("tampering", f"the submission tried {len(blocked)} thing(s) no Value class "
                    f"needs, and gradcheck's sandbox blocked them {when} (first: "
                    f"{first.get('event')}: {first.get('detail')})",
                    severity=ERROR if while_checked else WARNING, location=location,
                    evidence={"attempts": listed, "while": "checking" if while_checked else "loading"})]


# What reaches into the interpreter rather than computing: attributes that lead to frames,
# other objects' globals or every class, and rebinding what another module defines
# (``json.loads = ...``, ``math.tanh = ...``). A Value class has no use for any of them.
_REACHING_ATTRIBUTES = frozenset({
    "__subclasses__", "__globals__", "__builtins__", "f_back", "f_locals", "f_globals",
    "tb_frame", "gi_frame", "cr_frame", "ag_frame", "__code__", "_getframe", "_current_frames",
    "get_objects", "get_referrers", "get_referents", "settrace", "setprofile", "addaudithook"})


def introspection_findings(submission: Submission) -> list[Finding]:
    """A warning for the instructor when the submission's source reaches into the interpreter
    (read from gradcheck's own copy, never run): the way a submission would wire a hidden engine
    into gradcheck's worker. It fails nothing by itself -- what the code does is judged by the
    checks -- but it is worth a look."""
    hits = []
    own = {rel.rsplit("/", 1)[-1][: -len(".py")] for rel in submission.files if rel.endswith(".py")}
    for unit in submission.units:
        tree = parse_or_none(unit.code)
        if tree is None:
            continue
        # other modules' names: the submission's own helper modules (`engine.DEBUG = True`) are
        # its own to change
        modules = {(a.asname or a.name).split(".")[0] for node in ast.walk(tree)
                   if isinstance(node, ast.Import) for a in node.names if a.name.split(".")[0] not in own}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in _REACHING_ATTRIBUTES:
                hits.append((unit, node.lineno, f"`.{node.attr}`"))
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
                targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id in modules):
                        hits.append((unit, node.lineno, f"rebinds `{target.value.id}.{target.attr}`"))
    if not hits:
        return []
    unit, line, what = hits[0]
    listed = [f"{u.label}, line {n}: {w}" for u, n, w in hits[:20]]
    return [Finding("tampering", f"the source reaches into the interpreter ({what}, and "
                    f"{len(hits) - 1} more): no Value class needs this, and it is how a submission "
                    "would tamper with gradcheck's worker", severity=WARNING,
                    location=submission.locate(unit.filename, line),
                    evidence={"reaches": listed, "while": "reading the source"})]
