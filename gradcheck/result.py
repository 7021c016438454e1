"""A subject's result: verdict, findings, capabilities -- and its JSON and notebook forms."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from gradcheck.findings import ERROR, Finding, Location
from gradcheck.untrusted_text import visible

PASS, FAIL, ERRORED = "pass", "fail", "error"


@dataclass
class Result:
    subject: str
    findings: list[Finding] = field(default_factory=list)
    capabilities: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # op x check
    output: str = ""  # what the subject's code printed (untrusted text)
    harness_error: str | None = None  # gradcheck itself could not judge the subject
    isolation: str = ""  # how the subject's code was confined: "bubblewrap" or "limited"
    # how backward()'s walk was judged (checks.outcomes.TraversalState); "" when not loaded
    traversal: str = ""
    # verified fixes (gradcheck.fixes), only when asked for: per finding {code, op, diff,
    # verified, checks_after, summary, rewrite}, and the patch of the verified ones together
    fixes: list[dict[str, Any]] = field(default_factory=list)
    patch: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        if self.harness_error is not None:
            return ERRORED
        return FAIL if any(f.severity == ERROR for f in self.findings) else PASS

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def codes(self) -> list[tuple[str, str | None]]:
        return sorted((f.code, f.op) for f in self.findings)

    def fix_for(self, finding: Finding) -> dict[str, Any] | None:
        return next((x for x in self.fixes if (x["code"], x["op"]) == (finding.code, finding.op)), None)

    def to_json(self) -> dict[str, Any]:
        """Every finding has "fix": its verified (or unverified) fix, or None when none was
        proposed or fixes were not asked for; the catalogue's general advice is "advice"."""
        doc = self._json()
        for f, entry in zip(self.findings, doc["findings"], strict=True):
            fix = self.fix_for(f)
            entry["fix"] = None if fix is None else {k: v for k, v in fix.items() if k not in ("code", "op")}
        if self.patch is not None:
            doc["patch"] = self.patch
        return doc

    def _json(self) -> dict[str, Any]:
        return {"subject": self.subject, "verdict": self.verdict,
                "findings": [f.to_json() for f in self.findings],
                "capabilities": self.capabilities, "notes": self.notes, "stats": self.stats,
                "coverage": {op: {check: list(v) for check, v in row.items()}
                             for op, row in self.coverage.items()},
                "output": self.output, "harness_error": self.harness_error,
                "isolation": self.isolation, "traversal": self.traversal}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Result:
        """The inverse of ``to_json`` (results saved by batch grading are read back with it)."""
        findings, fixes = [], []
        for f in doc["findings"]:
            if isinstance(f.get("fix"), dict):
                fixes.append({"code": f["code"], "op": f["op"], **f["fix"]})
            loc = f.get("location")
            if loc:
                loc = Location(**{**loc, "context": tuple(tuple(c) for c in loc.get("context") or ())})
            findings.append(Finding(code=f["code"], message=f["message"], op=f["op"], severity=f["severity"],
                                    location=loc, evidence=f["evidence"], inherited_by=f["inherited_by"],
                                    stage=f.get("stage")))
        return cls(subject=doc["subject"], findings=findings, capabilities=doc["capabilities"],
                   notes=doc["notes"], stats=doc["stats"], output=doc["output"],
                   coverage={op: {c: tuple(v) for c, v in row.items()} for op, row in doc["coverage"].items()},
                   harness_error=doc.get("harness_error"), isolation=doc.get("isolation", ""),
                   traversal=doc.get("traversal", ""), fixes=fixes, patch=doc.get("patch"))

    def _repr_html_(self) -> str:
        """Rich display in Jupyter: verdict and findings; everything made visible and escaped."""
        def e(text: str) -> str:
            return html.escape(visible(text))

        colour = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700"}[self.verdict]
        rows = "".join(
            f"<tr><td><code>{e(f.code)}</code></td><td>{e(f.op or '')}</td><td>{e(f.severity)}</td>"
            f"<td>{e(f.message)}</td><td>{e(str(f.location or ''))}</td></tr>" for f in self.findings)
        table = (f"<table><tr><th>code</th><th>op</th><th>severity</th><th>message</th>"
                 f"<th>where</th></tr>{rows}</table>") if rows else ""
        return (f"<div><b>{e(self.subject)}</b>: <span style='color:{colour}'><b>{e(self.verdict)}</b>"
                f"</span>{table}</div>")
