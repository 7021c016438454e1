"""What the nodes a class builds hold, op by op: the callables and inputs on each op's result,
whether two distinct values with the same number merge in a set, and what calling a candidate
driver method changes. Facts only: the trusted side decides the names and the defects.
"""

from describe import code_id, real, safe_str
from traversal import as_items, get_path

LEFT, RIGHT = 0.75, -1.25  # operands of every probe: distinct, non-zero, in every op's domain
MAX_PROBES = 32
MAX_DRIVERS = 6
REACH_NODES = 64  # nodes walked looking for an op's operands below its result


def instance_vars(obj):
    """An object's attributes by name (string names only: a __dict__ can hold any key)."""
    try:
        found = dict(vars(obj))
    except TypeError:  # __slots__
        slots = [s for k in type(obj).__mro__ for s in getattr(k, "__slots__", ())]
        found = {s: getattr(obj, s) for s in slots if hasattr(obj, s)}
    return {k: v for k, v in found.items() if type(k) is str}


def type_or_number(v):
    value = real(v)
    return type(v).__name__ if value is None else value


def _nodes(items):
    """Entries of an inputs attribute that can be nodes (numbers and text never are)."""
    return [x for x in items if x is not None and real(x) is None and not isinstance(x, (str, bytes))]


def paths_holding(out, inputs):
    """Attribute paths (depth <= 2, properties included) whose node entries are exactly
    ``inputs`` (a number kept beside them, as ``pow``'s exponent often is, is ignored)."""
    want = {id(x) for x in inputs}

    def holds(items):
        return {id(x) for x in _nodes(items)} == want

    found = []
    names = set(instance_vars(out)) | {n for n in dir(type(out)) if not n.startswith("__")}
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
            for inner in sorted(instance_vars(value)):
                try:
                    items = as_items(getattr(value, inner))
                except BaseException:
                    continue
                if holds(items):
                    found.append(f"{name}.{inner}")
    return found


def _walk(out, path, operands):
    """Whether every operand is ``out`` itself or found below it through ``path``, and the
    attributes holding None on the nodes between (an op built from a part whose node stores
    None as its closure: ``neg = a * -1`` over a broken ``*``)."""
    operand_ids = {id(x) for x in operands}
    missing = operand_ids - {id(out)}
    inner_none = set()
    stack, seen = [out], set()
    while stack and len(seen) < REACH_NODES:
        node = stack.pop()
        if id(node) in seen or id(node) in operand_ids:
            continue
        seen.add(id(node))
        if node is not out:
            inner_none.update(k for k, v in instance_vars(node).items() if v is None)
        try:
            children = _nodes(as_items(get_path(node, path)))
        except BaseException:
            continue
        for child in children:
            missing.discard(id(child))
            stack.append(child)
    return not missing, inner_none


def op_probes(cls, probes, announce=None):
    """For each requested op (``{"op", "method", "expr", "arity"}``, the expression with
    ``{0}``/``{1}`` for the operands), what its result holds: variables, callables, the paths
    holding exactly its operands, and -- for every such path found on any op -- whether the
    operands can be reached from the result through it. ``announce(op)`` is called before an
    op's code first runs, so that if it kills the process the trusted side knows which op."""
    facts, made = [], []
    for probe in probes[:MAX_PROBES]:
        name, method = safe_str(probe.get("op"), 40), probe.get("method")
        if not isinstance(method, str) or not hasattr(cls, method) or any(f["op"] == name for f in facts):
            continue  # (an op may come several times, once per spelling of its method)
        if announce is not None:
            announce(name)
        entry = {"op": name}
        facts.append(entry)
        try:
            operands = [cls(LEFT), cls(RIGHT)][: int(probe.get("arity", 2))]
            names = {f"v{i}": x for i, x in enumerate(operands)}
            out = eval(probe["expr"].format(*names), dict(names))
            values = instance_vars(out)
            entry["vars"] = {k: type_or_number(v) for k, v in values.items()}
            entry["callables"] = {k: code_id(v) for k, v in values.items()
                                  if callable(v) and not isinstance(v, type)}
            entry["inputs_paths"] = paths_holding(out, operands)
            entry["is_operand"] = any(out is x for x in operands)
        except BaseException as exc:
            entry["error"] = safe_str(type(exc).__name__, 100)
            continue
        made.append((entry, out, operands))
    paths = sorted({p for entry, _, _ in made for p in entry["inputs_paths"]})
    for entry, out, operands in made:
        walks = {p: _walk(out, p, operands) for p in paths}
        entry["reaches"] = [p for p in paths if walks[p][0]]
        entry["inner_none"] = sorted({k for _, none in walks.values() for k in none})
    return facts


def identity(cls):
    """Whether two distinct values built from the same number compare equal and merge in a set
    (``__eq__``/``__hash__`` on data): then ``set(children)`` and a visited set lose nodes."""
    x, y = cls(LEFT), cls(LEFT)
    facts = {}
    try:
        facts["merged"] = len({x, y}) == 1
    except TypeError:
        facts["unhashable"] = True
    except BaseException:
        pass
    try:
        facts["equal"] = bool(x == y)
    except BaseException:
        pass
    return facts


def drive(cls, expr, methods, numeric):
    """Call each candidate driver method (zero arguments) on a fresh ``expr`` result and report
    which of the ``numeric`` attributes it changed on the result and on the operands."""
    found = []
    for method in methods[:MAX_DRIVERS]:
        entry = {"method": safe_str(method, 100)}
        found.append(entry)
        try:
            operands = [cls(LEFT), cls(RIGHT)]
            out = eval(expr.format("v0", "v1"), {"v0": operands[0], "v1": operands[1]})
            before = [_numbers(x, numeric) for x in operands]
            getattr(out, method)()
        except BaseException as exc:
            entry["error"] = safe_str(type(exc).__name__, 100)
            continue
        entry["out_after"] = {k: v for k, v in _numbers(out, numeric).items() if v is not None}
        entry["operand_changed"] = sorted(
            {k for x, old in zip(operands, before) for k, v in _numbers(x, numeric).items()
             if v != old.get(k)})
    return found


def _numbers(obj, names):
    out = {}
    for name in names:
        try:
            out[name] = real(getattr(obj, name))
        except BaseException:
            out[name] = None
    return out
