"""The diagnosis catalogue (SPEC, Findings): stable codes, default severities, the Finding type.

Codes are public identifiers: users grep for them and rubrics score them. Never rename one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}  # most severe first, wherever findings are listed

CATALOGUE: dict[str, tuple[str, str]] = {
    "load-error": (ERROR, "the submission could not be loaded"),
    "unsupported-op": (INFO, "an op in the table is missing"),
    "no-number-coercion": (INFO, "Value op plain number fails"),
    "no-grad": (ERROR, "values carry no gradient at all"),
    "no-backward": (ERROR, "there is no backward()"),
    "forward-wrong": (ERROR, "an op computes the wrong data"),
    "grad-overwrite": (ERROR, "an op's backward assigns input gradients instead of accumulating"),
    "missing-chain-factor": (ERROR, "an op's backward ignores the upstream gradient"),
    "wrong-derivative": (ERROR, "an op's local derivative is wrong"),
    "grad-not-propagated": (ERROR, "an op passes no gradient to its inputs"),
    "topo-revisit": (ERROR, "backward() runs some node's _backward more than once"),
    "topo-order": (ERROR, "backward() runs a node's _backward before a node that consumes it"),
    "topo-incomplete": (ERROR, "backward() never runs some node's _backward"),
    "grad-seed": (ERROR, "backward() does not start from grad = 1 at the output"),
    "recursion-limit": (WARNING, "the implementation fails on deep graphs"),
    "gradient-mismatch": (ERROR, "gradients disagree with the oracles"),
    "timeout": (ERROR, "the subject's code hung"),
    "memory-limit": (ERROR, "the subject's code exhausted memory"),
    "crash": (ERROR, "the subject's code died"),
    # gradcheck's addition to SPEC's catalogue: the class computes with a library the policy
    # forbids (e.g. torch), so its gradients are not its own.
    "forbidden-import": (ERROR, "the class uses a forbidden library to compute its results"),
    # also gradcheck's: the submission tried what no Value class needs (another process, raw
    # memory, the worker's own frames or channel, files outside its sandbox)
    "tampering": (ERROR, "the submission tried to tamper with gradcheck or its sandbox"),
}

# Families of codes that several parts of gradcheck reason about together.
RULE_CODES = {"grad-overwrite", "missing-chain-factor", "wrong-derivative", "grad-not-propagated"}
TRAVERSAL_CODES = {"topo-revisit", "topo-order", "topo-incomplete", "grad-seed"}
DEATH_CODES = {"timeout", "memory-limit", "crash", "tampering"}

# How findings are grouped when shown: by the part of the implementation at fault.
GROUPS = [
    ("loading", {"load-error", *DEATH_CODES}),
    ("op rules", {"forward-wrong", *RULE_CODES}),
    ("backward() traversal", {"no-backward", "recursion-limit", *TRAVERSAL_CODES}),
    ("end-to-end", {"gradient-mismatch", "no-grad", "forbidden-import"}),
    ("coverage (informational)", {"unsupported-op", "no-number-coercion"}),
]


@dataclass(frozen=True)
class Location:
    """Where the offending statement is: a file and line, plus the cell for notebooks."""

    file: str
    line: int | None = None
    cell: int | None = None  # 1-based index among the notebook's cells
    text: str | None = None  # the source line itself
    context: tuple[tuple[int, str], ...] = ()  # (line, text) around it, for reports

    def __str__(self) -> str:
        where = self.file
        if self.cell is not None:
            where += f", cell {self.cell}"
        if self.line is not None:
            where += f", line {self.line}"
        return where


@dataclass
class Finding:
    code: str
    message: str
    op: str | None = None
    severity: str = ""
    location: Location | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    inherited_by: list[str] = field(default_factory=list)  # ops built on this op's defect

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown finding code {self.code!r}")
        if not self.severity:
            self.severity = CATALOGUE[self.code][0]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["location"] = asdict(self.location) if self.location else None
        return data
