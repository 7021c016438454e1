"""Validated replies: the worker's raw JSON turned into typed values the checks may use.

Anything malformed (a grad that is a string, a list where a number belongs, NaN where the
worker should have said "error") is recorded as the subject's problem, never trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SubjectError:
    type: str
    message: str
    where: tuple[str, int] | None = None
    stage: str = ""
    name: str | None = None  # for a NameError: the name that was not defined

    @classmethod
    def parse(cls, raw) -> SubjectError:
        if not isinstance(raw, dict):
            return cls("MalformedReply", "the worker sent an unreadable error")
        where = raw.get("where")
        ok_where = (isinstance(where, list) and len(where) == 2 and isinstance(where[0], str)
                    and isinstance(where[1], int))
        name = raw.get("name")
        return cls(type=str(raw.get("type", "?"))[:100], message=str(raw.get("message", ""))[:300],
                   where=(where[0], where[1]) if ok_where else None, stage=str(raw.get("stage", "")),
                   name=name if isinstance(name, str) and name.isidentifier() else None)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


def as_number(raw) -> float | None:
    """A float if the worker reported one (nan/inf are numbers too), else None."""
    kind = type(raw)  # decoded JSON: exactly float, int, bool, str, list, dict or None
    if kind is float:
        return raw
    return float(raw) if kind is int else None


def number_list(raw, length: int) -> list[float | None]:
    if not isinstance(raw, list):
        return [None] * length
    values = [as_number(x) for x in raw[:length]]
    return values + [None] * (length - len(values))


@dataclass
class GraphRun:
    """What happened when a graph was built and back-propagated with the subject's class."""

    data: list[float | None]
    grads: list[float | None] | None = None
    data_types: dict[int, str] = field(default_factory=dict)  # nodes whose data is not a number
    not_nodes: frozenset[int] = frozenset()  # results that are no node at all (a bare float)
    error: SubjectError | None = None
    calls: list[tuple[int, float | None]] = field(default_factory=list)
    inputs: list[list[int]] = field(default_factory=list)  # subject graph structure (all nodes)
    graph_nodes: list[int | None] = field(default_factory=list)  # our node -> subject node

    @classmethod
    def parse(cls, raw, n_nodes: int) -> GraphRun:
        if not isinstance(raw, dict):
            return cls(data=[None] * n_nodes, error=SubjectError("MalformedReply", "no result"))
        run = cls(data=number_list(raw.get("data"), n_nodes))
        if isinstance(raw.get("data"), list):
            run.data_types = {i: str(d.get("type", "?"))[:60] for i, d in enumerate(raw["data"][:n_nodes])
                              if isinstance(d, dict)}
            run.not_nodes = frozenset(i for i, d in enumerate(raw["data"][:n_nodes])
                                      if isinstance(d, dict) and d.get("error") == "not-a-node")
        if "grads" in raw:
            run.grads = number_list(raw.get("grads"), n_nodes)
        if raw.get("error") is not None:
            run.error = SubjectError.parse(raw["error"])
        structure = raw.get("structure")
        if isinstance(structure, dict):
            inputs = structure.get("inputs")
            if isinstance(inputs, list):
                run.inputs = [[i for i in row if isinstance(i, int) and 0 <= i < len(inputs)]
                              if isinstance(row, list) else [] for row in inputs]
            nodes = structure.get("graph_nodes")
            if isinstance(nodes, list):
                run.graph_nodes = [i if isinstance(i, int) else None for i in nodes[:n_nodes]]
        for call in raw.get("calls") or []:
            if isinstance(call, list) and len(call) == 2 and isinstance(call[0], int):
                run.calls.append((call[0], as_number(call[1])))
        return run


def finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


ClosureId = tuple[str, str | None, int | None]  # (qualname, file, line) of a closure that ran


@dataclass(frozen=True)
class RuleProbe:
    """One local-rule probe: the op applied to fresh values, their gradients preset, the output's
    upstream gradient set, and only the op's own closures run."""

    data: float | None  # the output's data
    grads: tuple[float | None, ...]  # each input's gradient afterwards
    closures: frozenset[ClosureId]  # what ran: the op's own closure, or those of its parts
    error: SubjectError | None = None  # stage "setup": the probe could not even be built
    grad_types: tuple[str | None, ...] = ()  # per input: the type of a gradient that is no number

    @classmethod
    def parse(cls, raw, arity: int) -> RuleProbe:
        if not isinstance(raw, dict):
            return cls(None, (None,) * arity, frozenset(), SubjectError("MalformedReply", "no result"))
        closures = frozenset(
            (str(c.get("qualname"))[:200], c.get("file") if isinstance(c.get("file"), str) else None,
             c.get("line") if isinstance(c.get("line"), int) and not isinstance(c.get("line"), bool) else None)
            for c in raw.get("closures") or [] if isinstance(c, dict))
        error = SubjectError.parse(raw["error"]) if raw.get("error") is not None else None
        return cls(as_number(raw.get("data")), tuple(number_list(raw.get("grads"), arity)), closures, error,
                   _non_number_types(raw.get("grads"), arity))


