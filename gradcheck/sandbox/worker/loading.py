"""Running a submission's units (files or notebook cells) one top-level statement at a time.

A notebook's plotting, training or drawing statements must not stop the class from loading, so
every statement runs on its own, under a time limit, carrying on after errors; once the loading
budget is spent only definitions still run. Before each statement a progress frame says which one
is about to run: if it kills the interpreter, gradcheck restarts the worker and skips it.

A notebook may define its class several times, the last one an exercise's cut-down variant: the
trusted side names (``keep_classes``: a unit's class statements, by line) the definition to check,
and once every unit has run its name is bound to that class again (``bind_kept``), as it stood
when the later definition replaced it. A class whose ``__eq__`` left it unhashable is named too
(``hash_by_identity``), and is hashed by identity as soon as it is defined.
"""

import __future__

# The C halves of ``ast`` and ``signal``: the Python modules import ``enum`` and more, a tenth of
# every worker's start, for names and wrappers this module does not need.
import _ast
import _signal
import sys
import time
import types

from describe import describe_exception, safe_str


class StatementTimeout(BaseException):
    """Raised by the alarm when one top-level statement of the submission runs too long.

    A BaseException so that the submission's own ``except Exception`` does not swallow it.
    """


def _on_alarm(signum, frame):
    raise StatementTimeout()


def fresh_module(name):
    """The module a file or notebook is run in, registered under ``name`` (a notebook's is
    ``__main__``), with the names a notebook expects from IPython."""
    module = types.ModuleType(name)
    module.__dict__["get_ipython"] = _get_ipython
    module.__dict__["display"] = lambda *a, **k: None
    sys.modules[name] = module
    return module


class UnitRunner:
    """Runs the units of one load into ``namespace``, under the request's time limits."""

    def __init__(self, channel, namespace, req):
        self.channel = channel
        self.namespace = namespace
        self.budget = float(req.get("statement_timeout", 10.0))
        self.definitions_only_after = time.monotonic() + float(req.get("load_budget", 30.0))
        self.skip = {tuple(s) for s in req.get("skip", [])}
        self.future_flags = 0
        self.kept = {}  # class name -> the class a kept class statement made

    def bind_kept(self):
        """Bind each kept class's name to it again, after the later definitions that replaced
        it ran: the checked class's methods then build values of their own class."""
        for name, cls in self.kept.items():
            self.namespace[name] = cls

    def _mark(self, unit_index, stmt_index):
        """Say which statement is about to run, so that if it kills the process the trusted
        side can restart and skip it."""
        self.channel.send("progress", unit=unit_index, stmt=stmt_index)

    def run(self, unit_index, unit):
        """Run a cell or file one top-level statement at a time, carrying on after errors:
        a notebook's drawing, plotting or training statements must not stop the class loading.
        Returns the errors, one per failed statement."""
        budget = self.budget
        try:
            tree = compile(unit["code"], unit["filename"], "exec", _ast.PyCF_ONLY_AST)  # ast.parse
        except SyntaxError as exc:
            return [{"type": "SyntaxError", "message": safe_str(exc.msg),
                     "where": [unit["filename"], exc.lineno], "statement": exc.lineno,
                     "text": safe_str(exc.text or "", 200).rstrip()}]
        errors = []
        if unit.get("package"):  # a module of the learner's package: its relative imports resolve
            self.namespace["__package__"] = unit["package"]
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
            try:
                code = compile(_ast.Module(body=[stmt], type_ignores=[]), unit["filename"], "exec",
                               flags=self.future_flags, dont_inherit=True)
            except SyntaxError as exc:  # `return` or `await` at top level: only this one fails
                errors.append({"type": "SyntaxError", "message": safe_str(exc.msg),
                               "where": [unit["filename"], stmt.lineno], "statement": stmt.lineno,
                               "text": safe_str(exc.text or "", 200).rstrip()})
                continue
            self.future_flags |= _future_flags(stmt)
            _signal.signal(_signal.SIGALRM, _on_alarm)
            _signal.setitimer(_signal.ITIMER_REAL, budget)
            try:
                try:
                    exec(code, self.namespace)
                finally:
                    # disarm before handling: describing a deep RecursionError's traceback can
                    # outlast the budget, and the alarm must not fire inside the handler
                    _signal.setitimer(_signal.ITIMER_REAL, 0)
            except StatementTimeout:
                errors.append({"type": "StatementTimeout", "message": f"stopped after {budget:g}s",
                               "where": [unit["filename"], stmt.lineno], "statement": stmt.lineno})
            except BaseException as exc:  # SystemExit and KeyboardInterrupt included
                info = describe_exception(exc)
                info["statement"] = stmt.lineno
                errors.append(info)
            else:
                if isinstance(stmt, _ast.ClassDef):
                    self._after_class(stmt, unit, budget)
        return errors

    def _after_class(self, stmt, unit, budget):
        """What the trusted side asked for a class statement that ran: keep its class for
        ``bind_kept``; hash it by identity when its ``__eq__`` left it unhashable and that
        breaks it (reported once by the trusted side; its other defects are then still
        checked). A class designed to be unhashable (its walk keys on ``id()``) stays as is."""
        made = self.namespace.get(stmt.name)
        if not isinstance(made, type):
            return
        if stmt.lineno in (unit.get("keep_classes") or ()):
            self.kept[stmt.name] = made
        if stmt.lineno in (unit.get("hash_by_identity") or ()) and made.__hash__ is None:
            _signal.signal(_signal.SIGALRM, _on_alarm)
            _signal.setitimer(_signal.ITIMER_REAL, budget)
            try:
                unhashed = _first_use(made)
                made.__hash__ = object.__hash__
                if unhashed != "TypeError" or _first_use(made) is not None:
                    made.__hash__ = None  # not what broke it: left as written
            except StatementTimeout:
                made.__hash__ = None
            finally:
                _signal.setitimer(_signal.ITIMER_REAL, 0)


