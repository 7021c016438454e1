"""An instructor's handle on a submission: build an expression from op names, run it with the
submission's class in gradcheck's sandboxed worker, read data and gradients back as numbers.

Only raw observations cross back (the worker's validated replies), so a test written with it
never runs student code in pytest's own process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gradcheck.errors import UsageError
from gradcheck.graph import Graph, Node, apply, leaf
from gradcheck.loader import SourceError, module_submission, read_submission
from gradcheck.ops import OPS_BY_NAME
from gradcheck.runner import Options
from gradcheck.sandbox.limits import WorkerDied
from gradcheck.session import SubjectSession
from gradcheck.untrusted_text import visible_line


class SubjectUnavailable(Exception):
    """The submission cannot answer: it did not load, or its code died or hung."""


class Expression:
    """A graph under construction; ``leaf`` and ``apply`` return node numbers to combine."""

    def __init__(self) -> None:
        self._nodes: list[Node] = []

    def leaf(self, value: float) -> int:
        self._nodes.append(leaf(value))
        return len(self._nodes) - 1

    def apply(self, op: str, *operands: int, k: float | None = None) -> int:
        """``apply("mul", a, b)``, ``apply("pow", a, k=2)``: ``op`` names an op of gradcheck's
        table, ``k`` is the constant of the ops that take one (pow, radd, rsub, rmul, ...)."""
        spec = OPS_BY_NAME.get(op)
        if spec is None:
            raise UsageError(f"{op!r} is not an op (known: {', '.join(OPS_BY_NAME)})")
        if len(operands) != spec.arity:
            raise UsageError(f"{op} takes {spec.arity} operand(s), not {len(operands)}")
        if spec.takes_constant != (k is not None):
            need = f"a constant k (e.g. {spec.constants[0]!r})" if spec.takes_constant else "no constant"
            raise UsageError(f"{op} takes {need}")
        for i in operands:
            if not isinstance(i, int) or not 0 <= i < len(self._nodes):
                raise UsageError(f"operand {i!r} is not a node of this expression")
        self._nodes.append(apply(op, *operands, k=k))
        return len(self._nodes) - 1

    @property
    def graph(self) -> Graph:
        if not self._nodes:
            raise UsageError("the expression is empty: add a leaf first")
        return Graph(tuple(self._nodes))


@dataclass(frozen=True)
class Observed:
    """What the submission computed, per node: ``data[i]`` and ``grad[i]`` (None where it did
    not produce a number), and what it raised, if anything."""

    data: list[float | None]
    grad: list[float | None]
    error: str | None = None


class SubjectHandle:
    def __init__(self, session: SubjectSession):
        self._session = session
        caps = session.caps
        self.class_name: str = caps.class_name
        self.ops: frozenset[str] = frozenset(caps.supported_ops)
        self.has_backward: bool = caps.backward is not None

    def supports(self, op: str) -> bool:
        return op in self.ops

    def expression(self) -> Expression:
        return Expression()

    def run(self, expression: Expression, *, backward: bool = True) -> Observed:
        """Build the expression with the submission's class and, with ``backward``, call its
        ``backward()`` on the last node."""
        if backward and not self.has_backward:
            raise SubjectUnavailable(f"{self.class_name} has no backward() method")
        try:
            run = self._session.run([expression.graph], grads=backward, use_backward=backward)[0]
        except WorkerDied as died:
            raise SubjectUnavailable(f"the submission's code {died.verb}: it {died.detail}") from None
        grads = run.grads if run.grads is not None else [None] * len(run.data)
        error = visible_line(run.error) if run.error is not None else None
        return Observed(data=list(run.data), grad=list(grads), error=error)

    def close(self) -> None:
        self._session.__exit__(None, None, None)


def open_subject(target: str, options: Options) -> SubjectHandle:
    """Load ``target`` (a path or ``module:Class``) in a fresh worker, ready for requests."""
    try:
        path = Path(target)
        if not path.exists() and ":" in target and "/" not in target:
            submission = module_submission(target)
        else:
            submission = read_submission(path, options.class_name, options.helpers_beside)
    except SourceError as exc:
        raise SubjectUnavailable(f"load-error: {exc}") from None
    session = SubjectSession(submission, options.class_name, options.backward, options.python,
                             options.limits)
    session.__enter__()
    report = session.load()
    if report.caps is None:
        session.__exit__(None, None, None)
        first = report.findings[0] if report.findings else None
        raise SubjectUnavailable(visible_line(f"{first.code}: {first.message}" if first
                                              else "the submission did not load"))
    return SubjectHandle(session)
