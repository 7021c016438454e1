"""What a subject can do (SPEC, Checks 1), decided on the trusted side from the worker's raw facts.

Names are found by probing, not assumed: the attribute that holds a node's inputs is whichever
attribute of ``a * b`` holds exactly ``a`` and ``b``; the per-node closure is the callable
instance attribute of an op result; ``backward()`` may be called ``backprop``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from gradcheck.ops import OPS

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
    number_coercion: bool | None = None
    slots: bool = False
    initial_grad: float | None = None  # a fresh value's grad (should be 0)
    data_bytes: int | None = None  # bytes per number when data is a numpy type (4: float32)
    methods: dict[str, dict] = field(default_factory=dict)  # name -> {"file", "line"} of its def

    @property
    def supported_ops(self) -> list[str]:
        return [name for name, ok in self.ops.items() if ok]

    def to_json(self) -> dict:
        data = asdict(self)
        del data["methods"]  # source positions: internal, shown through findings' locations
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
    caps.initial_grad = leaf_vars.get(caps.grad_attr) if isinstance(leaf_vars.get(caps.grad_attr), float) else None
    size = (inspected.get("itemsizes") or {}).get(caps.data_attr)
    caps.data_bytes = size if isinstance(size, int) and not isinstance(size, bool) and 0 < size <= 16 else None
    caps.slots = "__slots__" in attrs
    caps.methods = {n: {"file": a.get("file"), "line": a.get("line")}
                    for n, a in attrs.items() if a["kind"] == "function" and a.get("file")}

    paths = inspected.get("inputs_paths", [])
    caps.inputs_attr = _prefer(paths, INPUTS_NAMES)

    callables = inspected.get("callables", {})
    caps.closure_attr = _prefer(list(callables), CLOSURE_NAMES)
    if caps.closure_attr is None:
        # `_backward` as a method dispatching on the op, rather than a closure per node
        methods = [n for n, a in attrs.items() if a["kind"] == "function" and a.get("required_args") == 0]
        caps.closure_attr = next((n for n in CLOSURE_NAMES if n in methods), None)

    caps.backward = _pick_backward(attrs, backward_name, exclude=caps.closure_attr)
    for op in OPS:
        caps.ops[op.name] = op.method in attrs and attrs[op.method]["kind"] == "function"
    return caps


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
