"""The checks of SPEC "Checks", one module each, all run by ``gradcheck.runner``.

Every check takes a ``CheckContext`` and returns findings; a check whose capability is missing
adds a note saying why it was skipped instead of a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcheck.findings import Finding, Location
from gradcheck.oracles.consensus import Consensus
from gradcheck.session import SubjectSession


@dataclass
class CheckSettings:
    examples: int = 100  # Hypothesis examples per property search
    seed: int | None = None  # None: derandomized (same verdict on every run)
    max_ops: int = 10
    rounds: int = 3  # property searches after a first failure, excluding what it blamed
    share: bool = True  # reuse generated cases across subjects (see end_to_end.search)


@dataclass
class CheckContext:
    session: SubjectSession
    consensus: Consensus
    settings: CheckSettings
    notes: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    # ops whose own behaviour is already diagnosed, so later checks leave them out
    faulty_ops: set[str] = field(default_factory=set)
    forward_faulty: set[str] = field(default_factory=set)  # ops that compute the wrong data
    findings: list[Finding] = field(default_factory=list)
    # which direct observations were possible; where not, failures are fingerprinted instead
    observed_rules: bool = False
    composite_ops: set[str] = field(default_factory=set)  # ops whose backward runs several closures
    backward_broken: bool = False  # backward() hung or died: later checks leave it alone
    e2e_tested: set[str] = field(default_factory=set)  # ops the end-to-end search used
    e2e_failed: set[str] = field(default_factory=set)  # ops in one of its counterexamples
    observed_traversal: bool = False

    @property
    def caps(self):
        return self.session.caps

    def record_death(self, died, doing: str, op: str | None = None, case: str | None = None) -> None:
        """One finding per kind of death and op: a backward() that hangs hangs in every check
        that calls it, and saying so once (listing where) is clearer than once per check."""
        for f in self.findings:
            if (f.code, f.op) == (died.kind, op):
                f.evidence.setdefault("also_while", []).append(doing)
                return
        subject = f"`{op}`" if op else "the submission's code"
        evidence = {"while": doing}
        if case:
            evidence["case"] = case
        self.findings.append(Finding(died.kind, f"{subject} {died.verb} during {doing}: it {died.detail}",
                                     op=op, evidence=evidence))
        if op:
            self.faulty_ops.add(op)
        if "backward()" in doing:
            self.backward_broken = True

    def method_location(self, method: str) -> Location | None:
        """Where the subject's class defines ``method`` (e.g. ``__mul__``)."""
        entry = self.caps.methods.get(method)
        if not entry or not entry.get("file"):
            return None
        return self.session.submission.locate(entry["file"], entry.get("line"))
