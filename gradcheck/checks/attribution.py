"""Report a defect once, on the op that has it: root-cause attribution across every check.

A defect in a primitive (``mul``) shows again in each op built from it (``neg = a * -1``,
``truediv = a * b**-1``): as the same wrong rule, the same wrong forward value, the same crash,
or a generated case that fails. Whichever check saw it, the finding is kept on the primitive and
the ops that show it through the primitive are listed in its ``inherited_by``.

What is built from what comes from observation where possible -- the closures each op's
local-rule probe ran (``sub`` runs ``__add__``'s and ``__neg__``'s) -- and otherwise from the op
table's usual compositions (``Op.built_from``), where only a defect identified from the numbers
(fingerprinted) is folded, and said to be probable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from gradcheck.findings import DEATH_CODES, ERROR, RULE_CODES, STRUCTURE_CODES, Finding
from gradcheck.ops import get_op

# Codes folded into the same code on a primitive: each is a property of an op's own code,
# which an op built from the primitive runs too.
SAME_CODE = frozenset({"forward-wrong", *RULE_CODES, *DEATH_CODES})
# A generated case failing for an op built from a faulty primitive is that primitive's defect.
ANY_CODE = frozenset({"gradient-mismatch"})
# How a defect of an op without observable closures was named: from its numbers alone
# (``fingerprint``: a replayed defect matched them; ``single-op graph``: the op back-propagated
# alone showed its local derivative).
FROM_NUMBERS = frozenset({"fingerprint", "single-op graph"})


@dataclass(frozen=True)
class Composition:
    """Which ops are built from which.

    observed: ``closures`` maps each op to the closures its probe ran; ``op`` is built from
    ``primitive`` when it ran a strict superset of the primitive's. Unobserved: the op table's
    usual compositions stand in."""

    observed: bool
    closures: Mapping[str, frozenset] = field(default_factory=dict)

    def built_on(self, primitive: str, op: str) -> bool:
        if primitive == op:
            return False
        usual = primitive in get_op(op).built_from
        if self.observed:
            base, ran = self.closures.get(primitive), self.closures.get(op, frozenset())
            # `__radd__ = self + other` runs exactly add's closure: equal sets, and the table
            # says which of the two is the primitive -- unless one generic closure serves ops
            # that are not built from each other, when equal sets say nothing
            return bool(base) and (base < ran or (base == ran and usual and base not in self._generic))
        return usual

    @cached_property
    def _generic(self) -> frozenset[frozenset]:
        """Closure sets that two ops unrelated in the op table both ran (``add`` and ``mul``
        sharing one dispatching ``_backward``)."""
        shared = set()
        names = sorted(self.closures)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                related = a in get_op(b).built_from or b in get_op(a).built_from
                if self.closures[a] and self.closures[a] == self.closures[b] and not related:
                    shared.add(self.closures[a])
        return frozenset(shared)


def _foldable(f: Finding) -> bool:
    return f.op is not None and f.severity == ERROR and f.code in SAME_CODE | ANY_CODE


def _same_failure(parent: Finding, heir: Finding) -> bool:
    """Two ops that raised the same error at the same statement, one usually built from the
    other (``sub = a + (-b)`` failing inside ``__neg__``'s ``self * -1``): a crash leaves no
    closures to compare, but where it happened shows the shared code. And a primitive that
    returns no node at all (``-self.data``, a float) explains whatever the ops usually built
    from it then show: a wrong value, or a result that records no inputs; one whose result has
    no closure (called at build time, never attached) explains their passing nothing on."""
    if parent.op not in get_op(heir.op).built_from:
        return False
    if parent.evidence.get("returned"):
        return True
    if parent.code in STRUCTURE_CODES and heir.code in ("grad-not-propagated", "gradient-mismatch"):
        return True  # a primitive whose result has no closure leaves its composites none either
    raised = parent.evidence.get("raised_at")
    return raised is not None and parent.code == heir.code and heir.evidence.get("raised_at") == raised


def _parent_fits(parent: Finding, heir: Finding, composition: Composition,
                 combined: frozenset[str] = frozenset()) -> bool:
    # Without observed structure only a defect identified from the numbers is attributed to a
    # usual composition; a forward value or a crash says nothing about how the op is built.
    if not composition.observed and parent.evidence.get("identified_by") not in FROM_NUMBERS:
        return False
    if composition.observed and parent.op in combined and parent.code in RULE_CODES and heir.code in RULE_CODES:
        # two rule defects in one primitive (`=` and no `* out.grad`) show in an op that runs
        # its closure as neither alone: whatever the heir's numbers were named, they are both's
        return True
    return parent.code == heir.code or heir.code in ANY_CODE


def attribute(findings: list[Finding], composition: Composition) -> list[Finding]:
    """The findings with every inherited defect folded into its root cause(s): an op's finding
    disappears when an op it is built from has a finding that explains it, and is listed in
    that finding's ``inherited_by`` (in every such root, when it is built from several)."""
    candidates = [f for f in findings if _foldable(f)]
    rule_codes: dict[str, set[str]] = {}
    for f in candidates:
        if f.code in RULE_CODES:
            rule_codes.setdefault(f.op, set()).add(f.code)
    combined = frozenset(op for op, codes in rule_codes.items() if len(codes) > 1)

    def parents(f: Finding) -> list[Finding]:
        return [p for p in candidates if p is not f and (
            (composition.built_on(p.op, f.op) and _parent_fits(p, f, composition, combined))
            or _same_failure(p, f))]

    # A root inherits from nothing; heirs attach to roots only (``sub`` to ``add``, never to
    # ``neg``, which itself inherits from ``mul``) -- but a heir of a heir still folds.
    folded: dict[int, list[Finding]] = {}
    for f in candidates:
        found = parents(f)
        roots = [p for p in found if not parents(p)]
        if found:
            folded[id(f)] = roots or found
    kept = []
    for f in findings:
        into = folded.get(id(f))
        if into is None:
            kept.append(f)
            continue
        for parent in into:
            if f.op not in parent.inherited_by:
                parent.inherited_by.append(f.op)
            if f.code in ANY_CODE and f.evidence.get("case"):
                parent.evidence.setdefault("inherited_cases", []).append(f.evidence["case"])
    for f in kept:
        if f.inherited_by:
            f.inherited_by.sort()
            f.message += inherited_sentence(f.inherited_by, probable=not composition.observed)
    return kept


def inherited_sentence(heirs: list[str], probable: bool = False) -> str:
    """The one wording for inheritance, appended to the root finding's message."""
    if not heirs:
        return ""
    names = ", ".join(f"`{h}`" for h in heirs)
    if probable:
        return f" Probably inherited by {names} (usually built from this op; their gradients fail the same way)."
    return f" Inherited by {names}."

