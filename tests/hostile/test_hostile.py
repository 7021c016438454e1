"""Untrusted submissions: each hostile case must end within its limits, get exactly its
findings, leave gradcheck's own output intact, and change nothing outside its sandbox."""

import ctypes
import json
import os
import subprocess
import sys
import time

import pytest

from subjects.hostile import CASES

# Tight limits keep the corpus fast; the defaults are minutes, not seconds.
LIMITS = ["--timeout", "5", "--statement-timeout", "2", "--load-timeout", "60", "--examples", "30",
          "--memory-mb", "1024"]
WALL = 240  # seconds: the whole run of one case, limits included


def run_cli(*paths, extra=()):
    """gradcheck check as a user runs it; TimeoutExpired (the test's failure) past WALL."""
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "check", *map(str, paths), "--format", "json",
                           *LIMITS, *extra], capture_output=True, text=True, timeout=WALL)
    return proc


def become_subreaper() -> None:
    """Make this test process the reaper of orphans: a process the submission started that
    outlives gradcheck is then re-parented here, whatever user it runs as."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())


_PR_SET_CHILD_SUBREAPER = 36


def orphans() -> set[int]:
    """Live processes re-parented to this one (after the gradcheck child was reaped)."""
    while True:  # reap orphans that already died, so that only live ones are counted
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == os.getpid():
            found.add(int(entry))
    return found


def survivors(before: set[int]) -> set[int]:
    """Processes started by the submission still alive after gradcheck returned (SIGKILL is
    delivered asynchronously, so give them a moment); ``before``: this process's own children
    from earlier (multiprocessing's resource tracker, say), which are not the submission's."""
    for _ in range(50):
        left = orphans() - before
        if not left:
            return left
        time.sleep(0.1)
    return left


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

    doc = json.loads(proc.stdout)  # gradcheck's own output is one intact JSON document
    errors = {(f["code"], f["op"]) for f in doc["findings"] if f["severity"] == "error"}
    warnings = {(f["code"], f["op"]) for f in doc["findings"] if f["severity"] == "warning"}
    assert errors == case.expect, doc["findings"]
    assert case.warnings <= warnings
    assert doc["verdict"] == ("fail" if case.expect else "pass")
    assert proc.returncode == (1 if case.expect else 0)
    assert snapshot(outside, submission.parent) == before
    assert not os.path.exists("/tmp/gradcheck-evil.txt")
    assert not survivors(children_before), "a process of the submission survived"


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
    assert good["verdict"] == "pass" and good["findings"] == []
    assert [f["code"] for f in first["findings"]] == [f["code"] for f in again["findings"]]


def test_forbidden_imports_are_configurable(tmp_path, outside):
    case = next(c for c in CASES if c.name == "uses-torch-for-gradients")
    submission = tmp_path / "torchy.py"
    submission.write_text(case.source(outside))
    proc = run_cli(submission, extra=["--allow-import", "torch", "--memory-mb", "4096"])
    assert json.loads(proc.stdout)["verdict"] == "pass"
