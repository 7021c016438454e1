"""The worker's audit hook (PEP 578): blocks what no Value class needs, and reports each attempt.

The worker imports this module and calls :func:`install` before loading a submission. The hook
stays for the life of the process (Python offers no way to remove one) and runs on every audited
event, so it decides from the event name first and does real work only for the few it watches.

What a blocked attempt looks like:

* the caller gets :class:`TamperingBlocked` (a ``PermissionError``), or :class:`ForbiddenImport`
  (a ``ModuleNotFoundError``, so ``try: import torch / except ImportError`` degrades quietly);
* one JSON line goes to the alarm file descriptor, ``{"event", "detail", "where"}`` where
  ``where`` is ``[filename, line]`` of the innermost untrusted frame (or null), for the first
  ``MAX_REPORTS`` attempts, then a single ``{"event": "more", ...}`` line;
* :func:`attempts` returns the same records, for the worker's replies.

"Untrusted" code is any code whose file is not under a trusted directory (the readable runtime
directories of the policy, this module's own directory, the standard library): the submission's
files and cells, but also ``exec``'d strings and generated code. Library code (``typing``,
``dataclasses``, ``collections``, ``traceback``...) may keep using frames; a few standard
functions whose job is to hand frames to their caller (``inspect.stack``,
``traceback.walk_tb``...) are judged by who called them.

The hook relies only on built-in functions captured when it is installed, and keeps its state in
its closure: replacing ``os.path.realpath`` or ``json.dumps`` afterwards does not change it.

Standard library only, Python 3.8 syntax: this file runs under any ``--python`` interpreter.
"""

from __future__ import annotations

