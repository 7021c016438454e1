"""The worker's audit hook (PEP 578): blocks what no Value class needs, and reports each attempt.

The worker imports this module and calls :func:`install` before loading a submission. The hook
stays for the life of the process (Python offers no way to remove one) and runs on every audited
event. What it watches and refuses is in ``guard_policy``, who counts as trusted in
``guard_trust``, which paths are allowed in ``guard_paths``, how an attempt is reported in
``guard_report``, and the decision per event in ``guard_hook``; this module is the guard as the
worker (and its tests) use it.

What a blocked attempt looks like:

* the caller gets :class:`TamperingBlocked` (a ``PermissionError``), or :class:`ForbiddenImport`
  (a ``ModuleNotFoundError``, so ``try: import torch / except ImportError`` degrades quietly);
* one JSON line goes to the alarm file descriptor, ``{"event", "detail", "where"}`` where
  ``where`` is ``[filename, line]`` of the innermost untrusted frame (or null), for the first
  ``MAX_REPORTS`` attempts, then a single ``{"event": "more", ...}`` line;
* :func:`attempts` returns the same records, for the worker's replies.

"Untrusted" code is any code whose file is not under a trusted directory (the readable runtime
directories of the policy, the worker's own directory, the standard library): the submission's
files and cells, but also ``exec``'d strings and generated code.

The hook relies only on built-in functions captured when it is installed, and keeps its state in
its closure: replacing ``os.path.realpath`` or ``json.dumps``, or rebinding the tables of these
modules afterwards, does not change it.

Standard library only, Python 3.8 syntax: this file runs under any ``--python`` interpreter.
"""

from __future__ import annotations

import functools
import sys

from guard_hook import make_hook
from guard_policy import (
    ALWAYS_BLOCKED,
    DISARMED,
    FROM_UNTRUSTED,
    MAX_REPORTS,
    READ_EVENTS,
    WATCHED,
    WRITE_EVENTS,
)

# the tables, under the guard's name as well (what it watches is part of what it is)
__all__ = ["ALWAYS_BLOCKED", "DISARMED", "FROM_UNTRUSTED", "MAX_REPORTS", "READ_EVENTS",
           "WATCHED", "WRITE_EVENTS", "ForbiddenImport", "TamperingBlocked", "attempts",
           "install"]


class TamperingBlocked(PermissionError):
    """gradcheck's sandbox refused this operation: a Value class never needs it."""


class ForbiddenImport(ModuleNotFoundError):
    """gradcheck refused this import: the assignment forbids the module."""


_recorded = []  # what the hook reported, bounded; shared with attempts() by reference
_installed = []


def attempts(_recorded=_recorded):
    """The attempts reported so far (at most MAX_REPORTS + 1 records), as plain dicts."""
    return [dict(record) for record in _recorded]


def install(policy, alarm_fd):
    """Install the audit hook for the rest of the process.

    ``policy`` (JSON data): ``scratch`` (the only writable directory), ``readable`` (directories
    that may be read; also trusted as library code), ``submission_files`` (filenames the
    submission's code is compiled under), ``submission_dirs``, ``forbidden_modules`` (top-level
    or dotted names, refused at any depth). Optional: ``writable`` (extra writable files),
    ``trusted_code`` (extra directories of trusted code, e.g. the worker's), ``open_fds`` (file
    descriptors ``open()`` may wrap; default 0, 1, 2), ``allow_ctypes`` (default false: ctypes
    cannot be imported at all, since calls through its ready-made function pointers such as
    ``ctypes.memmove`` raise no audit event; numpy works without it, sympy does not),
    ``submission_modules`` (module names whose classes the submission may change).
    ``alarm_fd``: where each attempt is written as one JSON line, or None.
    """
    if _installed:
        raise RuntimeError("guard.install() was called twice")
    hook = make_hook(policy, alarm_fd, _recorded, TamperingBlocked, ForbiddenImport)
    _disarm()
    sys.dont_write_bytecode = True  # caching a helper's bytecode would be a write outside scratch
    sys.addaudithook(hook)
    _installed.append(True)


def _disarm():
    for module_name, names in DISARMED.items():
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for name in names:
            if hasattr(module, name):
                # a partial of sys.audit rather than a Python function: it leads nowhere
                setattr(module, name, functools.partial(sys.audit, "guard.disarmed",
                                                        module_name + "." + name))
