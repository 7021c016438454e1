"""What each check returns: its findings plus the typed facts later checks, the coverage matrix
and rubrics decide on. These values are the only channel between checks (see ``runner``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gradcheck.findings import Finding


class TraversalState(StrEnum):
    """How the subject's ``backward()`` walk was judged, once every check has run."""

    CORRECT = "correct"  # observed: every closure once, consumers first, from grad 1
    DEFECTIVE = "defective"  # a topo-* or grad-seed defect (observed or fingerprinted)
    BROKEN = "broken"  # backward() hung, exhausted memory or died while being observed
    UNOBSERVED = "unobserved"  # no closures to instrument, and nothing in the numbers against it
    ABSENT = "absent"  # no backward() (or no gradients) at all
    NOT_RUN = "not run"  # the subject's time ran out first


@dataclass(frozen=True)
class Judged:
    """How many of an op's cases a check compared with the oracles' agreed answer."""

    cases: int
    blocked: str = ""  # why the subject made the check impossible (scored as a failure)


@dataclass
class ForwardOutcome:
    findings: list[Finding] = field(default_factory=list)
    faulty: frozenset[str] = frozenset()  # ops whose data is wrong (or whose forward died)
    died: frozenset[str] = frozenset()  # ops whose forward hung or died: not to be run again
    stubs: frozenset[str] = frozenset()  # ops that raise NotImplementedError: not written yet
    missing_imports: frozenset[str] = frozenset()  # standard modules used but never imported
    repaired: frozenset[str] = frozenset()  # faulty ops that work once those are imported
    judged: dict[str, Judged] = field(default_factory=dict)


@dataclass
class RuleOutcome:
    observed: bool = False  # per-node closures could be run one op at a time
    findings: list[Finding] = field(default_factory=list)
    faulty: frozenset[str] = frozenset()  # ops with a rule defect or a death, heirs included
    died: frozenset[str] = frozenset()  # ops whose probe hung or died (unsafe to build graphs from)
    # ops whose closure raised or left a non-number in a grad: a walk through them breaks
    unwalkable: frozenset[str] = frozenset()
    closures: dict[str, frozenset] = field(default_factory=dict)  # what each op's probe ran
    judged: dict[str, Judged] = field(default_factory=dict)

    @property
    def composite(self) -> frozenset[str]:
        """Ops whose backward runs several closures (built from other ops)."""
        return frozenset(op for op, ran in self.closures.items() if len(ran) > 1)


@dataclass
class TraversalOutcome:
    state: TraversalState
    findings: list[Finding] = field(default_factory=list)
    # op closures that call their inputs' closures: the local-rule numbers of an op built from
    # several nodes then show the walk's doubling, not a rule of its own
    recursing_closures: bool = False

    @property
    def observed(self) -> bool:
        return self.state in (TraversalState.CORRECT, TraversalState.DEFECTIVE)

    @property
    def backward_works(self) -> bool:
        """Whether later checks may call backward(): not after it hung or died."""
        return self.state != TraversalState.BROKEN


@dataclass
class EndToEndOutcome:
    failures: list = field(default_factory=list)  # end_to_end.Counterexample
    tested: frozenset[str] = frozenset()  # ops the search used
    judged: dict[str, int] = field(default_factory=dict)  # op -> judged cases that used it
    findings: list[Finding] = field(default_factory=list)  # deaths during the search
    # gradients came from gradcheck's walk over the closures, not from backward() (whose walk
    # was already found wrong): no failure of this search is backward()'s
    own_walk: bool = False
