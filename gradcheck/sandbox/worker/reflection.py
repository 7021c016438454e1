"""Facts about the submission's classes, found by looking at them: which classes could be the
Value class, their attributes and methods, and what a node made by an op holds.

The trusted side decides the subject's API (data, grad, inputs and closure attributes, the
backward method) from these facts; nothing here decides anything.
"""

from describe import code_id, describe_exception, itemsize, real, safe_str
from traversal import as_items


def candidate_classes(namespace, module_name, only=None):
    """The classes a loaded submission defines (or only the one named ``only``), with what can
    be learnt without graphs: their ``__add__``/``__mul__`` and which attributes keep the number
    a node is built from. A ``Value`` imported from elsewhere is named as imported."""
    found = []
    for name, obj in list(namespace.items()):
        if not isinstance(name, str) or not isinstance(obj, type) or (only and name != only):
            continue
        if not only and getattr(obj, "__module__", None) != module_name:
            if name.lower() in ("value", "scalar"):  # imported rather than written here
                found.append({"name": name, "imported_from": safe_str(obj.__module__, 100)})
            continue
        facts = {"name": name, "ops": [m for m in ("__add__", "__mul__") if m in _own_attrs(obj)]}
        try:
            first, second = obj(0.75), obj(-1.25)
            facts["number_attrs"] = sorted(
                a for a, v in _instance_vars(first).items()
                if real(v) == 0.75 and real(_instance_vars(second).get(a)) == -1.25)
        except BaseException as exc:
            facts["construct_error"] = describe_exception(exc)
        found.append(facts)
    return found


def inspect_class(cls, module_name):
    """The "inspect" request: the class's attributes, a leaf's variables and, when the class can
    multiply or add, the variables, inputs paths and closures of the node that op makes."""
    facts = {"class_attrs": _class_attrs(cls), "module": module_name}
    a, b = cls(0.75), cls(-1.25)
    facts["leaf_vars"] = {k: _type_or_number(v) for k, v in _instance_vars(a).items()}
    facts["itemsizes"] = {k: itemsize(v) for k, v in _instance_vars(a).items() if itemsize(v)}
    for op_expr in ("{0} * {1}", "{0} + {1}"):
        try:
            out = eval(op_expr.format("a", "b"), {"a": a, "b": b})
            break
        except BaseException:
            out = None
    if out is None:
        return facts
    facts["out_vars"] = {k: _type_or_number(v) for k, v in _instance_vars(out).items()}
    facts["inputs_paths"] = _paths_holding(out, [a, b])
    facts["callables"] = {
        k: code_id(v) for k, v in _instance_vars(out).items() if callable(v) and not isinstance(v, type)}
    return facts


def _own_attrs(cls):
    names = set()
    for klass in cls.__mro__[:-1]:
        names.update(k for k in vars(klass) if type(k) is str)
    return names


def _class_attrs(cls):
    import inspect

    out = {}
    for name in _own_attrs(cls):
        raw = inspect.getattr_static(cls, name)
        kind = ("property" if isinstance(raw, property) else
                "function" if callable(raw) or isinstance(raw, (staticmethod, classmethod)) else "other")
        entry = {"kind": kind}
        fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if kind == "function":
            entry.update(code_id(fn))
            try:
                params = list(inspect.signature(fn).parameters.values())[1:]
                entry["required_args"] = sum(
                    1 for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
            except (TypeError, ValueError):
                entry["required_args"] = None
        out[name] = entry
    return out


def _instance_vars(obj):
    """An object's attributes by name (string names only: a __dict__ can hold any key)."""
    try:
        found = dict(vars(obj))
    except TypeError:  # __slots__
        slots = [s for k in type(obj).__mro__ for s in getattr(k, "__slots__", ())]
        found = {s: getattr(obj, s) for s in slots if hasattr(obj, s)}
    return {k: v for k, v in found.items() if type(k) is str}


def _type_or_number(v):
    value = real(v)
    return type(v).__name__ if value is None else value


def _paths_holding(out, inputs):
    """Attribute paths (depth <= 2, properties included) whose items are exactly ``inputs``."""
    want = {id(x) for x in inputs}

    def holds(items):
        return {id(x) for x in items} == want

    found = []
    names = set(_instance_vars(out)) | {n for n in dir(type(out)) if not n.startswith("__")}
    for name in sorted(names):
        try:
            value = getattr(out, name)
        except BaseException:
            continue
        if callable(value) and not hasattr(value, "__iter__"):
            continue
        if holds(as_items(value)):
            found.append(name)
            continue
        if hasattr(value, "__dict__") and not isinstance(value, type):
            for inner in sorted(_instance_vars(value)):
                try:
                    items = as_items(getattr(value, inner))
                except BaseException:
                    continue
                if holds(items):
                    found.append(f"{name}.{inner}")
    return found
