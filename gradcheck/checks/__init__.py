"""The checks of SPEC "Checks", one module each, run in order by ``gradcheck.runner``.

A check is a function of the ``Subject`` (what it may read: the running subject, the oracles,
the settings) and of explicit values earlier checks returned; it returns an outcome (see
``outcomes``) holding its findings and typed facts. No check writes anything another check
reads, except through those return values: the runner passes them on, so the data flow between
checks is visible in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradcheck.findings import Finding, Location, Stage
from gradcheck.oracles.consensus import Consensus
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.session import SubjectSession


@dataclass
class CheckSettings:
    examples: int = 100  # Hypothesis examples per property search
    seed: int | None = None  # None: derandomized (same verdict on every run)
    max_ops: int = 10
    rounds: int = 3  # property searches after a first failure, excluding what it blamed
    share: bool = True  # reuse generated cases across subjects (see end_to_end.search)


@dataclass
class Log:
    """What the checks tell the reader (notes) and count (stats). Write-only for the checks:
    no decision is ever made from it."""

    notes: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n


@dataclass(frozen=True)
class Subject:
    session: SubjectSession
    consensus: Consensus
    settings: CheckSettings
    log: Log = field(default_factory=Log)

    @property
    def caps(self):
        return self.session.caps

    def method_location(self, method: str) -> Location | None:
        """Where the subject's class defines ``method`` (e.g. ``__mul__``)."""
        entry = self.caps.methods.get(method)
        if not entry or not entry.get("file"):
            return None
        return self.session.submission.locate(entry["file"], entry.get("line"))


def death(died: WorkerDied, stage: Stage, doing: str, op: str | None = None,
          case: str | None = None) -> Finding:
    """The finding for the subject's code hanging, exhausting memory or dying while ``doing``
    (the stage is what decisions read; ``doing`` is for the reader)."""
    subject = f"`{op}`" if op else "the submission's code"
    evidence = {"while": doing}
    if case:
        evidence["case"] = case
    return Finding(died.kind, f"{subject} {died.verb} during {doing}: it {died.detail}", op=op,
                   evidence=evidence, stage=stage)


def merge_deaths(findings: list[Finding]) -> list[Finding]:
    """One finding per kind of death and op: a backward() that hangs hangs in every check that
    calls it, and saying so once (listing where) is clearer than once per check."""
    kept: dict[tuple, Finding] = {}
    out = []
    for f in findings:
        if f.stage is None or f.stage == Stage.LOADING:
            out.append(f)
            continue
        first = kept.get((f.code, f.op))
        if first is None:
            kept[(f.code, f.op)] = f
            out.append(f)
        else:
            first.evidence.setdefault("also_while", []).append(f.evidence.get("while"))
    return out
