"""Which fix each finding code gets: the registry is data, one proposer per code.

A proposer reads the finding's typed data (code, op, location) and the learner's code, and
returns a ``Proposal`` or None; it never reads a message. Codes missing here (a wrong forward
formula, a crash, node identity, a forbidden import...) get no fix: their repair is not one edit
gradcheck can write with confidence.
"""

from __future__ import annotations

from collections.abc import Callable

from gradcheck.findings import ERROR, Finding
from gradcheck.fixes import rule_fixes, walk_fixes
from gradcheck.fixes.patch import apply
from gradcheck.fixes.proposal import Context, Proposal

PROPOSERS: dict[str, Callable[[Finding, Context], Proposal | None]] = {
    "grad-overwrite": rule_fixes.accumulate,
    "missing-chain-factor": rule_fixes.times_upstream,
    "power-for-product": rule_fixes.product_for_power,
    "closure-called-at-build": rule_fixes.store_not_call,
    "closure-not-attached": rule_fixes.attach,
    "wrong-derivative": rule_fixes.textbook_rule,
    "grad-not-propagated": rule_fixes.textbook_rule,
    "no-inputs-recorded": rule_fixes.inputs_as_tuple,
    # only an import the op forgot (typed in its evidence), or the shape a node passed as itself
    # gives (`Value(x, (self), op)` raises when built)
    "forward-wrong": rule_fixes.add_import,
    "grad-not-number": rule_fixes.textbook_rule,
    "topo-order": walk_fixes.reverse_order,
    "topo-revisit": walk_fixes.visit_once,
    "grad-seed": walk_fixes.seed_output,
    "topo-incomplete": walk_fixes.rewritten,
    "per-node-recursion": walk_fixes.rewritten,
    "no-backward": walk_fixes.add_backward,
}


def propose(findings: list[Finding], ctx: Context, shown_file: str) -> list[Proposal]:
    """One proposal per error finding that has one and whose edit changes something, largest
    edit first (an edit inside another's lines is then left to the outer one)."""
    proposals = []
    for finding in findings:
        proposer = PROPOSERS.get(finding.code)
        if finding.severity != ERROR or proposer is None:
            continue
        if finding.location is not None and finding.location.file != shown_file:
            continue  # a helper module beside the submission: not ours to edit
        try:
            proposal = proposer(finding, ctx)
        except (SyntaxError, ValueError, IndexError, KeyError, AttributeError):
            proposal = None  # code of an unexpected shape: no fix rather than a wrong one
        if proposal is None or not proposal.edits:
            continue
        if apply(ctx.code.cells, proposal.edits) == ctx.code.cells:
            continue
        proposals.append(proposal)
    return sorted(proposals, key=lambda p: -sum(e.last - e.first + 1 for e in p.edits))
