"""What a subject can do (SPEC, Checks 1), decided on the trusted side from the worker's raw facts.

Names are found by probing, not assumed: the attribute that holds a node's inputs is the one
that holds exactly an op's operands on the most op results (``a * b``, ``a + b``, ``a.tanh()``...);
the per-node closure is the callable instance attribute found on the most op results (so one
broken op cannot hide it); ``backward()`` may be called ``backprop``. Where the usual names fail
(a grad called ``grade``, a driver called ``back``), behaviour decides: see ``driver_question``.
An op's method may have the name a learner gave it (``__exp__``, ``ReLU``): the first of the op's names the class has is the one every expression
built for this subject calls. A few ops need more than a method to be recognised (a ``__pow__``
that takes only number exponents, the form of a ``gelu``): they are confirmed by running them once
at load (``probe_wires``, ``settle_probes``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, Op, get_op
from gradcheck.sandbox.replies import DriverProbe, GraphRun, OpStructure, parse_list

# Preference order when several attributes qualify; anything else found by probing comes after.
INPUTS_NAMES = ("_prev", "_children", "children", "prev", "_previous", "_dependencies",
                "inputs", "_inputs", "came_from", "_creator")
CLOSURE_NAMES = ("_backward", "backward_fn", "_backward_fn", "grad_fn", "_grad_fn")
GRAD_NAMES = ("grad", "gradient", "_grad", "g")
_BACKWARD_LIKE = re.compile(r"back_?prop|backward", re.IGNORECASE)


@dataclass
class Capabilities:
    class_name: str
    data_attr: str = "data"
    grad_attr: str | None = None
    backward: str | None = None
    inputs_attr: str | None = None
    closure_attr: str | None = None
    ops: dict[str, bool] = field(default_factory=dict)
    op_methods: dict[str, str] = field(default_factory=dict)  # supported op -> the method called
    # op -> why it is not taken although the class has a method of its name
    op_absent: dict[str, str] = field(default_factory=dict)
    number_coercion: bool | None = None
    slots: bool = False
    initial_grad: float | None = None  # a fresh value's grad (should be 0)
    data_bytes: int | None = None  # bytes per number when data is a numpy type (4: float32)
    methods: dict[str, dict] = field(default_factory=dict)  # name -> {"file", "line"} of its def

    @property
    def starts_with_gradient(self) -> bool:
        """A fresh value already holds a nonzero gradient (the grad-seed defect of ``__init__``)."""
        return self.initial_grad not in (None, 0.0)

    @property
    def supported_ops(self) -> list[str]:
        return [name for name, ok in self.ops.items() if ok]

    def method_of(self, op: Op) -> str:
        """The method this subject implements ``op`` with (its own spelling), else the usual."""
        return self.op_methods.get(op.name, op.method)

    def absence(self, op: Op) -> str:
        """Why the subject does not support ``op``, for the unsupported-op finding."""
        return self.op_absent.get(op.name) or f"no `{op.method}` on {self.class_name}"

    def to_json(self) -> dict:
        data = asdict(self)
        del data["methods"]  # source positions: internal, shown through findings' locations
        del data["op_absent"]  # said by the unsupported-op findings
        return data


def choose_class(classes: list[dict], wanted: str | None) -> tuple[dict | None, str]:
    """Pick the subject class among the candidates the worker found. Returns (facts, problem)."""
    imported = [c for c in classes if c.get("imported_from")]
    classes = [c for c in classes if not c.get("imported_from")]
    if wanted:
        named = [c for c in classes if c["name"] == wanted]
        if not named:
            names = ", ".join(c["name"] for c in classes) or "none"
            return None, f"no class named {wanted!r} was defined (classes found: {names})"
        return named[0], ""
    valueish = [c for c in classes if c.get("number_attrs") and c.get("ops")]
    if not valueish:
        broken = [c for c in classes if c.get("construct_error") and c["name"].lower() in ("value", "scalar")]
        if broken:
            err = broken[0]["construct_error"]
            return None, (f"{broken[0]['name']}(0.75) raised {err.get('type')}: {err.get('message', '')}, "
                          "so no value can be built")
        if imported:
            c = imported[0]
            return None, (f"{c['name']} is imported from `{c['imported_from']}`, not defined in the "
                          "submission: gradcheck checks the class you wrote")
        names = ", ".join(c["name"] for c in classes) or "none"
        return None, ("no Value-like class found: a class whose instances keep the number they "
                      f"are built from and support + or * (classes found: {names}); "
                      "use --class NAME to pick one")
    preferred = [c for c in valueish if c["name"].lower() in ("value", "scalar")]
    if len(preferred) == 1:
        return preferred[0], ""
    pool = preferred or valueish
    if len(pool) > 1:
        names = ", ".join(c["name"] for c in pool)
        return None, f"several Value-like classes ({names}); pick one with --class NAME"
    return pool[0], ""


def decide(class_facts: dict, inspected: dict, backward_name: str | None = None) -> Capabilities:
    attrs: dict = inspected.get("class_attrs", {})
    number_attrs = class_facts.get("number_attrs") or []
    caps = Capabilities(class_name=class_facts["name"])
    caps.data_attr = "data" if "data" in number_attrs or not number_attrs else number_attrs[0]

    leaf_vars = inspected.get("leaf_vars", {})
    numeric_leaf = {k for k, v in leaf_vars.items() if isinstance(v, float)}
    caps.grad_attr = next((g for g in GRAD_NAMES if g in numeric_leaf and g != caps.data_attr), None)
    if caps.grad_attr is None:
        caps.grad_attr = next((g for g in GRAD_NAMES if g in attrs and attrs[g]["kind"] == "property"), None)
    if caps.grad_attr is None:
        # PyTorch's way: None until a gradient arrives (`self.grad = None`); initial_grad stays
        # None, "starts empty", which is not a wrong seed
        caps.grad_attr = next((g for g in GRAD_NAMES if leaf_vars.get(g) == "NoneType" and g != caps.data_attr), None)
    caps.initial_grad = leaf_vars.get(caps.grad_attr) if isinstance(leaf_vars.get(caps.grad_attr), float) else None
    size = (inspected.get("itemsizes") or {}).get(caps.data_attr)
    caps.data_bytes = size if isinstance(size, int) and not isinstance(size, bool) and 0 < size <= 16 else None
    caps.slots = "__slots__" in attrs
    caps.methods = {n: {"file": a.get("file"), "line": a.get("line")}
                    for n, a in attrs.items() if a["kind"] == "function" and a.get("file")}

    probes = parse_list(inspected.get("probes"), OpStructure.parse)
    caps.inputs_attr = _most_common([p.inputs_paths for p in probes], INPUTS_NAMES)
    caps.closure_attr = _most_common([list(p.callables) for p in probes], CLOSURE_NAMES)
    if caps.closure_attr is None:
        # every op called its closure at build time: each result holds None under the usual
        # closure name (checks/structure.py reads the source to say so, op by op)
        caps.closure_attr = _held_none_by_all(probes)
    if caps.closure_attr is None:
        # `_backward` as a method dispatching on the op, rather than a closure per node
        methods = [n for n, a in attrs.items() if a["kind"] == "function" and a.get("required_args") == 0]
        caps.closure_attr = next((n for n in CLOSURE_NAMES if n in methods), None)

    caps.backward = _pick_backward(attrs, backward_name, exclude=caps.closure_attr)
    for op in OPS:
        method, why = _op_method(op, attrs)
        caps.ops[op.name] = method is not None
        if method is not None:
            caps.op_methods[op.name] = method
        elif why:
            caps.op_absent[op.name] = why
    return caps


def _op_method(op: Op, attrs: dict) -> tuple[str | None, str]:
    """The first of the op's method names the class defines as a function, or None and, when a
    method of that name cannot be the op, why. An op called by name (``x.relu()``,
    ``x.max(y)``) needs a method that requires no more arguments than the call passes."""
    called_by_name = "{m}" in op.expr
    passed = op.expr.count("{1}") + op.expr.count("{k}") if called_by_name else 0
    why = ""
    spellings = list(op.methods)
    if called_by_name:  # `reLu`, `TANH`: a learner's own capitals, after every listed name
        known = {m.lower() for m in op.methods}
        spellings += sorted(n for n in attrs if n.lower() in known and n not in op.methods)
    for name in spellings:
        attr = attrs.get(name)
        if attr is None or attr["kind"] != "function":
            continue
        required = attr.get("required_args")
        if called_by_name and isinstance(required, int) and required > passed:
            call = op.apply_source(["x", "y"][:op.arity], op.constants[0] if op.constants else None, name)
            why = why or f"`{name}` needs {required} argument(s), so `{call}` cannot be called"
            continue
        return name, ""
    return None, why


def probe_wires(caps: Capabilities) -> dict[str, list[dict]]:
    """For each op that needs confirming and whose method the subject has: the op once at its
    probe operands, as the worker runs it (op name -> wire)."""
    wires = {}
    for op in OPS:
        if op.confirm and caps.ops.get(op.name):
            wires[op.name] = _probe_graph(op).to_wire(caps.op_methods)
    return wires


def _probe_graph(op: Op) -> Graph:
    k = op.constants[0] if op.constants else None
    return Graph((*[leaf(x) for x in op.probe], apply(op.name, *range(op.arity), k=k)))


def _value_at(op: Op, probe: tuple[float, ...]) -> float:
    return op.value(*probe, *op.constants[:1])


def settle_probes(caps: Capabilities, runs: Mapping[str, GraphRun | None]) -> None:
    """Keep each probed op only when its probe confirms it (None: the probe did not run, e.g.
    it killed the worker). Of two forms of one op (``form_of``), the one whose value the
    subject's method gives is kept; the base form when it gives neither, so that a wrong value
    is reported against it."""
    for name, run in runs.items():
        op = get_op(name)
        method = caps.op_methods.get(name, op.method)
        source = op.apply_source([f"{caps.class_name}({x!r})" for x in op.probe],
                                 op.constants[0] if op.constants else None, method)
        got = None
        if run is not None and run.error is None:
            got = run.data[-1] if run.data else None
        if op.form_of:
            base = get_op(op.form_of)
            if got is not None and abs(got - _value_at(op, op.probe)) < abs(got - _value_at(base, op.probe)):
                _drop(caps, base.name, f"`{method}()` computes the `{op.name}` form instead: "
                                       f"`{source}` gives {got!r}; checked as `{op.name}`")
            else:
                _drop(caps, name, f"`{method}()` computes another form than `{op.name}`: "
                                  f"`{source}` gives {got!r}; checked as `{base.name}`")
            continue
        if run is None:
            _drop(caps, name, f"probing `{source}` stopped the worker")
        elif run.error is not None:
            _drop(caps, name, f"`{source}` raises {run.error}")
        elif got is None:
            _drop(caps, name, f"`{source}` does not give a number")
        elif op.confirm == "value" and not math.isclose(got, _value_at(op, op.probe), rel_tol=1e-5, abs_tol=1e-9):
            _drop(caps, name, f"`{source}` gives {got!r}, not {_value_at(op, op.probe)!r}: "
                              "only that form is checked")


def _drop(caps: Capabilities, name: str, why: str) -> None:
    caps.ops[name] = False
    caps.op_methods.pop(name, None)
    caps.op_absent[name] = why


def _held_none_by_all(probes: list) -> str | None:
    usable = [p for p in probes if p.error is None]
    if not usable:
        return None
    return next((name for name in CLOSURE_NAMES if all(p.values.get(name) == "NoneType" for p in usable)), None)


def _most_common(per_op: list, order: tuple[str, ...]) -> str | None:
    """The name found on the most op results (one broken op must not hide the attribute the
    others use); among equally common names, the usual one."""
    counts = Counter(name for names in per_op for name in set(names))
    if not counts:
        return None
    top = max(counts.values())
    return _prefer([n for n, c in counts.items() if c == top], order)


def _prefer(found: list[str], order: tuple[str, ...]) -> str | None:
    for name in order:
        if name in found:
            return name
    return sorted(found)[0] if found else None


def _pick_backward(attrs: dict, wanted: str | None, exclude: str | None) -> str | None:
    if wanted:
        return wanted if wanted in attrs else None
    callable_names = [n for n, a in attrs.items()
                      if a["kind"] == "function" and n != exclude and not n.startswith("__")
                      and a.get("required_args") in (0, None)]
    if "backward" in callable_names:
        return "backward"
    candidates = sorted(n for n in callable_names if _BACKWARD_LIKE.search(n) and not n.startswith("_"))
    return candidates[0] if candidates else None


def driver_question(caps: Capabilities, inspected: dict, backward_name: str | None) -> dict | None:
    """When no usual name was found for the gradient or for backward(): the methods to call on a
    fresh result and the number attributes to watch, so that behaviour decides (the grad is the
    number of a fresh leaf, other than its data, that starts at 0 and that backward() changes;
    backward() is the zero-argument method that sets the result's grad to 1 and changes the
    operands'). None when the names already said everything."""
    if caps.grad_attr is not None and caps.backward is not None or backward_name and caps.grad_attr:
        return None
    leaf_vars = inspected.get("leaf_vars", {})
    if caps.grad_attr is not None:
        watched = [caps.grad_attr]
    else:
        watched = sorted(k for k, v in leaf_vars.items()
                         if isinstance(v, float) and v == 0.0 and k != caps.data_attr)
    attrs = inspected.get("class_attrs", {})
    if caps.backward is not None:
        drivers = [caps.backward]
    else:
        op_methods = {m for op in OPS for m in op.methods}
        drivers = sorted((n for n, a in attrs.items()
                          if a["kind"] == "function" and a.get("required_args") == 0
                          and not n.startswith("_") and n not in op_methods and n != caps.closure_attr),
                         key=lambda n: ("back" not in n.lower(), n))
    probes = parse_list(inspected.get("probes"), OpStructure.parse)
    working = {p.op for p in probes if p.error is None}
    expr = next((e for op, e in (("mul", "{0} * {1}"), ("add", "{0} + {1}")) if op in working), None)
    if not watched or not drivers or expr is None:
        return None
    return {"drivers": drivers, "numeric": watched, "driver_expr": expr}


def settle_by_behaviour(caps: Capabilities, inspected: dict, driven: list[DriverProbe]) -> None:
    """Name the gradient and backward() from what calling the candidates did: the first method
    after which the result's number is 1 and the operands' same number changed."""
    for probe in driven:
        if probe.error is not None:
            continue
        for attr in sorted(probe.operand_changed):
            if probe.out_after.get(attr) == 1.0 and (caps.grad_attr in (None, attr)):
                caps.grad_attr, caps.backward = attr, caps.backward or probe.method
                value = inspected.get("leaf_vars", {}).get(attr)
                caps.initial_grad = value if isinstance(value, float) else None
                return

