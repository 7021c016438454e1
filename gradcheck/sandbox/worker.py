"""The worker: the only place where a submission's code runs.

Run as a script (``python -I worker.py REQUEST_FD REPLY_FD ALARM_FD``) by
``gradcheck.sandbox.client``, from a copy of this file and its two companions (``protocol``:
frames and message kinds; ``guard``: the audit hook) inside the worker's sandbox. It uses nothing
beyond the standard library, so it can run under another interpreter (``--python``) that has no
gradcheck installed.

It executes the submission, builds graphs with the submission's class and reports raw
observations (numbers, exception types, which closures ran in which order) over a pair of pipes
that are not stdout/stderr. It never compares a number with an expected one and never decides a
verdict: everything it sends is checked and judged by the trusted process.
"""

import __future__

import ast
import json
import numbers
import os
import signal
import sys
import time
import types

# ---------------------------------------------------------------------------------- channel
# Our companions are imported by path and then hidden: once the submission runs, neither they
# nor this module can be imported by name (``__main__`` is replaced before loading).

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import protocol  # noqa: E402

try:
    import guard  # noqa: E402
except ImportError:  # an older copy without the audit hook: run unguarded
    guard = None
sys.path.remove(_HERE)
for _name in ("protocol", "guard"):
    sys.modules.pop(_name, None)
_loads = json.loads  # the submission may rebind json.loads; requests are read with this one


def read_request(stream):
    """One request from gradcheck (trusted), or None when the channel is closed."""
    header = _read_exact(stream, protocol.HEADER.size)
    if header is None:
        return None
    (size,) = protocol.HEADER.unpack(header)
    payload = _read_exact(stream, size)
    return None if payload is None else _loads(payload.decode())


def _read_exact(stream, size):
    chunks, got = [], 0
    while got < size:
        chunk = stream.read(size - got)  # a pipe hands over at most its capacity per read
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class Channel:
    """Writes frames that answer the request being handled (its ``seq``)."""

    def __init__(self, stream):
        self.stream = stream
        self.seq = None

    def send(self, kind, **fields):
        fields.update(seq=self.seq, kind=kind)
        self.stream.write(protocol.encode(fields))
        self.stream.flush()


class CappedOutput:
    """sys.stdout/sys.stderr for the submission: the first bytes go to the captured pipe, the
    rest is only counted, so printing a million lines costs almost nothing."""

    def __init__(self, fd, keep):
        self.fd, self.left = fd, keep
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text):
        if self.left > 0:
            data = str(text).encode("utf-8", "replace")[: self.left]
            self.left -= len(data)
            try:
                os.write(self.fd, data)
            except OSError:
                self.left = 0
            if self.left <= 0:
                _quieten_print()
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def reconfigure(self, *args, **kwargs):  # sys.stdout.reconfigure(encoding="utf-8")
        pass

    @property
    def buffer(self):
        return self

    def fileno(self):
        return self.fd


def _quieten_print():
    """Once the kept output is full, ``print`` to stdout/stderr returns at once: formatting
    what nobody will read is most of what a print costs."""
    import builtins

    original = builtins.print

    def quiet_print(*args, **kwargs):
        target = kwargs.get("file")
        if target is not None and target is not sys.stdout and target is not sys.stderr:
            return original(*args, **kwargs)
        return None

    builtins.print = quiet_print


# ------------------------------------------------------------------------------- utilities

class StatementTimeout(BaseException):
    """Raised by the alarm when one top-level statement of the submission runs too long.

    A BaseException so that the submission's own ``except Exception`` does not swallow it.
    """


def _on_alarm(signum, frame):
    raise StatementTimeout()


def _safe_str(obj, limit=300):
    try:
        text = str(obj)
    except BaseException:  # a hostile __str__ must not take the worker down
        text = "<unprintable>"
    return text[:limit]


def _subject_frame(tb):
    """The innermost traceback frame that belongs to the submission, as (filename, line)."""
    where = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != __file__:
            where = [code.co_filename, tb.tb_lineno]
        tb = tb.tb_next
    return where


def describe_exception(exc):
    return {"type": type(exc).__name__, "message": _safe_str(exc),
            "where": _subject_frame(exc.__traceback__)}


def real(x):
    """A subject's scalar as a float, or None if it is not a real number: int, float, numpy's
    scalars and 0-d numpy arrays count; bool and an object that merely converts itself do not."""
    if type(x) in (int, float):
        return float(x)
    if type(x) is bool:
        return None
    numpy = sys.modules.get("numpy")
    try:
        if isinstance(x, numbers.Real) or (
                numpy is not None and isinstance(x, numpy.ndarray) and x.shape == ()
                and x.dtype.kind in "fiu"):
            return float(x)
    except BaseException:
        return None
    return None


