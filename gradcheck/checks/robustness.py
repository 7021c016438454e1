"""Check 6: deep graphs and large fan-out, where recursive traversals hit Python's limit."""

from __future__ import annotations

from gradcheck.checks import Subject, death
from gradcheck.findings import CATALOGUE, INFO, WARNING, Finding, Stage
from gradcheck.sandbox.limits import WorkerDied

DEPTH = 3000
# The deepest graph the lecture's own training loop builds: micrograd's demo (an MLP of 2-16-16-1
# on 100 points, with an L2 term summing the squares of its 337 parameters) is about 500 nodes
# deep. A recursive topological sort (the lecture's design, Python's default limit of 1000)
# handles that: failing only beyond it is worth knowing (info), failing at it is a warning.
LECTURE_DEPTH = 500


_DIED = "died"  # _recursion_failure's answer when the worker died on the chain


def robustness_check(subject: Subject, backward_works: bool) -> list[Finding]:
    caps = subject.caps
    if not backward_works:
        subject.log.notes.append("robustness: skipped, backward() already hung or crashed")
        return []
    if not caps.ops.get("add") or caps.grad_attr is None:
        subject.log.notes.append("robustness: skipped, needs `+` and gradients")
        return []
    findings: list[Finding] = []
    failed = _recursion_failure(subject, DEPTH, findings)
    if failed in (None, _DIED):
        return findings
    at_lecture = _recursion_failure(subject, LECTURE_DEPTH, findings)
    if at_lecture == _DIED:  # recorded as a death; what a lecture-sized graph does is unknown
        return findings
    depth, stage = (LECTURE_DEPTH, at_lecture) if at_lecture else (DEPTH, failed)
    if at_lecture:
        reach = f"even a lecture-sized graph (a chain of {LECTURE_DEPTH} additions) fails"
    else:
        reach = (f"graphs as deep as the lecture's training loop ({LECTURE_DEPTH} nodes) work, but "
                 f"a chain of {DEPTH} additions fails")
    findings.append(Finding(
        "recursion-limit", f"{reach} in the {stage} pass with RecursionError: the traversal "
        f"recurses once per node; {CATALOGUE['recursion-limit'].fix}",
        severity=WARNING if at_lecture else INFO,
        location=subject.method_location(caps.backward) if caps.backward else None,
        evidence={"depth": depth, "stage": stage, "works_at": None if at_lecture else LECTURE_DEPTH}))
    return findings


def _recursion_failure(subject: Subject, depth: int, findings: list[Finding]) -> str | None:
    """The pass ("forward" or "backward") in which a chain ``depth`` deep hits RecursionError,
    None when it does not, ``_DIED`` when the worker died on it (a death added to findings)."""
    caps = subject.caps
    try:
        error = subject.session.run_chain(depth, use_backward=caps.backward is not None)
    except WorkerDied as died:
        findings.append(death(died, Stage.ROBUSTNESS, f"the robustness check (a {depth}-node chain)"))
        return _DIED
    if error is not None and error.type == "RecursionError":
        return error.stage or "backward"
    return None