def _first_use(cls):
    """What the lecture's first example does with the class -- two values combined, then
    ``backward()`` -- as the name of the exception it raised, None when it ran."""
    try:
        a, b = cls(0.5), cls(1.5)
        out = a + b if hasattr(cls, "__add__") else a * b
        walk = getattr(out, "backward", None)
        if callable(walk):
            walk()
    except StatementTimeout:
        raise
    except BaseException as exc:
        return type(exc).__name__
    return None


def _future_flags(stmt):
    """The compiler flags a ``from __future__ import ...`` statement turns on (0 for others)."""
    flags = 0
    if isinstance(stmt, _ast.ImportFrom) and stmt.module == "__future__":
        for alias in stmt.names:
            feature = getattr(__future__, alias.name, None)
            flags |= getattr(feature, "compiler_flag", 0)
    return flags


def _is_definition(stmt):
    """What a notebook needs from a cell to define and extend a class: defs, classes, imports,
    and assignments to attributes (``Value.__radd__ = radd``) -- not demos or training loops."""
    if isinstance(stmt, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef, _ast.Import, _ast.ImportFrom)):
        return True
    if isinstance(stmt, _ast.Assign):
        return all(isinstance(t, _ast.Attribute) for t in stmt.targets) or not any(
            isinstance(n, _ast.Call) for n in _walk(stmt.value))
    return False


def _walk(node):
    """Every node of the tree under ``node`` (``ast.walk``, whose module is not imported)."""
    todo = [node]
    while todo:
        node = todo.pop()
        yield node
        for name in node._fields:
            child = getattr(node, name, None)
            if isinstance(child, _ast.AST):
                todo.append(child)
            elif isinstance(child, list):
                todo.extend(c for c in child if isinstance(c, _ast.AST))


class _NoOpShell:
    """Stands in for the IPython shell in notebooks: every method is a harmless no-op."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_SHELL = _NoOpShell()


def _get_ipython():
    return _SHELL