def number(x):
    """A subject's number as a float, or an error description (never trusted as-is)."""
    if type(x) is bool:
        return float(x)
    value = real(x)
    if value is not None:
        return value
    return {"error": "not-a-number", "type": _safe_str(type(x).__name__, 80)}


def itemsize(x):
    """Bytes per number of a numpy scalar or array (4 for float32), else None."""
    try:
        size = x.dtype.itemsize
    except BaseException:
        return None
    return size if type(size) is int else None


def code_id(fn):
    """Where a callable was defined, so the trusted side can point at the source line."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return {"qualname": _safe_str(getattr(fn, "__qualname__", type(fn).__name__)),
                "file": None, "line": None}
    return {"qualname": code.co_qualname if hasattr(code, "co_qualname") else code.co_name,
            "file": code.co_filename, "line": code.co_firstlineno}


def get_path(obj, path):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def as_items(value):
    """The nodes held by an inputs attribute, without hashing or comparing them."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.keys())
    if isinstance(value, (tuple, list, set, frozenset)):
        return list(value)
    try:
        return list(iter(value))
    except BaseException:
        return []


# ---------------------------------------------------------------------------------- worker

class Worker:
    def __init__(self, channel):
        self.channel = channel
        self.namespace = None
        self.module_name = "submission"
        self.definitions_only_after = float("inf")
        self.skip = set()
        self.future_flags = 0

    # ---- loading ---------------------------------------------------------------------
    def load(self, req):
        for entry in req.get("sys_path", []):
            sys.path.insert(0, entry)
        if req.get("output_bytes") is not None:
            keep = int(req["output_bytes"]) + 1024  # a little more: the reader sees the cut
            sys.stdout = sys.__stdout__ = CappedOutput(1, keep)
            sys.stderr = sys.__stderr__ = CappedOutput(2, keep)
        if guard is not None and req.get("guard") is not None:
            guard.install(req["guard"], int(sys.argv[3]) if len(sys.argv) > 3 else None)
        if req.get("module"):
            return self._load_module(req["module"])
        as_main = req.get("as_main", False)
        self.module_name = "__main__" if as_main else "submission"
        module = types.ModuleType(self.module_name)
        module.__dict__["get_ipython"] = _get_ipython
        module.__dict__["display"] = lambda *a, **k: None
        sys.modules[self.module_name] = module
        self.namespace = module.__dict__
        budget = float(req.get("statement_timeout", 10.0))
        self.definitions_only_after = time.monotonic() + float(req.get("load_budget", 30.0))
        self.skip = {tuple(s) for s in req.get("skip", [])}
        units = []
        for index, unit in enumerate(req["units"]):
            units.append({"label": unit["label"], "errors": self._exec_unit(index, unit, budget)})
        return {"units": units, "classes": self._candidate_classes(), "modules": sorted(sys.modules)}

    def modules(self, req):
        """Which modules are imported now (the trusted side checks its forbidden list)."""
        return {"modules": sorted(sys.modules)}

    def _load_module(self, spec):
        import importlib

        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:
            return {"fatal": describe_exception(exc)}
        self.module_name = module.__name__
        self.namespace = vars(module)
        return {"units": [], "classes": self._candidate_classes(only=attr or None),
                "modules": sorted(sys.modules)}

    def _mark(self, unit_index, stmt_index):
        """Say which statement is about to run, so that if it kills the process the trusted
        side can restart and skip it."""
        self.channel.send("progress", unit=unit_index, stmt=stmt_index)

    def _exec_unit(self, unit_index, unit, budget):
        """Run a cell or file one top-level statement at a time, carrying on after errors:
        a notebook's drawing, plotting or training statements must not stop the class loading."""
        try:
            tree = ast.parse(unit["code"], filename=unit["filename"])
        except SyntaxError as exc:
            return [{"type": "SyntaxError", "message": _safe_str(exc.msg),
                     "where": [unit["filename"], exc.lineno], "statement": exc.lineno,
                     "text": _safe_str(exc.text or "", 200).rstrip()}]
        errors = []
        for stmt_index, stmt in enumerate(tree.body):
            if (unit_index, stmt_index) in self.skip:
                errors.append({"type": "Killed", "message": "this statement killed the interpreter "
                               "on an earlier attempt, so it was skipped", "where": [unit["filename"], stmt.lineno],
                               "statement": stmt.lineno})
                continue
            self._mark(unit_index, stmt_index)
            if time.monotonic() > self.definitions_only_after and not _is_definition(stmt):
                errors.append({"type": "Skipped", "message": "loading time budget used up; only "
                               "definitions still run", "where": [unit["filename"], stmt.lineno],
                               "statement": stmt.lineno})
                continue
            # statements run one at a time, but a future import applies to all that follow it,
            # as it would in the file or notebook (``from __future__ import annotations``)
            code = compile(ast.Module(body=[stmt], type_ignores=[]), unit["filename"], "exec",
                           flags=self.future_flags, dont_inherit=True)
            self.future_flags |= _future_flags(stmt)
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                try:
                    exec(code, self.namespace)
                finally:
                    # disarm before handling: describing a deep RecursionError's traceback can
                    # outlast the budget, and the alarm must not fire inside the handler
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except StatementTimeout:
                errors.append({"type": "StatementTimeout", "message": f"stopped after {budget:g}s",
                               "where": [unit["filename"], stmt.lineno], "statement": stmt.lineno})
            except BaseException as exc:  # SystemExit and KeyboardInterrupt included
                info = describe_exception(exc)
                info["statement"] = stmt.lineno
                errors.append(info)
        return errors

    def _candidate_classes(self, only=None):
        found = []
        for name, obj in list(self.namespace.items()):
            if not isinstance(name, str) or not isinstance(obj, type) or (only and name != only):
                continue
            if not only and getattr(obj, "__module__", None) != self.module_name:
                if name.lower() in ("value", "scalar"):  # imported rather than written here
                    found.append({"name": name, "imported_from": _safe_str(obj.__module__, 100)})
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

    # ---- structure -------------------------------------------------------------------
    def inspect(self, req):
        cls = self.namespace[req["class"]]
        facts = {"class_attrs": _class_attrs(cls), "module": self.module_name}
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

    # ---- running graphs ----------------------------------------------------------------
    def run(self, req):
        cfg = Config(self.namespace[req["class"]], req)
        return {"results": [self._run_graph(cfg, g) for g in req["graphs"]]}

    def _run_graph(self, cfg, graph):
        result = {}
        try:
            nodes = build(cfg.cls, graph)
        except BaseException as exc:
            result["error"] = dict(describe_exception(exc), stage="forward")
            return result
        result["data"] = [number(getattr(n, cfg.data_attr, None)) for n in nodes]
        if not cfg.want_grads:
            return result
        recorder = None
        if cfg.instrument:
            recorder = TopoRecorder(nodes[-1], cfg)
            result["structure"] = recorder.structure(nodes)
        try:
            if cfg.backward:
                getattr(nodes[-1], cfg.backward)()
            else:
                harness_backward(nodes[-1], cfg)
        except BaseException as exc:
            result["error"] = dict(describe_exception(exc), stage="backward")
        if recorder is not None:
            result["calls"] = recorder.calls
        result["grads"] = [number(getattr(n, cfg.grad_attr, None)) for n in nodes]
        return result

    def local_rule(self, req):
        """One op in isolation: preset input and upstream gradients, then run only the
        closures of the op's own sub-graph, walked by the harness (SPEC, Checks 3)."""
        cfg = Config(self.namespace[req["class"]], req)
        results = []
        for case in req["cases"]:
            res = {}
            try:
                leaves = [cfg.cls(v) for v in case["inputs"]]
                names = {f"v{i}": leaf for i, leaf in enumerate(leaves)}
                out = eval(case["expr"].format(*names), dict(names))
                res["data"] = number(getattr(out, cfg.data_attr, None))
                for leaf, g in zip(leaves, case["input_grads"]):
                    setattr(leaf, cfg.grad_attr, g)
                setattr(out, cfg.grad_attr, case["upstream"])
            except BaseException as exc:  # the probe could not be set up: not a verdict
                res["error"] = dict(describe_exception(exc), stage="setup")
                results.append(res)
                continue
            ran = []
            try:
                harness_backward(out, cfg, stop=leaves, ran=ran)
            except BaseException as exc:
                res["error"] = dict(describe_exception(exc), stage="backward")
            res["closures"] = ran
            res["grads"] = [number(getattr(leaf, cfg.grad_attr, None)) for leaf in leaves]
            results.append(res)
        return {"results": results}


