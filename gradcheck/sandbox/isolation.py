"""Operating-system limits for the worker, applied between fork and exec (``preexec_fn``).

Under bubblewrap (``gradcheck.sandbox.bubblewrap``) only ``apply_limits`` runs here: the pids
cgroup and resource limits, which bwrap and everything it starts inherit. Where bubblewrap
cannot run, ``apply`` is the "limited" fallback and adds what this process can do on its own.

Each protection is best effort -- a kernel or container may refuse one -- and the ones that
work stack: resource limits (memory, CPU time, file size, open files, no core dumps), a pids
cgroup that bounds and later kills every descendant (even ones that left the process group), a
network namespace with no interfaces, a mount namespace in which everything but the
worker's own sandbox directory is read-only, and -- when gradcheck runs as root -- the user
``nobody`` with no capability but reading files. Only async-signal-safe-ish work happens here: no
threads exist in the child yet, and nothing is imported lazily.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import resource
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

_ADDR_NO_RANDOMIZE = 0x0040000
_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
_PIDS_ROOT = Path("/sys/fs/cgroup/pids")
_PR_SET_PDEATHSIG = 1
# Sandbox folders and cgroups are named gradcheck-<pid of the gradcheck process>-<random>, so
# that leftovers of a gradcheck that was killed can be recognised and removed.
SANDBOX_PREFIX = "gradcheck-"
_OWNED = re.compile(rf"^{SANDBOX_PREFIX}(\d+)-")
# Kernel interfaces a process needs to run at all; everything else becomes read-only.
_KEEP_WRITABLE = ("/proc",)


@dataclass(frozen=True)
class Plan:
    """What to apply in the child; built in the parent, where failures can be handled."""

    sandbox: str
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    max_processes: int
    cgroup: str | None
    network: bool
    drop_privileges: bool


def create_cgroup(max_processes: int) -> str | None:
    """A fresh pids cgroup bounding the worker's process count, or None where unavailable."""
    if os.geteuid() != 0 or not (_PIDS_ROOT / "cgroup.procs").exists():
        return None
    path = _PIDS_ROOT / f"{SANDBOX_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
    except OSError:
        return None
    return str(path)


def kill_cgroup(path: str | None, patience: float = 5.0) -> None:
    """Kill every process left in the cgroup (forked children included) and remove it.

    SIGKILL is asynchronous: a killed process stays listed, and the cgroup cannot be removed
    (EBUSY), until the kernel has finished tearing it down -- on a loaded machine that takes
    milliseconds, not a few yields. So wait, with a short sleep between tries, for up to
    ``patience`` seconds."""
    if not path:
        return
    procs = Path(path) / "cgroup.procs"
    deadline = time.monotonic() + patience
    pause = 0.0005
    while True:
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except OSError:
            return  # already gone
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if not pids:
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError:
                pass  # EBUSY: a process is still on its way out
        if time.monotonic() >= deadline:
            return  # the next run's remove_stale takes it
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def make_sandbox_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-"))


def remove_stale() -> None:
    """Sandbox folders and cgroups left by a gradcheck process that no longer runs (killed from
    outside before it could clean up): their processes are killed and they are removed."""
    for root in (Path(tempfile.gettempdir()), _PIDS_ROOT):
        try:
            entries = list(root.iterdir())
        except OSError:
            continue
        for entry in entries:
            m = _OWNED.match(entry.name)
            if not m or _alive(int(m.group(1))):
                continue
            if root == _PIDS_ROOT:
                kill_cgroup(str(entry))
            else:
                shutil.rmtree(entry, ignore_errors=True)


_removed_stale = False


def remove_once_stale() -> None:
    """``remove_stale``, the first time a process starts a worker."""
    global _removed_stale
    if not _removed_stale:
        _removed_stale = True
        remove_stale()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (a grading pool's processes,
    when gradcheck itself is killed from outside); exit now if the parent is already gone."""
    parent = os.getppid()
    _call(_libc.prctl, _PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def apply_limits(plan: Plan) -> None:
    """Runs in the child before exec: join the cgroup (while /sys is still as it was), die with
    gradcheck, fixed address layout (set order of address-hashed values is reproducible), and
    the resource limits."""
    if plan.cgroup:
        try:
            with open(os.path.join(plan.cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass
    _call(_libc.prctl, _PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _call(_libc.personality, _ADDR_NO_RANDOMIZE)
    limits = [(resource.RLIMIT_AS, plan.memory_bytes), (resource.RLIMIT_CPU, plan.cpu_seconds),
              (resource.RLIMIT_FSIZE, plan.file_bytes), (resource.RLIMIT_CORE, 0),
              (resource.RLIMIT_NOFILE, 256)]
    limits.append((resource.RLIMIT_NPROC, plan.max_processes))  # binds once not root
    for which, value in limits:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def apply(plan: Plan) -> None:
    """The limited fallback, in the child before exec: limits first (the cgroup must be joined
    while /sys is as it was), then private mount and network namespaces with everything but the
    sandbox read-only, then ``nobody``."""
    apply_limits(plan)
    flags = _CLONE_NEWNS | (0 if plan.network else _CLONE_NEWNET)
    if _call(_libc.unshare, flags) != 0:
        _call(_libc.unshare, _CLONE_NEWNS)
    _read_only_except(plan.sandbox)
    if plan.drop_privileges:
        drop_privileges()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_NOBODY = 65534
_PR_SET_KEEPCAPS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 8, 47, 2
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522


def drop_privileges() -> None:
    """As root, become ``nobody`` keeping only the right to *read* any file (the interpreter
    may live under /root): the submission can then write nothing of ours, signal none of our
    processes, and RLIMIT_NPROC applies to it. Skipped if the kernel lacks ambient capabilities,
    since without them the interpreter could not start."""
    if os.geteuid() != 0:
        return
    if _call(_libc.prctl, _PR_CAP_AMBIENT, 4, 0, 0, 0) < 0:  # PR_CAP_AMBIENT_CLEAR_ALL as a probe
        return
    _call(_libc.prctl, _PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setresgid(_NOBODY, _NOBODY, _NOBODY)
    os.setresuid(_NOBODY, _NOBODY, _NOBODY)
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = data[0].inheritable = 1 << _CAP_DAC_READ_SEARCH
    _libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), data)
    _call(_libc.prctl, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH, 0, 0)


def _call(fn, *args) -> int:
    try:
        return fn(*args)
    except (AttributeError, OSError):
        return -1


def _mount(source: str | None, target: str, flags: int) -> int:
    src = source.encode() if source else None
    return _call(_libc.mount, src, target.encode(), None, flags, None)


def _read_only_except(sandbox: str) -> None:
    if _mount(None, "/", _MS_REC | _MS_PRIVATE) != 0:
        return  # no private mount namespace: leave the file system alone
    _mount(sandbox, sandbox, _MS_BIND | _MS_REC)
    try:
        with open("/proc/self/mountinfo") as f:
            points = sorted({line.split()[4] for line in f}, key=len)
    except OSError:
        return
    for point in points:
        if point.startswith(_KEEP_WRITABLE) or point == sandbox or point.startswith(sandbox + "/"):
            continue
        if _mount(point, point, _MS_BIND | _MS_REMOUNT | _MS_RDONLY) != 0:
            _mount(point, point, _MS_BIND | _MS_REC)
            _mount(point, point, _MS_BIND | _MS_REMOUNT | _MS_RDONLY)
