"""The worker's audit hook (gradcheck/sandbox/worker/guard.py), each case in a fresh ``python -I``.

A case writes a snippet into a submission folder, installs the guard with a scratch dir under
``tmp_path``, runs the snippet compiled under the submission's filename and reports what
happened as JSON on stdout; the attempts the guard reported come back through a pipe.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GUARD = Path(__file__).resolve().parents[2] / "gradcheck" / "sandbox" / "worker" / "guard.py"

RUNNER = r"""
import importlib.util, json, os, sys
guard_path, policy_path, snippet_path, alarm_fd = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(guard_path))  # its companions (guard_policy, ...), as in /worker
spec = importlib.util.spec_from_file_location("guard", guard_path)
guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)
policy = json.load(open(policy_path))
policy["readable"] = [p for p in sys.path if p and os.path.isdir(p)] + policy.get("readable", [])
source = open(snippet_path).read()
sys.path.insert(0, policy["submission_dirs"][0])
os.chdir(policy["scratch"])
guard.install(policy, int(alarm_fd))
namespace = {"__name__": "submission", "guard_module": guard}
outcome = {"error": None, "blocked": False, "import_refused": False}
try:
    exec(compile(source, snippet_path, "exec"), namespace)
except BaseException as exc:
    outcome["error"] = type(exc).__name__
    outcome["blocked"] = isinstance(exc, guard.TamperingBlocked)
    outcome["import_refused"] = isinstance(exc, guard.ForbiddenImport)
outcome["result"] = namespace.get("result")
outcome["attempts"] = guard.attempts()
sys.stdout.flush()
print("\n" + json.dumps(outcome))
"""


def run_guarded(tmp_path, snippet, helpers=None, forbidden=("torch", "sympy"), python=None,
                allow_ctypes=False, library_in_scratch=None):
    """Run ``snippet`` as submission code under the guard; (outcome, alarm lines).
    ``library_in_scratch``: {name: source} of a readable library folder ``scratch/lib``."""
    submission, scratch = tmp_path / "submission", tmp_path / "scratch"
    submission.mkdir()
    scratch.mkdir()
    for name, text in (helpers or {}).items():
        (submission / name).write_text(text)
    readable = []
    if library_in_scratch:
        (scratch / "lib").mkdir()
        readable.append(str(scratch / "lib"))
        for name, text in library_in_scratch.items():
            (scratch / "lib" / name).write_text(text)
    snippet_path = submission / "main.py"
    snippet_path.write_text(snippet)
    policy_path = tmp_path / "policy.json"
    policy_path.write_text(json.dumps({
        "scratch": str(scratch), "submission_dirs": [str(submission)],
        "submission_files": [str(snippet_path)], "forbidden_modules": list(forbidden),
        "allow_ctypes": allow_ctypes, "readable": readable}))
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.run(
            [python or sys.executable, "-I", "-c", RUNNER, str(GUARD), str(policy_path),
             str(snippet_path), str(write_end)],
            pass_fds=(write_end,), capture_output=True, text=True, timeout=60)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as alarms:
        lines = [json.loads(line) for line in alarms.read().decode("ascii").splitlines()]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), lines


ATTACKS = {
    "gc objects": ("import gc\ngc.get_objects()", "gc.get_objects"),
    "gc referrers": ("import gc, sys\ngc.get_referrers(sys)", "gc.get_referrers"),
    "gc save all": ("import gc\ngc.set_debug(gc.DEBUG_SAVEALL)", "guard.disarmed"),
    "current frames": ("import sys\nsys._current_frames()", "sys._current_frames"),
    "settrace": ("import sys\nsys.settrace(lambda *a: None)", "sys.settrace"),
    "setprofile": ("import sys\nsys.setprofile(lambda *a: None)", "sys.setprofile"),
    "getframe": ("import sys\nsys._getframe(0)", "sys._getframe"),
    "getframe in exec": ("exec('import sys; sys._getframe(0)')", "sys._getframe", "<string>"),
    "inspect.stack": ("import inspect\ninspect.stack()", "sys._getframe"),
    "traceback frame": ("try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
                        "object.__getattr__"),
    "walk_tb": ("import traceback\ntry:\n    1 / 0\nexcept Exception as e:\n"
                "    list(traceback.walk_tb(e.__traceback__))", "object.__getattr__"),
    "generator frame": ("def g():\n    yield 1\ng().gi_frame", "object.__getattr__"),
    "kill": ("import os\nos.kill(os.getppid(), 0)", "os.kill"),
    "subprocess": ("import subprocess\nsubprocess.run(['true'])", "subprocess.Popen"),
    "fork_exec": ("import subprocess, _posixsubprocess\n_posixsubprocess.fork_exec()",
                  "guard.disarmed"),
    "system": ("import os\nos.system('true')", "os.system"),
    "socket": ("import socket\nsocket.socket()", "socket.__new__"),
    "environ": ("open('/proc/self/environ').read()", "open"),
    "fd through /dev": ("open('/dev/fd/0').read()", "open"),
    "write outside": ("open('/tmp/gradcheck-guard-test-must-not-exist', 'w')", "open"),
    "read outside": ("open('/etc/passwd').read()", "open"),
    "os.open outside": ("import os\nos.open('../outside', os.O_WRONLY | os.O_CREAT)", "open"),
    "inherited fd": ("import os\nos.fdopen(9, 'w')", "open"),
    "symlink": ("import os\nos.symlink('/etc/passwd', 'link')", "os.symlink"),
    "spoofed filename": ("import inspect\ncompile('x = 1', inspect.__file__, 'exec')", "compile"),
    "library code replaced": ("import traceback\ntraceback.walk_tb.__code__ = (lambda tb: 1).__code__",
                              "object.__setattr__"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_blocked_and_reported(tmp_path, name):
    snippet, event, *where = ATTACKS[name]
    outcome, alarms = run_guarded(tmp_path, snippet)
    assert outcome["blocked"], outcome
    assert [a["event"] for a in alarms] == [event]
    # the innermost untrusted frame: the submission's line, or the string it exec'd
    assert alarms[0]["where"][0] == (where[0] if where else str(tmp_path / "submission" / "main.py"))
    assert outcome["attempts"] == alarms  # the worker's copy says the same
    assert not Path("/tmp/gradcheck-guard-test-must-not-exist").exists()


def test_forbidden_import_degrades_like_a_missing_module(tmp_path):
    snippet = "try:\n    import sympy\n    result = 'imported'\nexcept ImportError:\n" \
              "    result = 'fallback'\nimport torch.nn\n"
    outcome, alarms = run_guarded(tmp_path, snippet)
    assert outcome["result"] == "fallback" and outcome["import_refused"]
    assert [(a["event"], a["where"][1]) for a in alarms] == [("import", 2), ("import", 6)]


def test_ctypes_cannot_be_imported_by_the_submission(tmp_path):
    # a call through ctypes.memmove raises no audit event, so ctypes is refused as a module
    outcome, alarms = run_guarded(tmp_path, "import ctypes\nctypes.memset(id(object()), 0, 1)")
    assert outcome["import_refused"]
    assert [a["event"] for a in alarms] == ["import"]


def test_ctypes_events_are_blocked_when_ctypes_is_allowed(tmp_path):
    snippet = """