def _non_number_types(raw, length: int) -> tuple[str | None, ...]:
    """For each entry the worker reported as no number, the name of its type (``Value``)."""
    rows = raw if isinstance(raw, list) else []
    out = []
    for i in range(length):
        entry = rows[i] if i < len(rows) else None
        kind = entry.get("type") if isinstance(entry, dict) and entry.get("error") == "not-a-number" else None
        out.append(str(kind)[:80] if isinstance(kind, str) else None)
    return tuple(out)


def _closure_id(raw) -> ClosureId | None:
    if not isinstance(raw, dict):
        return None
    file, line = raw.get("file"), raw.get("line")
    return (str(raw.get("qualname"))[:200], file if isinstance(file, str) else None,
            line if isinstance(line, int) and not isinstance(line, bool) else None)


def _strings(raw) -> list[str]:
    return [x for x in raw if isinstance(x, str)] if isinstance(raw, list) else []


@dataclass(frozen=True)
class OpStructure:
    """What the result of one op held when the class was inspected (``a * b`` on fresh values):
    its variables, the callables among them, and where its operands are recorded."""

    op: str
    error: str | None = None  # the op raised: nothing else is known
    values: dict[str, float | str] = field(default_factory=dict)  # a number, or its type's name
    callables: dict[str, ClosureId] = field(default_factory=dict)
    inputs_paths: tuple[str, ...] = ()  # paths holding exactly the operands
    reaches: frozenset[str] = frozenset()  # paths through which every operand is reachable
    is_operand: bool = False  # the op returned one of its operands itself
    inner_none: frozenset[str] = frozenset()  # attributes holding None on the nodes in between

    @classmethod
    def parse(cls, raw) -> OpStructure | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
            return None
        if raw.get("error") is not None:
            return cls(raw["op"], error=str(raw["error"])[:100])
        values = raw.get("vars") if isinstance(raw.get("vars"), dict) else {}
        callables = raw.get("callables") if isinstance(raw.get("callables"), dict) else {}
        return cls(raw["op"],
                   values={k: v if isinstance(v, str) else as_number(v) for k, v in values.items()
                           if isinstance(k, str) and (isinstance(v, str) or as_number(v) is not None)},
                   callables={k: c for k, c in ((k, _closure_id(v)) for k, v in callables.items())
                              if c is not None and isinstance(k, str)},
                   inputs_paths=tuple(_strings(raw.get("inputs_paths"))),
                   reaches=frozenset(_strings(raw.get("reaches"))),
                   is_operand=raw.get("is_operand") is True,
                   inner_none=frozenset(_strings(raw.get("inner_none"))))

    def kind_of(self, attr: str) -> str:
        """``callable``, ``missing``, or the type of what ``attr`` holds (``NoneType``...)."""
        if attr in self.callables:
            return "callable"
        value = self.values.get(attr)
        if value is None:
            return "missing"
        return value if isinstance(value, str) else "float"


@dataclass(frozen=True)
class Identity:
    """Two distinct values built from the same number: do they compare equal, merge in a set?"""

    merged: bool = False
    equal: bool = False
    unhashable: bool = False

    @classmethod
    def parse(cls, raw) -> Identity:
        raw = raw if isinstance(raw, dict) else {}
        return cls(*(raw.get(k) is True for k in ("merged", "equal", "unhashable")))


@dataclass(frozen=True)
class DriverProbe:
    """A candidate backward() called on a fresh ``a * b``: the result's numbers afterwards and
    which number attributes of the operands it changed."""

    method: str
    error: str | None = None
    out_after: dict[str, float] = field(default_factory=dict)
    operand_changed: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw) -> DriverProbe | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("method"), str):
            return None
        if raw.get("error") is not None:
            return cls(raw["method"], error=str(raw["error"])[:100])
        after = raw.get("out_after") if isinstance(raw.get("out_after"), dict) else {}
        return cls(raw["method"], out_after={k: as_number(v) for k, v in after.items()
                                              if isinstance(k, str) and as_number(v) is not None},
                   operand_changed=frozenset(_strings(raw.get("operand_changed"))))


def parse_list(raw, parser) -> list:
    return [p for p in (parser(x) for x in raw) if p is not None] if isinstance(raw, list) else []
