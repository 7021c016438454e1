"""The worker's sandbox as a submission sees it: bubblewrap's isolation, a uid per worker, the
whole-subject budget, the protocol's refusal of forged frames, cheap printing, and leftovers of
a gradcheck that was killed."""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from gradcheck.loader import Submission, Unit
from gradcheck.runner import Options, check_path
from gradcheck.sandbox import bubblewrap, isolation
from gradcheck.sandbox.client import WorkerClient
from gradcheck.sandbox.limits import Limits

from conftest import REFERENCE

REQUIRED = os.environ.get("GRADCHECK_REQUIRE_BUBBLEWRAP", "").lower() not in ("", "0", "false")
AVAILABLE = bubblewrap.availability(sys.executable)
needs_bwrap = pytest.mark.skipif(not AVAILABLE.usable and not REQUIRED,
                                 reason=f"bubblewrap unavailable: {AVAILABLE.reason}")
CORRECT = (REFERENCE / "correct_full.py").read_text()
FAST = Options(limits=Limits(request_timeout=10, subject_seconds=40))


def test_bubblewrap_is_usable_where_required():
    """On CI (.ci/run installs bubblewrap) the sandbox must be bubblewrap, never the fallback."""
    if not REQUIRED:
        pytest.skip("GRADCHECK_REQUIRE_BUBBLEWRAP is not set")
    assert AVAILABLE.usable, AVAILABLE.reason


def observe(tmp_path: Path, snippet: str) -> dict:
    """Run ``snippet`` at the top of a correct submission inside a batch-like folder (a
    classmate beside it) and return what it printed as JSON (the submission's own view)."""
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "classmate.py").write_text("SECRET_MARKER = 'classmate-4711'\n" + CORRECT)
    (batch / "student.py").write_text(
        "import json, os, sys\nseen = {}\n" + snippet + "\nprint('SEEN' + json.dumps(seen))\n" + CORRECT)
    result = check_path(str(batch / "student.py"), FAST)
    line = next(ln for ln in result.output.splitlines() if ln.startswith("SEEN"))
    return {"seen": json.loads(line[4:]), "result": result}


@needs_bwrap
def test_the_worker_sees_only_its_own_files(tmp_path):
    batch = str(tmp_path / "batch")
    got = observe(tmp_path, "\n".join([
        f"seen['batch'] = os.path.exists({batch!r})",
        f"seen['classmate'] = os.path.exists({batch + '/classmate.py'!r})",
        f"seen['reference_impls'] = os.path.exists({str(REFERENCE)!r})",
        "seen['root_home'] = os.path.isdir('/root/.ssh') or os.path.exists('/root/.bash_history')",
        "seen['own_copy'] = sorted(os.listdir('/submission'))",
        "seen['uid'] = os.getuid()",
        "seen['pid'] = os.getpid()",
        "seen['sys_path_has_batch'] = any(p.startswith(" + repr(batch) + ") for p in sys.path)",
        "try:\n    import classmate\n    seen['import_classmate'] = True\n"
        "except ImportError:\n    seen['import_classmate'] = False",
    ]))
    seen, result = got["seen"], got["result"]
    assert result.isolation == "bubblewrap"
    assert result.verdict == "pass", [(f.code, f.op, f.message) for f in result.findings]
    assert seen["batch"] is False and seen["classmate"] is False
    assert seen["reference_impls"] is False and seen["root_home"] is False
    assert seen["own_copy"] == ["student.py"]
    assert seen["import_classmate"] is False and seen["sys_path_has_batch"] is False
    assert seen["uid"] not in (0, 65534)
    assert seen["pid"] < 10  # its own pid namespace: only bwrap's init and itself below it


@needs_bwrap
def test_each_worker_has_a_uid_of_its_own():
    unit = Unit(label="probe.py", filename="/submission/probe.py", code="import os\nprint('UID', os.getuid())\n")
    sub = Submission(path=Path("probe.py"), kind="file", units=[unit], files={"probe.py": unit.code.encode()})
    uids = []
    clients = [WorkerClient(limits=Limits()), WorkerClient(limits=Limits())]
    try:
        for client in clients:  # both alive at once, as under grade -j 2
            client.start()
            client.request("load", units=sub.wire_units(), sys_path=[], statement_timeout=5, load_budget=5)
    finally:
        for client in clients:
            client.close()
            uids.append(client.captured_output().split()[1])
    assert uids[0] != uids[1]


