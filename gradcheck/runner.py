"""Checking one subject end to end: load it in a worker, run the checks in order, decide.

Order matters: capabilities decide which checks can run; the forward and local-rule outcomes
name the faulty ops, so traversal and end-to-end use only ops without a defect of their own, and
an end-to-end failure is reported as ``gradient-mismatch`` only when nothing diagnosed explains
it. ``run_checks`` is the one place where one check's outcome is handed to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from gradcheck.case_store import Bundle, CaseStore
from gradcheck.checks import CheckSettings, Subject, death, merge_deaths
from gradcheck.checks.attribution import Composition, attribute
from gradcheck.checks.basics import capability_findings, forward_check
from gradcheck.checks.conduct import guard_findings, introspection_findings
from gradcheck.checks.diagnosis import Diagnosis, failure_findings
from gradcheck.checks.end_to_end import end_to_end_check
from gradcheck.checks.local_rules import local_rule_check
from gradcheck.checks.outcomes import (
    EndToEndOutcome,
    ForwardOutcome,
    RuleOutcome,
    TraversalOutcome,
    TraversalState,
)
from gradcheck.checks.policy import import_policy_check, refused_import_notes
from gradcheck.checks.robustness import robustness_check
from gradcheck.checks.source_scan import misplaced_method_findings
from gradcheck.checks.structure import StructureOutcome, structure_check
from gradcheck.checks.traversal import traversal_check
from gradcheck.coverage import op_matrix
from gradcheck.findings import RULE_CODES, TRAVERSAL_CODES, Finding, Stage
from gradcheck.loader import SourceError, Submission, module_submission, read_submission
from gradcheck.oracles.consensus import Consensus, precision_scale
from gradcheck.result import Result
from gradcheck.sandbox.limits import Limits, WorkerDied
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
    # generated cases and oracle answers kept between runs (None: computed afresh every time)
    cases: CaseStore | None = field(default_factory=CaseStore.default)


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
            checked = Subject(session=session, consensus=consensus, settings=options.settings)
            scale = precision_scale(report.caps.data_bytes)
            if scale != 1.0:
                result.notes.append(f"{report.caps.class_name} computes with {report.caps.data_bytes}-byte "
                                    f"numbers: compared at {scale:g}x the float64 tolerance")
            cases = _open_cases(options, report.caps.supported_ops)
            try:
                with consensus.using(cases, scale):
                    verdict = run_checks(checked)
            finally:
                if cases is not None:
                    options.cases.save(cases)
            result.findings.extend(verdict.findings)
            result.traversal = verdict.traversal
            result.coverage = verdict.coverage
            result.notes.extend(checked.log.notes)
            result.stats = dict(checked.log.stats, oracle_agreed=consensus.agreed - agreed_before,
                                oracle_discarded=dict(consensus.discarded - discarded_before))
            result.capabilities = report.caps.to_json()
    result.findings.extend(guard_findings(session.client.tampering, submission, session.attempts_at_load))
    result.findings.extend(introspection_findings(submission))
    result.findings.extend(misplaced_method_findings(submission, report.caps))
    result.notes.extend(refused_import_notes(session))
    for f in result.findings:  # source lines around each location, for reports
        if f.location is not None and f.location.line:
            f.location = submission.with_context(f.location)
    result.output = session.client.captured_output()  # complete only once the worker is gone
    return result


def _open_cases(options: Options, ops: list[str]) -> Bundle | None:
    if options.cases is None:
        return None
    cfg = options.settings
    return options.cases.open(ops, cfg.examples, cfg.max_ops, cfg.seed)


@dataclass
class Verdict:
    findings: list[Finding]
    traversal: TraversalState
    coverage: dict


def run_checks(subject: Subject) -> Verdict:
    """The checks in order, each given what it needs of the earlier ones' outcomes, until the
    subject's time budget is used up; then one attribution pass over everything found."""
    not_run: list[str] = []

    def due(name: str) -> bool:
        if subject.session.out_of_time:
            not_run.append(name)
            return False
        return True

    findings: list[Finding] = []
    forward, rules, e2e = ForwardOutcome(), RuleOutcome(), EndToEndOutcome()
    structure = StructureOutcome()
    traversal, diagnosis = TraversalOutcome(TraversalState.NOT_RUN), Diagnosis([], frozenset())
    try:
        if due("capabilities"):
            findings += capability_findings(subject)
        if due("forward"):
            forward = forward_check(subject)
            findings += forward.findings
            forward = _import_what_it_forgot(subject, forward)
        if due("structure"):
            structure = structure_check(subject, forward)
            findings += structure.findings
        if due("local rules"):
            # ops repaired by an import get their rules judged: a second defect is not hidden
            rules = local_rule_check(subject, replace(forward, faulty=forward.faulty - forward.repaired),
                                     structure.broken)
            findings += rules.findings
        if due("traversal"):
            traversal = traversal_check(subject, avoid=forward.faulty | rules.died | rules.unwalkable | structure.broken,
                                        closures=rules.closures)
            findings += traversal.findings
            if traversal.recursing_closures:  # a composite's "rule" was the recursion's doubling
                findings = [f for f in findings if not (f.code in RULE_CODES and f.op in rules.composite)]
        if due("end-to-end"):
            e2e = end_to_end_check(subject, forward.faulty | rules.faulty, rules, traversal)
            findings += e2e.findings
            diagnosis = failure_findings(subject, e2e, findings, rules, traversal)
            findings += [f for f in diagnosis.findings if not structure.explains(f)]
        if due("robustness"):
            findings += robustness_check(subject, traversal.backward_works)
        if due("import policy"):
            findings += import_policy_check(subject)
    except WorkerDied as died:  # a death no check attributed itself
        findings.append(death(died, Stage.CHECKING, "checking"))
    if not_run:
        findings.append(_out_of_time(subject, not_run))
    findings = merge_deaths(attribute(findings, Composition(rules.observed, rules.closures)))
    return Verdict(findings, final_traversal_state(traversal, findings),
                   op_matrix(subject.caps, findings, forward, rules, e2e, diagnosis.failed))


