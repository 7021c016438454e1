"""What the worker's audit hook watches and refuses: the event tables, and the request's policy
turned into the sets and prefixes the hook matches against.

The tables say which audited events no Value class needs (refused whoever asks), which are
refused only when untrusted code asks, and which file accesses are checked against the policy's
folders. ``prepare`` runs once, when the hook is installed and before any submission code: it
resolves the policy's folders then, so that later changes to ``os.path`` cannot move them.

Standard library only, Python 3.8 syntax (see ``guard``).
"""

from __future__ import annotations

import os
import sys

MAX_REPORTS = 50
PROCESS_INFORMATION = "process information"  # /proc/<pid>/..., judged by who asks
DETAIL_LIMIT = 200

# Blocked whoever asks: nothing in a Value class, numpy or the worker needs them after loading.
ALWAYS_BLOCKED = frozenset({
    # foreign calls and raw memory (ctypes.dlopen alone is judged by its caller: numpy opens
    # the interpreter itself with it when it is imported)
    "ctypes.addressof", "ctypes.call_function", "ctypes.cdata", "ctypes.cdata/buffer",
    "ctypes.create_string_buffer", "ctypes.create_unicode_buffer", "ctypes.dlsym",
    "ctypes.dlsym/handle", "ctypes.get_errno", "ctypes.set_errno", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.PyObj_FromPtr",
    # walking the object graph, other threads' frames, tracing
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys._current_frames", "sys._current_exceptions",
    "sys.monitoring.register_callback",
    # a second hook would be handed every audited object, the worker's frames included
    "sys.addaudithook",
    # processes and signals
    "os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
    "resource.setrlimit", "resource.prlimit",
    # files that are not files: links, databases opened by C code, the system log
    "os.symlink", "os.link",
    "sqlite3.connect", "sqlite3.connect/handle", "sqlite3.enable_load_extension",
    "sqlite3.load_extension",
    "syslog.openlog", "syslog.syslog", "syslog.closelog", "syslog.setlogmask",
    # the network
    "socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo",
    "socket.gethostbyaddr", "socket.gethostbyname", "socket.gethostname", "socket.getnameinfo",
    "socket.getservbyname", "socket.getservbyport", "socket.sendmsg", "socket.sendto",
    "socket.sethostname",
    # raised by the stand-ins that install() puts in place of unaudited functions
    "guard.disarmed",
})

# Blocked only when untrusted code asks (library code uses them legitimately).
# (tracing from library code is a debugger or doctest: pdb for a leftover breakpoint(); code
# loaded from marshal bytes can claim any file name, a library's included)
FROM_UNTRUSTED = frozenset({"sys._getframe", "ctypes.dlopen", "sys.settrace", "sys.setprofile",
                            "marshal.loads", "marshal.load"})

# Attribute reads that hand out a frame, and writes that replace a function's behaviour.
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
FUNCTION_INTERNALS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
CODE_EVENTS = frozenset({"compile", "code.__new__", "function.__new__", "exec"})

# Event -> positions of (path, dir_fd) pairs among its arguments.
READ_EVENTS = {"os.listdir": ((0, None),), "os.scandir": ((0, None),),
               "os.getxattr": ((0, None),), "os.listxattr": ((0, None),)}
WRITE_EVENTS = {
    "os.mkdir": ((0, 2),), "os.remove": ((0, 1),), "os.rmdir": ((0, 1),),
    "os.rename": ((0, 2), (1, 3)), "os.chmod": ((0, 2),), "os.chown": ((0, 3),),
    "os.truncate": ((0, None),), "os.utime": ((0, 3),), "os.setxattr": ((0, None),),
    "os.removexattr": ((0, None),),
}

WATCHED = (ALWAYS_BLOCKED | FROM_UNTRUSTED | CODE_EVENTS | set(READ_EVENTS) | set(WRITE_EVENTS)
           | {"open", "import", "object.__getattr__", "object.__setattr__", "object.__delattr__"})

# Functions with no audit event of their own that would undo the rest: install() replaces them
# with stand-ins that raise "guard.disarmed", and a later import of their module (which would
# bring the originals back) is refused.
DISARMED = {"_posixsubprocess": ("fork_exec",),  # how subprocess starts a process
            "gc": ("set_debug",)}                # DEBUG_SAVEALL keeps the worker's garbage

# Standard functions whose job is to hand frames to their caller: judged by who called them.
FRAME_HANDING = {"inspect.py": ("currentframe", "stack", "trace", "getouterframes",
                                "getinnerframes", "getgeneratorlocals", "getcoroutinelocals"),
                 "traceback.py": ("walk_stack", "walk_tb", "_walk_tb_with_full_positions"),
                 os.path.join("logging", "__init__.py"): ("<lambda>", "currentframe")}