def variant(tmp_path: Path, name: str, method: str, prologue: str) -> Path:
    """The correct reference with ``prologue`` inserted at the top of ``method``'s body."""
    head = f"    def {method}:\n"
    source = CORRECT.replace(head, head + prologue, 1)
    assert source != CORRECT, method
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_whole_subject_budget_bounds_a_slow_submission(tmp_path):
    """Each op sleeps just under the per-request limit's reach; the subject still ends within its
    whole budget, with a timeout finding that names the checks that did not run."""
    path = variant(tmp_path, "slow", "__mul__(self, other)", "        import time; time.sleep(0.3)\n")
    result = check_path(str(path), Options(limits=Limits(request_timeout=10, subject_seconds=8)))
    timeouts = [f for f in result.findings if f.code == "timeout" and f.op is None]
    assert timeouts, [(f.code, f.op) for f in result.findings]
    assert timeouts[0].evidence.get("checks_not_run"), timeouts[0].evidence
    assert result.verdict == "fail"


def test_a_forged_reply_frame_is_tampering(tmp_path):
    """Code that writes its own frame to the reply channel is caught by the request's seq."""
    path = variant(tmp_path, "forging", "__mul__(self, other)",
                   "        import os, sys, json, struct\n"
                   "        body = json.dumps({'seq': 'guess', 'kind': 'reply', 'body': {'results': []}}).encode()\n"
                   "        os.write(int(sys.argv[2]), struct.pack('>I', len(body)) + body)\n")
    result = check_path(str(path), FAST)
    assert "tampering" in {f.code for f in result.findings}, [(f.code, f.op) for f in result.findings]
    assert result.verdict == "fail"


def test_printing_beyond_the_kept_output_is_cheap(tmp_path):
    """200,000 lines per backward(): the subject is judged (it is correct) within its budget and
    the kept output says it was cut."""
    path = variant(tmp_path, "chatty", "backward(self)",
                   "        for i in range(200_000):\n            print('line', i)\n")
    result = check_path(str(path), Options(limits=Limits(request_timeout=10, subject_seconds=60)))
    assert result.verdict == "pass", [(f.code, f.op, f.message) for f in result.findings]
    assert "output truncated" in result.output


def test_file_names_the_worker_reports_are_never_opened():
    unit = Unit(label="engine.py", filename="/submission/engine.py", code="x = 1\ny = 2\n")
    sub = Submission(path=Path("engine.py"), kind="file", units=[unit], files={"engine.py": b"x = 1\ny = 2\n"})
    for name in ("/proc/self/environ", "/dev/zero", "/etc/passwd", "/submission/../proc/self/environ"):
        assert sub.locate(name, 1) is None
        assert sub.source_of(name) is None
    assert sub.locate("/submission/engine.py", 2).text == "y = 2"


def test_leftovers_of_a_killed_gradcheck_are_removed():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = Path(tempfile.gettempdir()) / f"{isolation.SANDBOX_PREFIX}{dead_pid}-left"
    live = Path(tempfile.gettempdir()) / f"{isolation.SANDBOX_PREFIX}{os.getpid()}-mine"
    for folder in (stale, live):
        (folder / "work").mkdir(parents=True, exist_ok=True)
    try:
        isolation.remove_stale()
        assert not stale.exists()
        assert live.exists()
    finally:
        for folder in (stale, live):
            subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_a_cgroup_whose_processes_are_slow_to_die_is_still_removed():
    """A killed process with much memory stays in its cgroup while the kernel frees it; CI
    once kept such a cgroup because removal gave up after a few yields."""
    cgroup = isolation.create_cgroup(16)
    if cgroup is None:
        pytest.skip("no pids cgroup to create here (not root, or no cgroup v1 pids hierarchy)")
    join = lambda: Path(cgroup, "cgroup.procs").write_text(str(os.getpid()))  # noqa: E731
    # Pages touched, so that tearing the process down takes the kernel real time.
    hog = subprocess.Popen([sys.executable, "-c", "import sys, time; b = bytearray(1 << 30); "
                            "b[::4096] = b'x' * (len(b) // 4096); print(flush=True); time.sleep(60)"],
                           stdout=subprocess.PIPE, preexec_fn=join, start_new_session=True)
    try:
        hog.stdout.readline()  # the memory is in use
        isolation.kill_cgroup(cgroup)
        assert not os.path.isdir(cgroup)
    finally:
        hog.kill()
        hog.wait()
        if os.path.isdir(cgroup):
            isolation.kill_cgroup(cgroup)


