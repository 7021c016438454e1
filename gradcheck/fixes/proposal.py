"""What a fix proposer produces, and what it reads: the finding, the learner's code and the
class's capabilities (the attribute names gradcheck found by probing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradcheck.findings import Finding
from gradcheck.fixes.locate import Code
from gradcheck.fixes.patch import Edit


@dataclass(frozen=True)
class Names:
    """The class's own names, as the capability probe found them."""

    class_name: str
    grad: str
    data: str
    closure: str | None  # the per-node backward closure's attribute (``_backward``)
    inputs: str | None  # the attribute holding a node's inputs (``_prev``)
    backward: str | None  # the method that runs backpropagation
    op_methods: dict[str, str]
    initial_grad: Any

    @classmethod
    def from_capabilities(cls, caps: dict[str, Any]) -> Names | None:
        if not caps.get("class_name") or not caps.get("grad_attr") or not caps.get("data_attr"):
            return None
        return cls(class_name=caps["class_name"], grad=caps["grad_attr"], data=caps["data_attr"],
                   closure=caps.get("closure_attr"), inputs=caps.get("inputs_attr"),
                   backward=caps.get("backward"), op_methods=caps.get("op_methods") or {},
                   initial_grad=caps.get("initial_grad"))


@dataclass(frozen=True)
class Context:
    code: Code
    names: Names


@dataclass
class Proposal:
    finding: Finding
    edits: list[Edit]
    summary: str  # what the edit does, in a few words
    rewrite: bool = False  # the textbook code written in, rather than a small edit