import ctypes
blocked = []
for attack in (lambda: ctypes.CDLL(None), lambda: ctypes.string_at(id(1), 8),
               lambda: ctypes.c_int.from_address(id(1)), lambda: ctypes.pythonapi.Py_IncRef):
    try:
        attack()
    except PermissionError:
        blocked.append(True)
result = len(blocked)
"""
    outcome, alarms = run_guarded(tmp_path, snippet, allow_ctypes=True)
    assert outcome["result"] == 4
    assert [a["event"] for a in alarms] == [
        "ctypes.dlopen", "ctypes.string_at", "ctypes.cdata", "ctypes.dlsym"]


def test_forbidden_import_in_a_helper_module_is_refused(tmp_path):
    helpers = {"helper.py": "def grad():\n    import torch\n    return torch\n"}
    outcome, alarms = run_guarded(tmp_path, "import helper\nhelper.grad()", helpers=helpers)
    assert outcome["import_refused"]
    assert alarms[0]["event"] == "import"
    assert alarms[0]["where"] == [str(tmp_path / "submission" / "helper.py"), 2]


LEGITIMATE = """
import collections, dataclasses, enum, functools, io, json, math, random, sys, traceback, typing
import warnings
import numpy as np

@dataclasses.dataclass
class Pair:
    a: float
    b: float = 0.0

Point = collections.namedtuple("Point", "x y")
class Named(typing.NamedTuple):
    value: float
Colour = enum.Enum("Colour", "red green")

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

try:
    1 / 0
except ZeroDivisionError:
    buffer = io.StringIO()
    traceback.print_exc(file=buffer)
    traceback.print_exc()
warnings.warn("a warning is fine")
print("printing is fine")
with open("notes.txt", "w") as f:
    f.write(json.dumps({"x": 1}))
with open("notes.txt") as f:
    notes = json.load(f)
with open("/dev/null", "w") as f:
    f.write("quiet")
result = [Pair(1.0).a, Point(1, 2).y, Named(3.0).value, Colour.red.value, depth(200),
          functools.reduce(lambda a, b: a + b, [1, 2, 3]), math.tanh(0.0), notes["x"],
          float(np.tanh(np.float64(0.5)) > 0), random.Random(0).random() < 1,
          "ZeroDivisionError" in buffer.getvalue()]
"""


def test_legitimate_code_runs_unreported(tmp_path):
    outcome, alarms = run_guarded(tmp_path, LEGITIMATE)
    assert outcome["error"] is None and alarms == []
    assert outcome["result"] == [1.0, 2, 3.0, 1, 200, 6, 0.0, 1, 1.0, True, True]


def test_the_hook_survives_removal_tricks(tmp_path):
    snippet = """