def _import_what_it_forgot(subject: Subject, forward: ForwardOutcome) -> ForwardOutcome:
    """An op that uses ``math`` without ``import math`` is wrong (its NameError is reported), but
    that must not hide what else is wrong with it: reload with the module imported, and let the
    ops that now compute the right value have their rules judged."""
    if not forward.missing_imports or not subject.session.import_for_it(sorted(forward.missing_imports)):
        return forward
    again = forward_check(subject)
    repaired = forward.faulty - forward.died - again.faulty
    imported = ", ".join(f"`import {m}`" for m in sorted(forward.missing_imports))
    for f in forward.findings:
        if f.op in repaired:
            f.evidence["checked_after_adding"] = sorted(forward.missing_imports)
            f.message += f" (gradcheck added {imported} to check the rest of `{f.op}`)"
    return replace(forward, repaired=repaired)


def final_traversal_state(traversal: TraversalOutcome, findings: list[Finding]) -> TraversalState:
    """The traversal check's own state, completed by what the other checks found: a wrong seed
    found by the capability probe, a defect fingerprinted from end-to-end numbers, a backward()
    that never existed."""
    if traversal.state in (TraversalState.BROKEN, TraversalState.NOT_RUN):
        return traversal.state
    codes = {f.code for f in findings}
    if codes & TRAVERSAL_CODES:
        return TraversalState.DEFECTIVE
    if codes & {"no-backward", "no-grad"}:
        return TraversalState.ABSENT
    return traversal.state


def _out_of_time(subject: Subject, not_run: list[str]) -> Finding:
    finding = death(subject.session.client.budget_used_up(), Stage.CHECKING, "checking")
    finding.evidence["checks_not_run"] = not_run
    finding.message += "; these checks did not run: " + ", ".join(not_run)
    return finding