class Config:
    """The subject's API as decided by the trusted side (names only, no judgement)."""

    def __init__(self, cls, req):
        self.cls = cls
        self.data_attr = req.get("data_attr", "data")
        self.grad_attr = req.get("grad_attr", "grad")
        self.inputs_attr = req.get("inputs_attr")
        self.closure_attr = req.get("closure_attr")
        self.backward = req.get("backward")
        self.want_grads = req.get("grads", True)
        self.instrument = req.get("instrument", False)


def build(cls, graph):
    nodes = []
    for spec in graph:
        if "leaf" in spec:
            nodes.append(cls(spec["leaf"]))
        else:
            names = {f"v{i}": nodes[a] for i, a in enumerate(spec["args"])}
            nodes.append(eval(spec["expr"].format(*names), dict(names)))
    return nodes


def inputs_of(node, cfg):
    """The nodes a node was computed from. Entries that are not nodes (``pow``'s number exponent
    kept beside its base, characters of a string) are left out, as the learner's own traversal
    leaves them out: gradcheck never walks into them or writes a gradient to them."""
    if not cfg.inputs_attr:
        return []
    try:
        items = as_items(get_path(node, cfg.inputs_attr))
    except AttributeError:
        return []
    # (by what they are not, rather than "instances of the class": a design whose ops build
    # nodes of a base or sibling class keeps them)
    return [item for item in items
            if item is not None and not isinstance(item, (numbers.Number, str, bytes))]