import gc, os, sys
spy_calls = []
sys.addaudithook(lambda event, args: spy_calls.append(event))  # not added: it would see
g = guard_module                                                  # the worker's frames
g.WATCHED = frozenset(); g.ALWAYS_BLOCKED = frozenset(); g.READ_EVENTS.clear()
os.path.realpath = lambda path: '/tmp'
os.lstat = lambda path: None
saved = sys.modules.pop('gc')
try:
    import gc  # a fresh copy would bring back the original gc.set_debug
except PermissionError:
    sys.modules['gc'] = saved
results = []
for attack in (gc.get_objects, lambda: open('/etc/passwd'), lambda: sys._getframe(0)):
    try:
        attack()
        results.append('allowed')
    except PermissionError:
        results.append('blocked')
result = [results, spy_calls]
"""
    outcome, alarms = run_guarded(tmp_path, snippet)
    assert outcome["result"] == [["blocked"] * 3, []]
    assert [a["event"] for a in alarms] == [
        "sys.addaudithook", "import", "gc.get_objects", "open", "sys._getframe"]


def test_reports_are_capped(tmp_path):
    snippet = "import gc\nfor _ in range(80):\n    try:\n        gc.get_objects()\n" \
              "    except PermissionError:\n        pass\n"
    outcome, alarms = run_guarded(tmp_path, snippet)
    assert outcome["error"] is None
    assert len(alarms) == 51 and alarms[-1]["event"] == "more"
    assert {a["event"] for a in alarms[:-1]} == {"gc.get_objects"}


def _interpreter(version):
    """A working ``pythonX.Y``: on PATH, or installed beside this one (pyenv's layout, whose
    shims on PATH fail for inactive versions); else None."""
    candidates = [shutil.which(f"python{version}")] + sorted(
        str(p) for p in Path(sys.base_prefix).parent.glob(f"{version}.*/bin/python{version}"))
    for found in filter(None, candidates):
        probe = subprocess.run([found, "-c", "pass"], capture_output=True)
        if probe.returncode == 0:
            return found
    return None


@pytest.mark.parametrize("version", ["3.8", "3.11", "3.13"])
def test_works_under_other_interpreters(tmp_path, version):
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no working python{version} here")
    snippet = "import sys, collections\nPoint = collections.namedtuple('P', 'x')\n" \
              "result = [Point(1).x]\nsys._getframe(0)\n"
    outcome, alarms = run_guarded(tmp_path, snippet, python=python)
    assert outcome["result"] == [1] and outcome["blocked"]
    assert [a["event"] for a in alarms] == ["sys._getframe"]


def test_a_library_below_the_scratch_stays_trusted(tmp_path):
    """A virtualenv may live below /tmp, which is also the scratch: its code is library code
    (frames allowed), while a file written straight into the scratch is not."""
    frames = "import sys\ndef f():\n    return sys._getframe(0).f_code.co_name\n"
    outcome, lines = run_guarded(
        tmp_path, "import sys, os\nsys.path.insert(0, os.path.join(os.getcwd(), 'lib'))\n"
                  "import venvmod\nresult = venvmod.f()\n",
        library_in_scratch={"venvmod.py": frames})
    assert (outcome["error"], outcome["result"], lines) == (None, "f", [])
    (tmp_path / "again").mkdir()
    outcome, lines = run_guarded(
        tmp_path / "again", "import sys, os\nopen('dropped.py', 'w').write(" + repr(frames) + ")\n"
                            "sys.path.insert(0, os.getcwd())\nimport dropped\nresult = dropped.f()\n")
    assert outcome["blocked"] and [line["event"] for line in lines] == ["sys._getframe"]


@pytest.mark.parametrize("snippet", [
    "import os\nos.makedirs('ck', exist_ok=True)\nopen('a.txt', 'w').write('x')\n"
    "os.replace('a.txt', 'b.txt')\nos.remove('b.txt')\nresult = sorted(os.listdir('.'))\n",
    "import os\nos.environ['PYTHONHASHSEED'] = '0'\nos.environ.setdefault('OMP_NUM_THREADS', '1')\n"
    "result = os.environ['OMP_NUM_THREADS']\n",
])
def test_what_learners_write_at_top_level_is_not_tampering(tmp_path, snippet):
    """Relative paths in the scratch (CPython passes dir_fd=-1) and environment settings (the
    worker's environment is scrubbed, and it starts no process): ordinary code, never reported."""
    outcome, lines = run_guarded(tmp_path, snippet)
    assert (outcome["error"], lines) == (None, [])


def test_code_from_marshal_cannot_pose_as_library_code(tmp_path):
    snippet = ("import marshal\ndata = marshal.dumps(compile('x = 1', 'mine.py', 'exec'))\n"
               "marshal.loads(data)\n")
    outcome, lines = run_guarded(tmp_path, snippet)
    assert outcome["blocked"] and [line["event"] for line in lines][-1] == "marshal.loads"
