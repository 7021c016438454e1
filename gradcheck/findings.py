"""The diagnosis catalogue (SPEC, Findings): stable codes, default severities, the Finding type.

Codes are public identifiers: users grep for them and rubrics score them. Never rename one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}  # most severe first, wherever findings are listed

# How findings are grouped when shown: by the part of the implementation at fault, in this order.
LOADING, OP_RULES, TRAVERSAL, END_TO_END, COVERAGE = (
    "loading", "op rules", "backward() traversal", "end-to-end", "coverage (informational)")
GROUP_ORDER = (LOADING, OP_RULES, TRAVERSAL, END_TO_END, COVERAGE)


@dataclass(frozen=True)
class Code:
    """Everything said about one finding code, in one place: its default severity, the group it
    is shown in, a title (what the code means), the defect in words a message can be built from,
    and the fix a learner should make."""

    severity: str
    group: str
    title: str
    defect: str = ""  # "does X" -- completes "<the op's backward> ..." in a message
    fix: str = ""

    def __post_init__(self) -> None:
        if self.group not in GROUP_ORDER:
            raise ValueError(f"group {self.group!r} is not one of {GROUP_ORDER}")


CATALOGUE: dict[str, Code] = {
    "load-error": Code(ERROR, LOADING, "the submission could not be loaded"),
    "unsupported-op": Code(INFO, COVERAGE, "an op in the table is missing"),
    # gradcheck's addition: an op's method indented one level too deep, inside another method,
    # so that the class silently lacks it (read from the source, never run)
    # gradcheck's addition: a notebook whose last definition of the class is a smaller variant
    # (an exercise's) after the full engine; the fuller one is checked and the reader told so
    "definition-skipped": Code(INFO, LOADING, "a later, smaller definition of the class was not checked",
                               fix="rename the exercise's class (e.g. `class ValueExercise`) so that the "
                                   "engine to check is the last class of its name"),
    "misplaced-method": Code(WARNING, LOADING, "an op's method is defined inside another method",
                             fix="dedent it to the class body"),
    "no-number-coercion": Code(
        INFO, COVERAGE, "Value op plain number fails",
        fix="wrap a plain number operand in a Value at the start of the op (and define the "
            "reflected ops, e.g. `__radd__`)"),
    "no-grad": Code(ERROR, END_TO_END, "values carry no gradient at all"),
    "no-backward": Code(ERROR, TRAVERSAL, "there is no backward()",
                        fix="add a `backward()` that sets the output's grad to 1 and runs every "
                            "node's `_backward` in reverse topological order"),
    "forward-wrong": Code(ERROR, OP_RULES, "an op computes the wrong data",
                          fix="check the op's forward formula"),
    "grad-overwrite": Code(
        ERROR, OP_RULES, "an op's backward assigns input gradients instead of accumulating",
        defect="assigns its inputs' gradients instead of accumulating them (`=` for `+=`); it "
               "loses gradient whenever a value is used twice",
        fix="use `+=` so the gradients from every use of a value add up"),
    "missing-chain-factor": Code(
        ERROR, OP_RULES, "an op's backward ignores the upstream gradient",
        defect="does not multiply by the upstream gradient (`out.grad`)",
        fix="multiply the local derivative by `out.grad` (the chain rule)"),
    "wrong-derivative": Code(ERROR, OP_RULES, "an op's local derivative is wrong",
                             defect="computes the wrong local derivative",
                             fix="check the local derivative formula"),
    # gradcheck's addition: a closure whose arithmetic leaves a node (or a tuple...) in a grad
    "grad-not-number": Code(
        ERROR, OP_RULES, "an op's backward turns an input's gradient into something that is not a number",
        defect="stores something that is not a number in an input's gradient",
        fix="compute the gradient from the `.data` of the values involved, so that it stays a plain number"),
    # gradcheck's addition: a slip learners make in the chain rule, told apart from the numbers
    "power-for-product": Code(
        ERROR, OP_RULES, "an op's backward raises to a power where it should multiply",
        defect="raises the local derivative to the power of `out.grad` (`**` where `*` belongs)",
        fix="multiply the local derivative by `out.grad` with `*`"),
    "grad-not-propagated": Code(
        ERROR, OP_RULES, "an op passes no gradient to its inputs",
        defect="passes no gradient to its inputs",
        fix="give the result a `_backward` that adds the local derivative times `out.grad` to "
            "each input's grad"),
    # gradcheck's additions (issue 11): how an op wires its result, seen on the result itself
    "closure-called-at-build": Code(
        ERROR, OP_RULES, "an op calls its backward closure instead of storing it",
        defect="calls its backward closure while building the result (`out._backward = "
               "_backward()`), so the result stores None and passes no gradient back",
        fix="store the function itself, without calling it: `out._backward = _backward`"),
    "closure-not-attached": Code(
        ERROR, OP_RULES, "an op's backward closure is never attached to its result",
        defect="defines a backward closure but does not store it on the result's `_backward`",
        fix="assign the closure to the result: `out._backward = _backward`"),
    "no-inputs-recorded": Code(
        ERROR, OP_RULES, "an op's result does not record the values it was computed from",
        defect="builds its result without recording its inputs, so backward() never reaches "
               "them or anything computed before them",
        fix="pass the operands when building the result, e.g. `Value(x, (self,), 'relu')`"),
    "topo-revisit": Code(ERROR, TRAVERSAL, "backward() runs some node's _backward more than once",
                         defect="processes some node more than once",
                         fix="keep one visited set for the whole walk and add each node once"),
    "topo-order": Code(ERROR, TRAVERSAL,
                       "backward() runs a node's _backward before a node that consumes it",
                       defect="processes nodes before the nodes that consume them",
                       fix="process nodes in reverse topological order (consumers first)"),
    "topo-incomplete": Code(ERROR, TRAVERSAL, "backward() never runs some node's _backward",
                            defect="never runs some node's `_backward`",
                            fix="build the topological order from the value backward() was "
                                "called on, recursing into every node's inputs"),
    # gradcheck's addition: a backward() that calls its inputs' backward(), walking every path
    "per-node-recursion": Code(
        ERROR, TRAVERSAL, "backward() recurses into each input's backward() instead of walking a topological order",
        defect="calls each input's `backward()` from its own, so a node used twice runs its closure "
               "once per path, and before all of its consumers have passed their gradient on",
        fix="call backward() once, on the output: build the topological order there and run each "
            "node's `_backward` once, consumers first"),
    "grad-seed": Code(ERROR, TRAVERSAL, "backward() does not start from grad = 1 at the output",
                      defect="does not start from grad = 1 at the output",
                      fix="set the output's grad to 1 before running the closures, and let "
                          "every other grad start at 0"),
    # gradcheck's addition: values that compare (and hash) by their data merge in sets
    "node-identity": Code(ERROR, TRAVERSAL, "distinct values count as one node when their data is equal",
                          fix="let nodes compare by identity: remove `__eq__`/`__hash__` defined on "
                              "the data, or keep sets of `id(node)`"),
    # gradcheck's addition: `__eq__` written without `__hash__` makes Python set `__hash__` to
    # None, so putting values in a set (children, visited) raises TypeError
    "eq-without-hash": Code(ERROR, TRAVERSAL, "`__eq__` without `__hash__` makes values unhashable",
                            fix="remove `__eq__` (nodes must compare by identity), or, if you need "
                                "it, add `__hash__ = object.__hash__` to the class"),
    "recursion-limit": Code(WARNING, TRAVERSAL, "the implementation fails on deep graphs",
                            fix="build the topological order with an explicit stack to handle "
                                "deep graphs"),
    "gradient-mismatch": Code(ERROR, END_TO_END, "gradients disagree with the oracles"),
    "timeout": Code(ERROR, LOADING, "the subject's code hung"),
    "memory-limit": Code(ERROR, LOADING, "the subject's code exhausted memory"),
    "crash": Code(ERROR, LOADING, "the subject's code died"),
    # gradcheck's addition to SPEC's catalogue: the class computes with a library the policy
    # forbids (e.g. torch), so its gradients are not its own.
    "forbidden-import": Code(ERROR, END_TO_END,
                             "the class uses a forbidden library to compute its results"),
    # also gradcheck's: the submission tried what no Value class needs (another process, raw
    # memory, the worker's own frames or channel, files outside its sandbox)
    "tampering": Code(ERROR, LOADING, "the submission tried to tamper with gradcheck or its sandbox"),
}

# Families of codes that several parts of gradcheck reason about together.
RULE_CODES = {"grad-overwrite", "missing-chain-factor", "wrong-derivative", "grad-not-propagated",
              "power-for-product", "grad-not-number"}
# An op's result wired wrong (checks/structure.py): a defect of the op's backward, like a rule's.
STRUCTURE_CODES = {"closure-called-at-build", "closure-not-attached", "no-inputs-recorded"}
RULE_CODES |= STRUCTURE_CODES
TRAVERSAL_CODES = {"topo-revisit", "topo-order", "topo-incomplete", "grad-seed", "per-node-recursion"}
DEATH_CODES = {"timeout", "memory-limit", "crash", "tampering"}

# (title, codes) per group, in display order -- derived from the catalogue, so a code cannot be
# left out of every group and silently vanish from the terminal and HTML.
GROUPS = [(group, {code for code, c in CATALOGUE.items() if c.group == group}) for group in GROUP_ORDER]


class Stage(StrEnum):
    """What gradcheck was doing when a finding arose -- typed, so that decisions (did the
    subject's backward() hang?) never depend on how a message is worded."""

    LOADING = "loading"
    CAPABILITIES = "capabilities"
    FORWARD = "forward"
    LOCAL_RULE = "local rule"
    TRAVERSAL = "traversal"  # the only stage that calls backward() on ops without a defect
    END_TO_END = "end-to-end"
    ROBUSTNESS = "robustness"
    POLICY = "import policy"
    CHECKING = "checking"  # between checks, or the subject's time ran out


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
    stage: Stage | None = None  # where it arose; set for deaths, which any stage can meet

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown finding code {self.code!r}")
        if self.stage is not None:
            self.stage = Stage(self.stage)
        if not self.severity:
            self.severity = CATALOGUE[self.code].severity

    @property
    def fix(self) -> str:
        """What to change, from the catalogue (empty where the message itself says it)."""
        return CATALOGUE[self.code].fix

    @property
    def title(self) -> str:
        """What the code means, from the catalogue."""
        return CATALOGUE[self.code].title

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["location"] = asdict(self.location) if self.location else None
        # the catalogue's words, for readers; "fix" is left to a verified fix (Result.to_json)
        data["title"], data["advice"] = self.title, self.fix
        return data