def test_a_runtime_below_tmp_is_bound_over_the_scratch(monkeypatch):
    """The scratch tmpfs is mounted on /tmp first, so an interpreter living below /tmp (a tox
    or virtualenv environment) is bound on top of it rather than hidden by it."""
    monkeypatch.setattr(bubblewrap, "runtime_paths", lambda python: ("/tmp/ci/.tox/py311",))
    mounts = bubblewrap.Mounts(runtime="/r", submission="/s", scratch_bytes=1 << 20, network=False)
    args = bubblewrap.command("/tmp/ci/.tox/py311/bin/python", ["-c", "pass"], mounts, {}, 200_000)
    pairs = list(zip(args, args[1:], strict=False))
    scratch = pairs.index(("--tmpfs", bubblewrap.SCRATCH_DIR))
    runtime = pairs.index(("--ro-bind", "/tmp/ci/.tox/py311"))
    assert scratch < runtime


def test_a_forbidden_library_imported_around_the_guard_is_still_found(tmp_path):
    """importlib.import_module raises no audit event: a subclass of micrograd's Value loaded
    that way is caught by the module being there after loading."""
    path = tmp_path / "around.py"
    path.write_text("import importlib\nengine = importlib.import_module('micrograd.engine')\n\n\n"
                    "class Value(engine.Value):\n    pass\n")
    result = check_path(str(path), FAST)
    assert {(f.code, f.op) for f in result.findings if f.severity == "error"} == {("forbidden-import", None)}


def test_closing_the_alarm_channel_is_tampering(tmp_path):
    """The guard reports on a channel of its own; a submission that closes it to go unseen is
    seen doing that."""
    path = variant(tmp_path, "silencer", "__mul__(self, other)",
                   "        import os, sys\n        try:\n            os.close(int(sys.argv[3]))\n"
                   "        except OSError:\n            pass\n")
    result = check_path(str(path), FAST)
    assert ("tampering", None) in {(f.code, f.op) for f in result.findings if f.severity == "error"}


def test_a_file_named_to_check_brings_its_helpers_and_a_batch_file_does_not(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "helpers.py").write_text("GREETING = 'helper-module-loaded'\n")
    (folder / "engine.py").write_text("from helpers import GREETING\nprint(GREETING)\n" + CORRECT)
    named = check_path(str(folder / "engine.py"), replace(FAST, helpers_beside=True))
    batch = check_path(str(folder / "engine.py"), FAST)
    assert named.verdict == batch.verdict == "pass"
    assert "helper-module-loaded" in named.output
    assert "helper-module-loaded" not in batch.output


def test_numerical_libraries_start_one_thread_and_stay_within_the_default_memory(tmp_path):
    """numpy's BLAS and OpenMP pools reserve address space per core when imported: the worker
    asks them for one thread, so the default memory limit holds on a machine of any size."""
    got = observe(tmp_path, "\n".join([
        "seen['threads'] = {k: os.environ.get(k) for k in "
        "('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')}",
        "import numpy",
        "seen['sum'] = float(numpy.arange(4.0).sum())",
    ]))
    assert got["seen"] == {"threads": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                       "MKL_NUM_THREADS": "1"}, "sum": 6.0}
    assert got["result"].verdict == "pass"
