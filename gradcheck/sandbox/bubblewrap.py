"""The worker's sandbox when bubblewrap can run: the ``bwrap`` command line, and whether it works.

bubblewrap (Flatpak's sandbox, Debian package ``bubblewrap``) builds the worker a world of its
own from a few bind mounts: new pid, IPC, UTS, network, cgroup and mount namespaces; only the
interpreter's runtime (read-only), gradcheck's private copy of *this* submission's files
(read-only, at ``/submission``), the worker's own code (read-only, at ``/worker``) and a
size-capped tmpfs scratch at ``/tmp``. There is no batch folder, no classmate, no
``reference_impls/``, no ``/root`` and no other process to see.

As root, bwrap runs privileged (no user namespace) and ``setpriv`` turns the worker into a uid of
its own before the interpreter starts: no two workers share a uid, none has a capability, and
``no_new_privs`` is set. As another user, bwrap makes an unprivileged user namespace instead
(the workers then share the invoking user's uid, still in separate pid namespaces).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradcheck

RUNTIME_DIR = "/worker"  # the worker's own code, inside the sandbox
SUBMISSION_DIR = "/submission"  # the private copy of the submission's files
SCRATCH_DIR = "/tmp"  # the only writable place
SANDBOX_UID_BASE = 200_000  # per-worker uids start here (as root)
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Availability:
    usable: bool
    reason: str  # why not, or how (privileged with setpriv / user namespace)


@dataclass(frozen=True)
class Mounts:
    """What the worker is given: host folders to show read-only, and the private ones."""

    runtime: str  # host folder holding the worker's code
    submission: str  # host folder holding the copy of the submission
    scratch_bytes: int
    network: bool


def privileged() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


@functools.lru_cache(maxsize=8)
def runtime_paths(python: str) -> tuple[str, ...]:
    """The folders an interpreter needs to start and import its installed packages: its
    prefixes and the folder of its executable. Asked of the interpreter itself (it runs no
    submission code); folders under /usr are already there."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        facts = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                 os.path.dirname(os.path.realpath(sys.executable))]
    else:
        probe = ("import json,os,sys;print(json.dumps([sys.prefix,sys.base_prefix,sys.exec_prefix,"
                 "sys.base_exec_prefix,os.path.dirname(os.path.realpath(sys.executable))]))")
        try:
            out = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
            facts = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError):
            return ()
    paths = []
    for p in sorted({os.path.realpath(p) for p in facts if isinstance(p, str) and p}, key=len):
        if p == "/" or p.startswith("/usr/") or p == "/usr":
            continue
        if not any(p == q or p.startswith(q + "/") for q in paths):
            paths.append(p)
    return tuple(paths)


def command(python: str, worker_args: list[str], mounts: Mounts, env: dict[str, str],
            uid: int) -> list[str]:
    """The full command line: bwrap, its options, then the worker."""
    args = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox"]
    if not mounts.network:
        args.append("--unshare-net")
    if privileged():
        # keep only what setpriv needs to switch uid; it drops them before exec
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_SETPCAP"]
    else:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["--ro-bind", "/usr", "/usr"]
    for top in _TOP_LEVEL:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
             # the scratch first: a runtime that lives below /tmp (a virtualenv) is bound on top
             "--perms", "1777", "--size", str(mounts.scratch_bytes), "--tmpfs", SCRATCH_DIR]
    made = {"/", "/usr", "/tmp", "/proc", "/dev", "/etc", *_TOP_LEVEL}
    for path in runtime_paths(python):
        args += _parents(path, made) + ["--ro-bind", path, path]
    package = os.path.dirname(os.path.realpath(gradcheck.__file__))
    if any(package.startswith(p + "/") for p in ("/usr", *runtime_paths(python))):
        args += ["--tmpfs", package]  # an installed gradcheck stays out of reach
    args += ["--proc", "/proc", "--dev", "/dev",
             "--ro-bind", mounts.runtime, RUNTIME_DIR,
             "--ro-bind", mounts.submission, SUBMISSION_DIR,
             "--chdir", SCRATCH_DIR, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args.append("--")
    if privileged():
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return args + [python, *worker_args]


def _parents(path: str, made: set[str]) -> list[str]:
    """bwrap creates missing parents of a mount point readable by its owner only: make each
    one readable by all first, or a worker with its own uid could not reach the interpreter."""
    args = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        parent = str(Path(*parts[:i]))
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


@functools.lru_cache(maxsize=8)
def availability(python: str) -> Availability:
    """Whether a worker can be started under bubblewrap here, found by starting one that does
    nothing; the reason says what failed (shown by ``gradcheck doctor`` and in results)."""
    if not sys.platform.startswith("linux"):
        return Availability(False, f"bubblewrap needs Linux (this is {sys.platform})")
    if shutil.which("bwrap") is None:
        return Availability(False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    with tempfile.TemporaryDirectory(prefix="gradcheck-probe-") as empty:
        os.chmod(empty, 0o755)
        mounts = Mounts(runtime=empty, submission=empty, scratch_bytes=1 << 20, network=False)
        cmd = command(python, ["-I", "-c", "import os; os.listdir('/tmp')"], mounts,
                      {"PATH": "/usr/bin:/bin"}, SANDBOX_UID_BASE)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return Availability(False, f"bwrap could not be started: {exc}")
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return Availability(False, f"bwrap failed here: {detail[:200]}")
    how = ("privileged, one uid per worker via setpriv" if privileged()
           else "in an unprivileged user namespace")
    return Availability(True, f"bubblewrap {_version()} ({how})")


def _version() -> str:
    try:
        out = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.split()[-1] if out.split() else "?"