DEVICES_READ_WRITE = frozenset({"/dev/null"})
DEVICES_READ_ONLY = frozenset({"/dev/urandom", "/dev/random"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def folders(paths):
    """Directory names as written and resolved, and the same with a trailing slash."""
    names = set()
    for path in paths:
        if isinstance(path, str) and path:
            names.add(os.path.normpath(os.path.abspath(path)))
            names.add(os.path.realpath(path))
    return frozenset(names), tuple(name.rstrip("/") + "/" for name in names)


def _import_dirs(submission_prefixes):
    """The import path's folders, split into the submission's own and the others."""
    own, others = [], []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        folder = os.path.realpath(entry or ".") + "/"
        (own if folder.startswith(submission_prefixes) else others).append(entry)
    return own, others


def own_modules(forbidden, submission_prefixes):
    """The forbidden names the submission provides itself, as a module or package in a folder
    of its import path (a learner's own package called ``micrograd``): importing them runs the
    learner's code, so they are not refused (the trusted side decides the same from its copy,
    ``Submission.own_modules``); ``installed_files`` keeps the library of that name unreadable."""
    own = set()
    for entry in _import_dirs(submission_prefixes)[0]:
        for name in forbidden:
            if "." in name:
                continue
            if os.path.isfile(os.path.join(entry, name + ".py")) or _has_python(os.path.join(entry, name)):
                own.add(name)
    return frozenset(own)


def _has_python(folder):
    try:
        return os.path.isdir(folder) and any(n.endswith(".py") for n in os.listdir(folder))
    except OSError:
        return False


def installed_files(names, submission_prefixes):
    """(files, folder prefixes) of the installed libraries of these names, found now (before any
    submission code runs) outside the submission: with a learner's own package of the same name
    allowed, the real library must stay out of reach, whatever the import path becomes."""
    import importlib.machinery

    files, prefixes = set(), []
    others = _import_dirs(submission_prefixes)[1]
    for name in names:
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, others)
        except (ImportError, ValueError, OSError):
            continue
        if spec is None:
            continue
        for folder in spec.submodule_search_locations or ():
            prefixes.append(os.path.realpath(folder).rstrip("/") + "/")
        if spec.origin and not spec.submodule_search_locations:
            origin = os.path.realpath(spec.origin)
            files.add(origin)  # a one-file module, and its cached bytecode
            prefixes.append(os.path.join(os.path.dirname(origin), "__pycache__", name + "."))
    return frozenset(files), tuple(prefixes)


def prepare(policy):
    """The request's policy (see ``guard.install``) as the hook matches it: folder sets and
    prefixes, file sets, module names. Trusted code is the policy's readable and trusted_code
    folders, the standard library and the worker's own folder (this module's)."""
    stdlib = os.path.dirname(os.__file__)
    scratch_set, scratch_prefixes = folders([policy.get("scratch") or "/nonexistent-scratch"])
    _, submission_prefixes = folders(policy.get("submission_dirs", []))
    own_dir = os.path.dirname(os.path.abspath(__file__))
    trusted_dirs = list(policy.get("readable", [])) + list(policy.get("trusted_code", [])) + [
        stdlib, own_dir]
    readable_set, readable_prefixes = folders(trusted_dirs + list(policy.get("submission_dirs", [])))
    submission_files = frozenset(policy.get("submission_files", []))
    _, trusted_prefixes = folders(trusted_dirs)
    forbidden = frozenset(policy.get("forbidden_modules", []))
    own = own_modules(forbidden, submission_prefixes)
    forbidden = forbidden - own
    denied_set, denied_prefixes = installed_files(own, submission_prefixes)
    native_modules = frozenset() if policy.get("allow_ctypes") else frozenset({"ctypes", "_ctypes"})
    stdlib_dirs = {stdlib, os.path.realpath(stdlib)}
    os_files = ("<frozen os>",) + tuple(os.path.join(d, "os.py") for d in stdlib_dirs)
    return {
        "submission_modules": frozenset(policy.get("submission_modules", ("submission", "__main__"))),
        "scratch_set": scratch_set, "scratch_prefixes": scratch_prefixes,
        "readable_set": readable_set, "readable_prefixes": readable_prefixes,
        "writable_files": frozenset(os.path.realpath(p) for p in policy.get("writable", [])),
        "submission_files": submission_files,
        "readable_files": frozenset(os.path.realpath(p) for p in submission_files if p.startswith("/")),
        "trusted_prefixes": trusted_prefixes + ("<frozen ",),
        "untrusted_prefixes": submission_prefixes + scratch_prefixes,
        "forbidden": forbidden,
        "forbidden_prefixes": tuple(name + "." for name in forbidden),
        "denied_set": denied_set, "denied_prefixes": denied_prefixes,
        "disarmed_modules": frozenset(DISARMED),
        "open_fds": frozenset(policy.get("open_fds", (0, 1, 2))),
        "native_modules": native_modules,
        "native_prefixes": tuple(name + "." for name in native_modules),
        "frame_handing": frozenset((os.path.join(directory, file), name) for directory in stdlib_dirs
                                   for file, names in FRAME_HANDING.items() for name in names),
        # events judged by the caller of a whole package or module, not by the package's frames
        "look_through": {"ctypes.dlopen": tuple(os.path.join(d, "ctypes") + "/" for d in stdlib_dirs),
                         "os.putenv": os_files, "os.unsetenv": os_files},
    }
