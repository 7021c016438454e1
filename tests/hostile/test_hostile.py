"""Untrusted submissions: each hostile case must end within its limits, get exactly its
findings, leave gradcheck's own output intact, and change nothing outside its sandbox."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gradcheck.sandbox.isolation import SANDBOX_PREFIX

from subjects.hostile import CASES

# Tight limits keep the corpus fast; the defaults are minutes, not seconds.
# (--no-fixes: a verified fix is one more check of the same code in the same sandbox; these
# cases are about that sandbox, and the second check would double their time)
LIMITS = ["--timeout", "5", "--statement-timeout", "2", "--load-timeout", "60", "--examples", "30",
          "--memory-mb", "1024", "--no-fixes"]
WALL = 240  # seconds: the whole run of one case, limits included


def run_cli(*paths, extra=()):
    """gradcheck check as a user runs it; the result carries gradcheck's ``pid`` (the name of
    everything the run creates). Past WALL the run is killed and the test fails."""
    args = [sys.executable, "-m", "gradcheck", "check", *map(str, paths), "--format", "json",
            *LIMITS, *extra]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=WALL)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"gradcheck ran past {WALL} s")
    done = subprocess.CompletedProcess(args, proc.returncode, out, err)
    done.pid = proc.pid
    return done


def become_subreaper() -> None:
    """Make this test process the reaper of orphans: a process the submission started that
    outlives gradcheck is then re-parented here, whatever user it runs as."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())


_PR_SET_CHILD_SUBREAPER = 36
_PIDS_CGROUPS = Path("/sys/fs/cgroup/pids")


def live_processes() -> dict[int, list[str]]:
    """pid -> fields of /proc/<pid>/stat after the command name, for every live process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z":
            found[int(entry)] = fields
    return found


def orphans() -> set[int]:
    """Live processes re-parented to this one (after the gradcheck child was reaped)."""
    while True:  # reap orphans that already died, so that only live ones are counted
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    return {pid for pid, fields in live_processes().items() if int(fields[1]) == os.getpid()}


def in_cgroups_of(run_pid: int) -> set[int]:
    """Live processes in a cgroup the gradcheck process ``run_pid`` made for its workers (named
    ``gradcheck-<pid>-...``): the worker and whatever it started, in whichever session, under
    whichever uid, wherever it was re-parented."""
    marker = f"/{SANDBOX_PREFIX}{run_pid}-"
    found = set()
    for pid in live_processes():
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                if marker in f.read():
                    found.add(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def survivors(before: set[int], run_pid: int) -> set[int]:
    """Processes the run started that are still alive after gradcheck returned: descendants
    re-parented to this subreaper and members of the run's cgroups (SIGKILL is delivered
    asynchronously, so give them a moment). ``before``: this process's own children from
    earlier (multiprocessing's resource tracker, say), which are not the submission's. What
    is found is killed, so that one failure does not leak into the next test."""
    for _ in range(50):
        left = (orphans() - before) | in_cgroups_of(run_pid)
        if not left:
            return left
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def leftovers(run_pid: int) -> list[Path]:
    """Cgroups and sandbox folders of the run that still exist once it returned."""
    pattern = f"{SANDBOX_PREFIX}{run_pid}-*"
    return [*_PIDS_CGROUPS.glob(pattern), *Path(tempfile.gettempdir()).glob(pattern)]


def test_survivors_are_found_whatever_user_and_session_they_run_in():
    """The helpers above see a process left behind by a run however it hides: double-forked
    into a session of its own (re-parented here), under a uid that is neither ours nor
    ``nobody``'s, and -- where gradcheck makes cgroups -- by its cgroup alone."""
    become_subreaper()
    before = orphans()
    cgroup = _PIDS_CGROUPS / f"{SANDBOX_PREFIX}{os.getpid()}-survivor-test"
    use_cgroup = os.geteuid() == 0 and (_PIDS_CGROUPS / "cgroup.procs").exists()
    if use_cgroup:
        cgroup.mkdir()
    uid = 200_123 if os.geteuid() == 0 else os.geteuid()
    code = ("import os, sys, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            f"    if {use_cgroup}:\n"
            f"        open('{cgroup}/cgroup.procs', 'w').write(str(os.getpid()))\n"
            f"    os.setgid({uid}); os.setuid({uid})\n"
            "    print(os.getpid(), flush=True)\n"
            "    quiet = os.open(os.devnull, os.O_RDWR)\n"
            "    for fd in (0, 1, 2):\n"
            "        os.dup2(quiet, fd)  # let the launcher's output end\n"
            "    time.sleep(120)\n")
    try:
        launcher = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=30, check=True)
        hidden = int(launcher.stdout)
        assert hidden in orphans() - before
        if use_cgroup:
            assert in_cgroups_of(os.getpid()) == {hidden}
        assert survivors(before, os.getpid()) == {hidden}  # found, and killed
        assert not survivors(before, os.getpid())
    finally:
        if use_cgroup:
            for _ in range(50):
                try:
                    cgroup.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


