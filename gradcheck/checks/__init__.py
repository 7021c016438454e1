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
    observed_traversal: bool = False

    @property
    def caps(self):
        return self.session.caps

    def method_location(self, method: str) -> Location | None:
        """Where the subject's class defines ``method`` (e.g. ``__mul__``)."""
        entry = self.caps.methods.get(method)
        if not entry or not entry.get("file"):
            return None
        return self.session.submission.locate(entry["file"], entry.get("line"))
