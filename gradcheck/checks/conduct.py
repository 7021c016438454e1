"""What a submission tried beyond computing, as findings: the attempts the worker's audit hook
(``sandbox/worker/guard.py``) blocked, and source that reaches into the interpreter. A Value class
needs none of it; each is ``tampering`` -- an error when the class's own code did it while being
checked, a warning when top-level code did it while loading or when it is only in the source."""

from __future__ import annotations

import ast

from gradcheck.checks.policy import FORBIDDEN_IMPORT
from gradcheck.findings import ERROR, WARNING, Finding
from gradcheck.loader import Submission
from gradcheck.session import SubjectSession
from gradcheck.source import module_nodes

# the exception types the guard raises in the submission: a failure they cause is the policy's
# finding (forbidden-import, tampering), not a wrong value of the op that tried
BLOCKED_BY_GUARD = frozenset({"ForbiddenImport", "TamperingBlocked"})


def guard_spoke(session: SubjectSession) -> bool:
    """Whether the guard reported anything while the class was checked: an exception named like
    the guard's is only the guard's when it did (a submission may define its own)."""
    return len(session.client.tampering) > (session.attempts_at_load or 0)


def guard_findings(attempts: list[dict], submission: Submission, at_load: int | None) -> list[Finding]:
    """One ``tampering`` finding for everything else the worker's audit hook blocked. An error
    when the class's own code tried it while being checked; a warning when only top-level code
    did while loading (a notebook's `pip install` through subprocess, a data download): blocked,
    it changed nothing, and the instructor still sees it."""
    cut = len(attempts) if at_load is None else at_load
    # an attempt with no submission code anywhere on the stack is a library's own doing (the
    # channel's own reports excepted, which come from gradcheck's side)
    blocked = [(i >= cut, a) for i, a in enumerate(attempts) if a.get("kind") != FORBIDDEN_IMPORT
               and (a.get("where") is not None or a.get("event") == "channel")]
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
        nodes = module_nodes(unit.code)
        # other modules' names: the submission's own helper modules (`engine.DEBUG = True`) are
        # its own to change
        modules = {(a.asname or a.name).split(".")[0] for node in nodes
                   if isinstance(node, ast.Import) for a in node.names if a.name.split(".")[0] not in own}
        for node in nodes:
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
