"""Proving fixes: the proposals applied to a private copy of the submission, and the copy checked
exactly like the original -- same options, same seed, in the sandboxed worker (the patched code
is still the learner's code: it never runs in this process).

A fix is verified only when its finding is gone from the copy's result and the copy has no error
finding the original did not have. When the combined patch brings a new error, each fix is
checked alone to tell the good ones from the bad; the patch offered is then the verified fixes
together, checked once more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from gradcheck.findings import ERROR, Finding
from gradcheck.fixes.locate import Code
from gradcheck.fixes.patch import Edit, apply, combinable, diff_path, patched_notebook, unified_diff
from gradcheck.fixes.proposal import Context, Names, Proposal
from gradcheck.fixes.propose import propose
from gradcheck.loader import VIRTUAL_ROOT, Submission
from gradcheck.result import Result

MAX_SINGLE_CHECKS = 6  # fixes checked one by one when their combination fails


@dataclass
class Fixes:
    """The fixes of one result: per finding, and the patch of every verified fix."""

    per_finding: list[dict[str, Any]] = field(default_factory=list)
    patch_diff: str = ""
    patch_verdict: str | None = None  # the patched copy's verdict; None when nothing was patched
    patched_file: str | None = None  # a notebook's patched JSON (a .py patch is its diff)
    checks_run: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"diff": self.patch_diff, "verdict_after": self.patch_verdict,
                "checks_run": self.checks_run}


def fixes_for(result: Result, submission: Submission, check) -> Fixes:
    """``check(submission) -> Result`` runs one check exactly like the original's (the caller
    binds options, seed and shared oracles)."""
    doc = _Document.of(submission)
    names = Names.from_capabilities(result.capabilities)
    if doc is None or names is None or result.harness_error is not None:
        return Fixes()
    code = Code(doc.cells)
    proposals = propose(result.findings, Context(code, names), str(submission.path))
    if not proposals:
        return Fixes()
    before = _errors(result.findings)
    verdicts = combinable([p.edits for p in proposals])
    joined = [p for (i, v), p in zip(verdicts, proposals, strict=True) if v == -1]
    owner_of = {id(p): proposals[v] for (i, v), p in zip(verdicts, proposals, strict=True)
                if v not in (-1, None)}
    fixes = Fixes()

    def run(chosen: list[Proposal]) -> Result:
        fixes.checks_run += 1
        return check(doc.patched(submission, _edits(chosen)))

    after = run(joined)
    outcome = {id(p): after for p in joined}
    good = [p for p in joined if _proved(p.finding, before, after)]
    if _new_errors(before, after) and len(joined) > 1:
        for p in joined[:MAX_SINGLE_CHECKS]:
            outcome[id(p)] = run([p])
        good = [p for p in joined if id(p) in outcome and _proved(p.finding, before, outcome[id(p)])]
    # the patch offered is the verified fixes together, checked as it is
    patch_result = after if len(good) == len(joined) else (run(good) if good else None)
    verified_ids = set()
    if patch_result is not None:
        verified_ids = {id(p) for p in good if _proved(p.finding, before, patch_result)}
        if len(verified_ids) == len(good):
            fixes.patch_diff = unified_diff(doc.cells, apply(doc.cells, _edits(good)), doc.shown_as)
            fixes.patch_verdict = patch_result.verdict
            fixes.patched_file = doc.patched_file(_edits(good))
    for p in proposals:
        shown = owner_of.get(id(p), p)
        verified = id(shown) in verified_ids and _proved(p.finding, before, patch_result)
        seen = patch_result if verified else outcome.get(id(shown))
        fixes.per_finding.append({
            "code": p.finding.code, "op": p.finding.op,
            "diff": unified_diff(doc.cells, apply(doc.cells, shown.edits), doc.shown_as),
            "verified": verified, "checks_after": _checks_after(p.finding, seen) if seen else {},
            "summary": shown.summary, "rewrite": shown.rewrite,
        })
    return fixes


def _edits(chosen: list[Proposal]) -> list[Edit]:
    return [e for p in chosen for e in p.edits]


def _errors(findings: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.code, f.op) for f in findings if f.severity == ERROR}


def _new_errors(before: set, after: Result) -> set:
    return _errors(after.findings) - before


def _proved(finding: Finding, before: set, after: Result) -> bool:
    return after.harness_error is None and (finding.code, finding.op) not in _errors(after.findings) \
        and not _new_errors(before, after)


def _checks_after(finding: Finding, after: Result) -> dict[str, str]:
    """The patched copy's states for the finding's op (forward, local rule, end-to-end), or the
    walk's state for a finding about ``backward()``."""
    if finding.op and finding.op in after.coverage:
        return {check: state for check, (state, _why) in after.coverage[finding.op].items()}
    return {"traversal": str(after.traversal), "verdict": after.verdict}


@dataclass
class _Document:
    """The one file of a submission fixes may edit: a ``.py`` (one text) or an ``.ipynb`` (a text
    per code cell). Marimo notebooks, installed modules and sessions get no fixes."""

    rel: str  # its path in the submission's copy
    cells: dict[int | None, str]
    raw: str  # the file as it is
    shown_as: str

    @classmethod
    def of(cls, submission: Submission) -> _Document | None:
        units = submission.units
        if not units or any(u.shown is not None for u in units) or submission.kind == "module":
            return None
        rel = units[0].filename.split("::")[0].removeprefix(VIRTUAL_ROOT + "/")
        data = submission.files.get(rel)
        if data is None:
            return None
        raw = data.decode("utf-8", "replace")
        if submission.kind == "file" and len(units) == 1:
            return cls(rel, {None: units[0].code}, raw, diff_path(submission.path))
        if submission.kind == "notebook" and rel.endswith(".ipynb"):
            return cls(rel, {u.cell: u.code for u in units}, raw, diff_path(submission.path))
        return None

    def _raw_cells(self) -> dict[int | None, str]:
        """The notebook's cells as written (IPython lines and all): an edit is applied to these
        too, line for line, so that the patched copy keeps them."""
        cells = json.loads(self.raw)["cells"]
        out = {}
        for cell in self.cells:
            source = cells[cell - 1].get("source", "")
            out[cell] = "".join(source) if isinstance(source, list) else source
        return out

    def patched_file(self, edits: list[Edit]) -> str | None:
        if None in self.cells:
            return None
        return patched_notebook(self.raw, {c: t for c, t in apply(self._raw_cells(), edits).items()
                                           if t != self._raw_cells()[c]})

    def patched(self, submission: Submission, edits: list[Edit]) -> Submission:
        texts = apply(self.cells, edits)
        units = [replace(u, code=texts[None if None in texts else u.cell]) for u in submission.units]
        data = texts[None] if None in texts else (self.patched_file(edits) or self.raw)
        return replace(submission, units=units, files={**submission.files, self.rel: data.encode()})
