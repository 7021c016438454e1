"""The worker: the only place where a submission's code runs.

Run as a script (``python -I -S worker.py REQUEST_FD REPLY_FD ALARM_FD``) by
``gradcheck.sandbox.client``, from a copy of this folder (and of ``protocol.py``, the frames and
message kinds) inside the worker's sandbox. It uses nothing beyond the standard library, so it can
run under another interpreter (``--python``) that has no gradcheck installed.

It executes the submission, builds graphs with the submission's class and reports raw
observations (numbers, exception types, which closures ran in which order) over a pair of pipes
that are not stdout/stderr. It never compares a number with an expected one and never decides a
verdict: everything it sends is checked and judged by the trusted process.

This module only reads requests and hands each to its handler (``commands``); it also hides the
worker from the submission: once the submission runs, none of the worker's modules can be
imported by name and ``__main__`` is no longer this script.
"""

import os
import sys
import types


def _add_site_packages():
    """What ``site`` would add to sys.path: the installed packages (numpy, or a library allowed
    with --allow-import) and the folders their .pth files name. The worker runs with -S because
    ``site`` also runs the import lines of .pth files (editable-install finders, setuptools'
    distutils shim), which took most of the worker's start-up; a submission needs only the
    paths."""
    import site

    for folder in site.getsitepackages(_site_prefixes()):
        if not os.path.isdir(folder) or folder in sys.path:
            continue
        sys.path.append(folder)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".pth"):
                _add_pth_paths(folder, name)


def _site_prefixes():
    """The prefixes whose packages ``site`` would add. In a virtual environment (a pyvenv.cfg
    beside the interpreter or one folder up, as ``site`` looks for it) that is the environment --
    which -S leaves out of sys.prefix, so it is set here as ``site`` sets it -- and the base
    installation too only if the environment includes the system's packages."""
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    for folder in (exe_dir, os.path.dirname(exe_dir)):
        config = os.path.join(folder, "pyvenv.cfg")
        if not os.path.isfile(config):
            continue
        include_system = False
        try:
            with open(config, encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.partition("=")
                    if key.strip().lower() == "include-system-site-packages":
                        include_system = value.strip().lower() == "true"
        except (OSError, UnicodeDecodeError):
            pass
        sys.prefix = sys.exec_prefix = folder
        return [folder, sys.base_prefix] if include_system else [folder]
    return [sys.prefix]


def _add_pth_paths(folder, name):
    try:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "import ", "import\t")):
            continue
        path = os.path.normpath(os.path.join(folder, line))
        if os.path.isdir(path) and path not in sys.path:
            sys.path.append(path)


_add_site_packages()

# ------------------------------------------------------------------- the worker's own modules
# They are imported by path and then hidden: the folder leaves sys.path and their names leave
# sys.modules, so a submission's own ``graphs.py`` or ``guard.py`` is the one it imports.
_HERE = os.path.dirname(os.path.abspath(__file__))
# copied into the sandbox, every module sits in this folder; in gradcheck's own tree (in-process
# benchmarks) protocol.py is one folder up, where the trusted side imports it too
_FOLDERS = [_HERE] if os.path.exists(os.path.join(_HERE, "protocol.py")) else [
    _HERE, os.path.dirname(_HERE)]
_known_before = set(sys.modules)
sys.path[:0] = _FOLDERS
import capped_output  # noqa: E402
import channel  # noqa: E402
import commands  # noqa: E402
import describe  # noqa: E402
import graphs  # noqa: E402
import instrument  # noqa: E402
import loading  # noqa: E402
import probing  # noqa: E402
import reflection  # noqa: E402
import traversal  # noqa: E402

for _folder in _FOLDERS:
    sys.path.remove(_folder)
for _name in set(sys.modules) - _known_before:
    _file = getattr(sys.modules[_name], "__file__", None)
    if isinstance(_file, str) and os.path.dirname(_file) in _FOLDERS:
        del sys.modules[_name]  # ours (the guard's and protocol included), not the standard library's

# The modules that handle requests (the guard and the protocol are the worker's companions and
# keep their names): a frame of their code is never the submission's.
_OWN_MODULES = (capped_output, channel, commands, describe, graphs, instrument, loading,
                probing, reflection, traversal)
describe.count_as_worker([__file__] + [module.__file__ for module in _OWN_MODULES])

Worker = commands.Worker


def _hide_from_main():
    """The submission must not reach the worker as ``__main__`` (nor patch it from there), and
    the guard refuses changes to classes whose module is not the submission's: ours are renamed
    to "gradcheck_worker", out of "__main__" (also a notebook submission's module name) and of
    names a submission's own module may have."""
    sys.modules["__main__"] = types.ModuleType("__main__")
    for namespace in [globals()] + [vars(module) for module in _OWN_MODULES]:
        own_name = namespace["__name__"]
        for obj in list(namespace.values()):
            if isinstance(obj, type) and obj.__module__ == own_name:
                obj.__module__ = "gradcheck_worker"


def main():
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    requests = os.fdopen(read_fd, "rb", buffering=0)
    replies = channel.Channel(os.fdopen(write_fd, "wb", buffering=0))
    _hide_from_main()
    worker = Worker(replies)
    handlers = worker.handlers()
    while True:
        req = channel.read_request(requests)
        if req is None:  # the channel closed: gradcheck is gone
            return
        replies.seq = req.get("seq")
        try:
            reply = handlers[req["command"]](req)
        except BaseException as exc:
            reply = {"fatal": describe.describe_exception(exc)}
        replies.send("reply", body=reply)


if __name__ == "__main__":
    main()
