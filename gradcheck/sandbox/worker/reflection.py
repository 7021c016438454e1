"""Facts about the submission's classes, found by looking at them: which classes could be the
Value class, their attributes and methods, and what a node made by an op holds.

The trusted side decides the subject's API (data, grad, inputs and closure attributes, the
backward method) from these facts; nothing here decides anything.
"""

import probing
from describe import code_id, describe_exception, itemsize, real, safe_str
from traversal import required_positional


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
                a for a, v in probing.instance_vars(first).items()
                if real(v) == 0.75 and real(probing.instance_vars(second).get(a)) == -1.25)
        except BaseException as exc:
            facts["construct_error"] = describe_exception(exc)
        found.append(facts)
    return found


def inspect_class(cls, module_name, req=None, announce=None):
    """The "inspect" request: the class's attributes, a leaf's variables and what the results
    of the requested ops hold (``probes``); with ``drivers``, what calling each of those
    methods on a fresh result changes (the trusted side asks when the names say nothing)."""
    req = req or {}
    facts = {"class_attrs": _class_attrs(cls), "module": module_name}
    a = cls(0.75)
    leaf = probing.instance_vars(a)
    facts["leaf_vars"] = {k: probing.type_or_number(v) for k, v in leaf.items()}
    facts["itemsizes"] = {k: itemsize(v) for k, v in leaf.items() if itemsize(v)}
    facts["leaf_callables"] = {k: code_id(v) for k, v in leaf.items()
                               if callable(v) and not isinstance(v, type)}
    probes = req.get("probes") or [{"op": "mul", "method": "__mul__", "expr": "{0} * {1}", "arity": 2},
                                    {"op": "add", "method": "__add__", "expr": "{0} + {1}", "arity": 2}]
    facts["probes"] = probing.op_probes(cls, probes, announce)
    facts["identity"] = probing.identity(cls)
    if req.get("drivers"):
        facts["drivers"] = probing.drive(cls, req.get("driver_expr", "{0} * {1}"), req["drivers"],
                                         req.get("numeric") or [])
    return facts


def _static_attr(cls, name):
    """The class attribute as stored, without running a descriptor or ``__getattr__``: the
    first class in the MRO that holds it (what ``inspect.getattr_static`` finds for a name the
    class's own MRO defines)."""
    for klass in cls.__mro__:
        held = vars(klass)
        if name in held:
            return held[name]
    return None


def _own_attrs(cls):
    names = set()
    for klass in cls.__mro__[:-1]:
        names.update(k for k in vars(klass) if type(k) is str)
    return names


def _class_attrs(cls):
    out = {}
    for name in _own_attrs(cls):
        raw = _static_attr(cls, name)
        kind = ("property" if isinstance(raw, property) else
                "function" if callable(raw) or isinstance(raw, (staticmethod, classmethod)) else "other")
        entry = {"kind": kind}
        fn = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if kind == "function":
            entry.update(code_id(fn))
            entry["required_args"] = required_positional(fn, drop_first=True)
        out[name] = entry
    return out
