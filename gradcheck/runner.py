"""Checking one subject end to end: load it in a worker, run the checks in order, decide.

Order matters: capabilities decide which checks can run; forward and local-rule findings mark
ops as faulty so traversal and end-to-end use only ops without a defect of their own, and an
end-to-end failure is reported as ``gradient-mismatch`` only when nothing diagnosed explains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gradcheck.checks import CheckContext, CheckSettings
from gradcheck.checks.basics import capability_findings, forward_check
from gradcheck.checks.conduct import guard_findings, introspection_findings
from gradcheck.checks.end_to_end import end_to_end_check, failure_findings
from gradcheck.checks.local_rules import local_rule_check
from gradcheck.checks.policy import import_policy_check, refused_import_notes
from gradcheck.checks.robustness import robustness_check
from gradcheck.checks.traversal import traversal_check
from gradcheck.coverage import op_matrix
from gradcheck.findings import Finding
from gradcheck.loader import SourceError, Submission, module_submission, read_submission
from gradcheck.oracles.consensus import Consensus, precision_scale
from gradcheck.result import Result
from gradcheck.sandbox.client import Limits, WorkerDied
from gradcheck.session import SubjectSession


@dataclass
class Options:
    class_name: str | None = None
    backward: str | None = None
    python: str | None = None
    # copy the .py files beside a single submitted file (its own helpers): only for a file a
    # user names to `check`; in a batch, the files beside a submission are classmates
    helpers_beside: bool = False
    settings: CheckSettings = field(default_factory=CheckSettings)
    limits: Limits = field(default_factory=Limits)


def check_path(target: str, options: Options, consensus: Consensus | None = None) -> Result:
    """Check the submission at ``target`` (file, notebook, folder, or ``module:Class``)."""
    try:
        submission = _submission_for(target, options.class_name, options.helpers_beside)
    except SourceError as exc:
        return Result(subject=target, findings=[Finding("load-error", str(exc))])
    return check_submission(submission, options, consensus, subject=target)


def _submission_for(target: str, class_name: str | None, helpers_beside: bool) -> Submission:
    path = Path(target)
    if not path.exists() and ":" in target and "/" not in target:
        return module_submission(target)
    return read_submission(path, class_name, helpers_beside)


def check_submission(submission: Submission, options: Options, consensus: Consensus | None = None,
                     subject: str | None = None) -> Result:
    result = Result(subject=subject or str(submission.path))
    consensus = consensus or Consensus.default()
    agreed_before, discarded_before = consensus.agreed, consensus.discarded.copy()
    session = SubjectSession(submission, options.class_name, options.backward, options.python,
                             options.limits)
    result.isolation = session.client.isolation
    with session:
        report = session.load()
        result.notes.extend(report.notes)
        result.findings.extend(report.findings)
        if report.caps is not None:
            if submission.kind != "module":
                result.subject = f"{result.subject} ({report.caps.class_name})"
            ctx = CheckContext(session=session, consensus=consensus, settings=options.settings,
                               findings=result.findings)
            consensus.tolerance_scale = precision_scale(report.caps.data_bytes)
            if consensus.tolerance_scale != 1.0:
                result.notes.append(f"{report.caps.class_name} computes with {report.caps.data_bytes}-byte "
                                    f"numbers: compared at {consensus.tolerance_scale:g}x the float64 "
                                    "tolerance")
            try:
                not_run = run_checks(ctx)
            except WorkerDied as died:  # a death the checks did not attribute themselves
                ctx.record_death(died, "checking")
                not_run = []
            finally:
                consensus.tolerance_scale = 1.0
            if not_run:
                _out_of_time(ctx, not_run)
            result.notes.extend(ctx.notes)
            result.stats = dict(ctx.stats, oracle_agreed=consensus.agreed - agreed_before,
                                oracle_discarded=dict(consensus.discarded - discarded_before))
            result.capabilities = report.caps.to_json()
            result.coverage = op_matrix(ctx)
    result.findings.extend(guard_findings(session.client.tampering, submission, session.attempts_at_load))
    result.findings.extend(introspection_findings(submission))
    result.notes.extend(refused_import_notes(session))
    for f in result.findings:  # source lines around each location, for reports
        if f.location is not None and f.location.line:
            f.location = submission.with_context(f.location)
    result.output = session.client.captured_output()  # complete only once the worker is gone
    return result


def _end_to_end(ctx: CheckContext) -> None:
    failure_findings(ctx, end_to_end_check(ctx))


# In order; each later check uses what the earlier ones found (see the module docstring).
CHECKS = (("capabilities", capability_findings), ("forward", forward_check),
          ("local rules", local_rule_check), ("traversal", traversal_check),
          ("end-to-end", _end_to_end), ("robustness", robustness_check),
          ("import policy", import_policy_check))


def run_checks(ctx: CheckContext) -> list[str]:
    """Run the checks until the subject's time budget is used up; the names of those that did
    not run."""
    not_run = []
    for name, check in CHECKS:
        if ctx.session.out_of_time:
            not_run.append(name)
        else:
            check(ctx)
    return not_run


def _out_of_time(ctx: CheckContext, not_run: list[str]) -> None:
    ctx.record_death(ctx.session.client.budget_used_up(), "checking")
    for f in ctx.findings:
        if f.code == "timeout" and f.op is None:
            f.evidence["checks_not_run"] = not_run
            f.message += "; these checks did not run: " + ", ".join(not_run)
            break