def topological(root, cfg, stop=()):
    """Post-order of the nodes under root, by identity (values may be unhashable)."""
    stop_ids = {id(s) for s in stop}
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if id(node) not in stop_ids:
            for child in inputs_of(node, cfg):
                if id(child) not in seen:
                    stack.append((child, False))
    return order


def harness_backward(root, cfg, stop=None, ran=None):
    """gradcheck's own traversal: used for local rules (``stop`` = the op's inputs, gradients
    preset by the caller) and when the subject has no ``backward()`` (seeds the output with 1).
    Appends the closures it runs to ``ran``, in order, as it goes."""
    ran = [] if ran is None else ran
    if stop is None:
        stop = ()
        setattr(root, cfg.grad_attr, 1.0)
    stop_ids = {id(s) for s in stop}
    order = topological(root, cfg, stop)
    if stop:  # an op probed alone: its internal nodes start from zero, whatever __init__ did
        for node in order:
            if id(node) not in stop_ids and node is not root:
                setattr(node, cfg.grad_attr, 0.0)
    for node in reversed(order):
        if id(node) in stop_ids:
            continue
        closure = getattr(node, cfg.closure_attr, None) if cfg.closure_attr else None
        if callable(closure):
            ran.append(code_id(closure))
            closure()
    return ran


class TopoRecorder:
    """Wraps every node's closure so the order in which ``backward()`` runs them is seen."""

    def __init__(self, root, cfg):
        self.cfg = cfg
        self.calls = []
        self.nodes = topological(root, cfg)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        for i, node in enumerate(self.nodes):
            original = getattr(node, cfg.closure_attr, None) if cfg.closure_attr else None
            if not callable(original):
                continue
            try:
                setattr(node, cfg.closure_attr, self._wrap(i, node, original))
            except BaseException:
                pass  # __slots__ or a read-only attribute: this node goes unobserved

    def _wrap(self, i, node, original):
        def recorded(*args, **kwargs):
            self.calls.append([i, number(getattr(node, self.cfg.grad_attr, None))])
            return original(*args, **kwargs)
        return recorded

    def structure(self, graph_nodes):
        return {
            "inputs": [[self.index[id(c)] for c in inputs_of(n, self.cfg) if id(c) in self.index]
                       for n in self.nodes],
            "graph_nodes": [self.index.get(id(n)) for n in graph_nodes],
        }


# ------------------------------------------------------------------------------ reflection

def _future_flags(stmt):
    """The compiler flags a ``from __future__ import ...`` statement turns on (0 for others)."""
    flags = 0
    if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
        for alias in stmt.names:
            feature = getattr(__future__, alias.name, None)
            flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _is_definition(stmt):
    """What a notebook needs from a cell to define and extend a class: defs, classes, imports,
    and assignments to attributes (``Value.__radd__ = radd``) -- not demos or training loops."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
        return True
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, ast.Attribute) for t in stmt.targets) or not any(
            isinstance(n, ast.Call) for n in ast.walk(stmt.value))
    return False


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


class _NoOpShell:
    """Stands in for the IPython shell in notebooks: every method is a harmless no-op."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_SHELL = _NoOpShell()


def _get_ipython():
    return _SHELL


# -------------------------------------------------------------------------------- main loop

def main():
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    requests = os.fdopen(read_fd, "rb", buffering=0)
    channel = Channel(os.fdopen(write_fd, "wb", buffering=0))
    # The submission must not reach this module as ``__main__`` (nor patch it from there), and
    # the guard refuses changes to classes whose module is not the submission's: ours are
    # renamed out of "__main__", which is also a notebook submission's module name.
    sys.modules["__main__"] = types.ModuleType("__main__")
    for obj in list(globals().values()):
        if isinstance(obj, type) and obj.__module__ == "__main__":
            obj.__module__ = "gradcheck_worker"
    worker = Worker(channel)
    handlers = {"load": worker.load, "inspect": worker.inspect, "run": worker.run,
                "local_rule": worker.local_rule, "modules": worker.modules}
    while True:
        req = read_request(requests)
        if req is None or req.get("command") == "shutdown":
            return
        channel.seq = req.get("seq")
        try:
            reply = handlers[req["command"]](req)
        except BaseException as exc:
            reply = {"fatal": describe_exception(exc)}
        channel.send("reply", body=reply)


if __name__ == "__main__":
    main()