import _thread
import functools
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
    ``ctypes.memmove`` raise no audit event; numpy works without it, sympy does not).
    ``alarm_fd``: where each attempt is written as one JSON line, or None.
    """
    if _installed:
        raise RuntimeError("guard.install() was called twice")
    hook = _make_hook(policy, alarm_fd, _recorded)
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


def _dirs(paths):
    """Directory names as written and resolved, and the same with a trailing slash."""
    names = set()
    for path in paths:
        if isinstance(path, str) and path:
            names.add(os.path.normpath(os.path.abspath(path)))
            names.add(os.path.realpath(path))
    return frozenset(names), tuple(name.rstrip("/") + "/" for name in names)


def _make_hook(policy, alarm_fd, recorded):
    # ---- everything the hook uses is captured now, in its closure: rebinding this module's
    # globals or monkeypatching os, os.path or json later changes nothing here
    watched, always_blocked, from_untrusted = WATCHED, ALWAYS_BLOCKED, FROM_UNTRUSTED
    frame_attributes, function_internals = FRAME_ATTRIBUTES, FUNCTION_INTERNALS
    code_events, read_events, write_events = CODE_EVENTS, dict(READ_EVENTS), dict(WRITE_EVENTS)
    devices_read_write, devices_read_only = DEVICES_READ_WRITE, DEVICES_READ_ONLY
    write_flags, max_reports, detail_limit = WRITE_FLAGS, MAX_REPORTS, DETAIL_LIMIT
    blocked_error, import_error = TamperingBlocked, ForbiddenImport
    getframe = sys._getframe
    get_ident = _thread.get_ident
    lstat, readlink, getcwd, write = os.lstat, os.readlink, os.getcwd, os.write
    fs_encoding = sys.getfilesystemencoding()
    type_name = type.__dict__["__name__"].__get__  # not a metaclass's __name__ property
    type_module = type.__dict__["__module__"].__get__

    def module_of_type(cls):
        """A class's module name, None when it has none (a C extension's class being built:
        the hook must never raise where the event is not refused)."""
        try:
            return type_module(cls)
        except BaseException:
            return None

    is_type = type.__instancecheck__.__get__(type)  # isinstance(x, type), whatever x claims
    submission_modules = frozenset(policy.get("submission_modules", ("submission", "__main__")))
    function_type, code_type = type(_make_hook), type(_make_hook.__code__)
    str_type, bytes_type, int_type = str, bytes, int

    stdlib = os.path.dirname(os.__file__)
    scratch_set, scratch_prefixes = _dirs([policy.get("scratch") or "/nonexistent-scratch"])
    submission_set, submission_prefixes = _dirs(policy.get("submission_dirs", []))
    own_dir = os.path.dirname(os.path.abspath(__file__))
    trusted_dirs = list(policy.get("readable", [])) + list(policy.get("trusted_code", [])) + [
        stdlib, own_dir]
    readable_set, readable_prefixes = _dirs(trusted_dirs + list(policy.get("submission_dirs", [])))
    writable_files = frozenset(os.path.realpath(p) for p in policy.get("writable", []))
    submission_files = frozenset(policy.get("submission_files", []))
    readable_files = frozenset(os.path.realpath(p) for p in submission_files if p.startswith("/"))
    _, trusted_prefixes = _dirs(trusted_dirs)
    trusted_prefixes = trusted_prefixes + ("<frozen ",)
    untrusted_prefixes = submission_prefixes + scratch_prefixes
    forbidden = frozenset(policy.get("forbidden_modules", []))
    forbidden_prefixes = tuple(name + "." for name in forbidden)
    disarmed_modules = frozenset(DISARMED)
    open_fds = frozenset(policy.get("open_fds", (0, 1, 2)))
    native_modules = frozenset() if policy.get("allow_ctypes") else frozenset({"ctypes", "_ctypes"})
    native_prefixes = tuple(name + "." for name in native_modules)
    stdlib_dirs = {stdlib, os.path.realpath(stdlib)}
    frame_handing = frozenset((os.path.join(directory, file), name) for directory in stdlib_dirs
                              for file, names in FRAME_HANDING.items() for name in names)
    os_files = ("<frozen os>",) + tuple(os.path.join(d, "os.py") for d in stdlib_dirs)
    look_through = {"ctypes.dlopen": tuple(os.path.join(d, "ctypes") + "/" for d in stdlib_dirs),
                    "os.putenv": os_files, "os.unsetenv": os_files}
    no_prefixes = ()
    pending = set()  # threads whose next sys._getframe is the hook's own

    # ---- frames
    def triggering_frame():
        """The frame of the code that raised the event (skipping this helper and the hook)."""
        ident = get_ident()
        pending.add(ident)
        try:
            return getframe(2)
        finally:
            pending.discard(ident)

    def longest(filename, prefixes):
        best = 0
        for prefix in prefixes:
            if len(prefix) > best and filename.startswith(prefix):
                best = len(prefix)
        return best

    def trusted(filename):
        """Library code: under a trusted folder, and under no untrusted one nested deeper (a
        virtualenv may live below /tmp, which is also the scratch: its files stay trusted, a
        file the submission writes to /tmp does not)."""
        if type(filename) is not str_type or filename in submission_files:
            return False
        return longest(filename, trusted_prefixes) > longest(filename, untrusted_prefixes)

    def requester(frame, through):
        """The frame on whose behalf the event happens: frame-handing helpers (and, for some
        events, a whole package such as ctypes) are looked through to their caller."""
        for _ in range(64):
            if frame is None:
                return None
            code = frame.f_code
            filename = code.co_filename
            if type(filename) is str_type and ((filename, code.co_name) in frame_handing
                                               or filename.startswith(through)):
                frame = frame.f_back
                continue
            return frame
        return frame

    def untrusted(frame):
        return frame is not None and not trusted(frame.f_code.co_filename)

    def where(frame):
        for _ in range(64):
            if frame is None:
                return None
            if untrusted(frame):
                line = frame.f_lineno
                return [text_of(frame.f_code.co_filename), line if type(line) is int_type else 0]
            frame = frame.f_back
        return None

    # ---- paths
    def as_text(path):
        kind = type(path)
        if kind is str_type:
            return path
        if kind is bytes_type:
            return path.decode(fs_encoding, "surrogateescape")
        return None

    def resolve(path, dir_fd, follow):
        """The absolute path, with every symbolic link followed when ``follow`` (like
        os.path.realpath, but built only on captured built-ins). A missing component is kept as
        written. None if unresolvable."""
        if not path.startswith("/"):
            if dir_fd is None or (type(dir_fd) is int_type and dir_fd < 0):  # -1: no dir_fd
                base = getcwd()
            elif type(dir_fd) is int_type:
                try:
                    base = readlink("/proc/self/fd/%d" % dir_fd)
                except OSError:
                    return None
            else:
                return None
            path = base + "/" + path
        todo = path.split("/")[::-1]
        parts = []
        hops = 0
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(name)
            if not follow:
                continue
            here = "/" + "/".join(parts)
            try:
                mode = lstat(here).st_mode
            except (OSError, ValueError):
                continue
            if mode & 0o170000 == 0o120000:  # a symbolic link
                hops += 1
                if hops > 40:
                    return None
                try:
                    target = readlink(here)
                except (OSError, ValueError):
                    return None
                parts.pop()
                if target.startswith("/"):
                    parts = []
                todo.extend(target.split("/")[::-1])
        return "/" + "/".join(parts)

    def inside(path, dir_set, prefixes):
        return path in dir_set or path.startswith(prefixes)

    def path_problem(raw, dir_fd, writing):
        """None when the access is allowed, else a short reason."""
        path = as_text(raw)
        if path is None:
            return "unusual path object"
        real = resolve(path, dir_fd, True)
        if real is None:
            return "path cannot be resolved"
        for name in (resolve(path, dir_fd, False), real):  # as written, and where it leads
            if name is None:
                continue
            if name.startswith("/proc/"):
                first = name[6:].split("/", 1)[0]
                if first.isdigit() or first in ("self", "thread-self"):
                    return PROCESS_INFORMATION
            if name == "/dev" or name.startswith("/dev/"):
                if not (name in devices_read_write
                        or (not writing and name in devices_read_only)):
                    return "device file"
        if real in devices_read_write or (not writing and real in devices_read_only):
            return None
        if inside(real, scratch_set, scratch_prefixes) or real in writable_files:
            return None
        if writing:
            return "write outside the scratch directory"
        if inside(real, readable_set, readable_prefixes) or real in readable_files:
            return None
        return "read outside the readable directories"

    def open_problem(args):
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if type(path) is int_type or type(path) is bool:
            return None if path in open_fds else "open of an inherited file descriptor"
        writing = (type(flags) is int_type and flags & write_flags) or (
            type(mode) is str_type and any(c in mode for c in "wax+"))
        return path_problem(path, None, writing)

    def listed_paths_problem(args, positions, writing):
        for path_at, dir_fd_at in positions:
            if path_at >= len(args):
                continue
            path = args[path_at]
            if path is None and not writing:
                path = "."
            if type(path) is int_type:  # an already open descriptor: checked when opened
                continue
            dir_fd = args[dir_fd_at] if dir_fd_at is not None and dir_fd_at < len(args) else None
            problem = path_problem(path, dir_fd, writing)
            if problem:
                return problem
        return None

    # ---- reporting
    def text_of(value):
        """A short, safe description of an event argument: never runs the object's code."""
        kind = type(value)
        if kind is str_type:
            text = value
        elif kind is bytes_type:
            text = value[:detail_limit].decode("utf-8", "replace")
        elif kind in (int_type, float, bool) or value is None:
            try:
                text = repr(value)
            except ValueError:  # an int too long to print
                text = "<big number>"
        elif kind in (tuple, list):
            text = "(" + ", ".join(text_of(v) for v in value[:4]) + ")"
        else:
            text = "<" + type_name(kind) + ">"
        return text[:detail_limit]

    def json_text(text):
        out = ['"']
        for char in text:
            code = ord(char)
            if char in '"\\':
                out.append("\\" + char)
            elif 0x20 <= code < 0x7F:
                out.append(char)
            elif 0xD800 <= code < 0xE000:  # a lone surrogate: not valid text anywhere
                out.append("?")
            elif code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        out.append('"')
        return "".join(out)

    counts = [0]

    def report(event, detail, frame, kind="tampering"):
        """``kind`` is what the trusted side makes of it: "tampering", or "forbidden-import"
        (a library the policy forbids; a notebook's torch sanity cell is not tampering)."""
        try:
            counts[0] += 1
            if counts[0] > max_reports + 1:
                return
            if counts[0] == max_reports + 1:
                record = {"event": "more", "detail": "further attempts were not reported",
                          "where": None, "kind": kind}
            else:
                record = {"event": event, "detail": detail[:detail_limit], "where": where(frame),
                          "kind": kind}
            recorded.append(record)
            if alarm_fd is None:
                return
            spot = record["where"]
            line = '{"event": %s, "detail": %s, "where": %s, "kind": %s}\n' % (
                json_text(record["event"]), json_text(record["detail"]),
                "null" if spot is None else "[%s, %d]" % (json_text(spot[0]), spot[1]),
                json_text(kind))
            write(alarm_fd, line.encode("ascii"))
        except BaseException:  # reporting must never be what fails
            pass

    def block(event, args, frame, reason):
        detail = text_of(args[0]) if args else ""
        report(event, reason + ": " + detail if reason else detail, frame)
        raise blocked_error(1, "gradcheck blocked %s (%s)" % (event, reason or "not allowed"))

    # ---- the hook
    def hook(event, args):
        if event not in watched:
            return
        if event == "sys._getframe" and get_ident() in pending:
            return  # the hook looking at its own caller
        if event == "object.__getattr__":
            if len(args) < 2 or type(args[1]) is not str_type or args[1] not in frame_attributes:
                return
            frame = triggering_frame()
            if untrusted(requester(frame, no_prefixes)):
                block(event, (args[1],), frame, "frame access")
            return
        if event == "open":
            problem = open_problem(args)
            if problem:
                frame = triggering_frame()
                # libraries read their own process's maps and status (torch does at import);
                # the sandbox's environment is scrubbed, so only submission code is refused
                if problem is PROCESS_INFORMATION and not untrusted(frame):
                    return
                block(event, args, frame, problem)
            return
        if event == "import":
            name = args[0] if args else None
            if type(name) is not str_type:
                return
            if name in forbidden or name.startswith(forbidden_prefixes):
                report(event, text_of(name), triggering_frame(), "forbidden-import")
                raise import_error("gradcheck forbids importing %s" % text_of(name), name=name)
            if name in disarmed_modules:
                block(event, args, triggering_frame(), "re-import of a disarmed module")
            if name in native_modules or name.startswith(native_prefixes):
                # numpy imports ctypes inside try/except and works without it: only untrusted
                # code asking for it is worth a report
                frame = triggering_frame()
                if untrusted(frame):
                    report(event, "native code: " + name, frame)
                raise import_error("gradcheck's sandbox has no %s" % name, name=name)
            return
        if event in always_blocked:
            block(event, args, triggering_frame(), "")
        if event in from_untrusted:
            frame = triggering_frame()
            if untrusted(requester(frame, look_through.get(event, no_prefixes))):
                block(event, args, frame, "from untrusted code")
            return
        if event in read_events or event in write_events:
            writing = event in write_events
            positions = write_events[event] if writing else read_events[event]
            problem = listed_paths_problem(args, positions, writing)
            if problem:
                block(event, args, triggering_frame(), problem)
            return
        if event in code_events:
            # untrusted code making code that claims a trusted file (to pass for library code)
            if event in ("function.__new__", "exec"):
                filename = args[0].co_filename if args and type(args[0]) is code_type else None
            else:
                filename = args[1] if len(args) > 1 else None
            if trusted(as_text(filename)):
                frame = triggering_frame()
                if untrusted(frame):
                    block(event, (filename,), frame, "code posing as library code")
            return
        if event in ("object.__setattr__", "object.__delattr__"):
            # replacing the code of a library (or worker) function
            if (len(args) > 1 and type(args[1]) is str_type and args[1] in function_internals
                    and type(args[0]) is function_type
                    and trusted(args[0].__code__.co_filename)):
                frame = triggering_frame()
                if untrusted(frame):
                    block(event, (args[1],), frame, "library function changed")
            # changing a class that is not the submission's own (the worker's, json's, numpy's):
            # ``Value.__radd__ = f`` is fine, ``Worker.run = f`` found by __subclasses__ is not
            elif args and is_type(args[0]):
                frame = triggering_frame()
                if untrusted(frame) and module_of_type(args[0]) not in submission_modules:
                    block(event, (args[1] if len(args) > 1 else "?",), frame, "class not its own changed")
            return

    return hook