@pytest.fixture
def outside(tmp_path):
    """A directory beside the submission that the submission must not be able to change."""
    watched = tmp_path / "outside"
    watched.mkdir()
    (watched / "keep.txt").write_text("original")
    return watched


def snapshot(*folders):
    return {p: p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission(case, tmp_path, outside):
    submission = tmp_path / "submission" / f"{case.name.replace('-', '_')}.py"
    submission.parent.mkdir()
    submission.write_text(case.source(outside))
    before = snapshot(outside, submission.parent)
    become_subreaper()
    children_before = orphans()

    proc = run_cli(submission)
    # first, so that a survivor is reported (and killed) whatever else fails
    assert not survivors(children_before, proc.pid), "a process of the submission survived"
    assert not leftovers(proc.pid), "the run's cgroup or sandbox folder was left behind"

    doc = json.loads(proc.stdout)  # gradcheck's own output is one intact JSON document
    errors = {(f["code"], f["op"]) for f in doc["findings"] if f["severity"] == "error"}
    warnings = {(f["code"], f["op"]) for f in doc["findings"] if f["severity"] == "warning"}
    assert errors == case.expect, doc["findings"]
    assert case.warnings <= warnings
    assert doc["verdict"] == ("fail" if case.expect else "pass")
    assert proc.returncode == (1 if case.expect else 0)
    assert snapshot(outside, submission.parent) == before
    assert not os.path.exists("/tmp/gradcheck-evil.txt")


def test_output_is_captured_and_bounded(tmp_path, outside):
    case = next(c for c in CASES if c.name == "million-lines-of-output")
    submission = tmp_path / "chatty.py"
    submission.write_text(case.source(outside))
    proc = run_cli(submission)
    doc = json.loads(proc.stdout)
    assert doc["output"].startswith("0\n1\n2\n")
    assert doc["output"].endswith("(output truncated at 64000 bytes)")
    assert len(doc["output"]) < 70_000


def test_a_misbehaving_subject_does_not_change_another(tmp_path, outside):
    from conftest import REFERENCE

    bad = tmp_path / "bad.py"
    bad.write_text(next(c for c in CASES if c.name == "monkeypatches-its-own-process").source(outside))
    proc = run_cli(bad, REFERENCE / "correct_iterative.py", bad)
    first, good, again = json.loads(proc.stdout)
    # the ops the class lacks are info only; nothing else is said about it
    assert good["verdict"] == "pass" and {f["code"] for f in good["findings"]} <= {"unsupported-op"}
    assert [f["code"] for f in first["findings"]] == [f["code"] for f in again["findings"]]


def test_forbidden_imports_are_configurable(tmp_path, outside):
    case = next(c for c in CASES if c.name == "uses-torch-for-gradients")
    submission = tmp_path / "torchy.py"
    submission.write_text(case.source(outside))
    proc = run_cli(submission, extra=["--allow-import", "torch", "--memory-mb", "4096"])
    assert json.loads(proc.stdout)["verdict"] == "pass"
