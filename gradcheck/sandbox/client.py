"""The trusted side of the worker: starts it inside its limits, sends requests, enforces time,
captures what it prints, kills it (with every process it started) and restarts it.

Nothing the worker returns is believed: ``WorkerClient.request`` only moves JSON; callers
validate every value they use (``gradcheck.observe``) and decide everything themselves.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradcheck.errors import HarnessError
from gradcheck.sandbox import isolation
from gradcheck.sandbox import worker as worker_module

WORKER_SCRIPT = Path(worker_module.__file__)


@dataclass
class Limits:
    """Every limit the worker runs under; all settable from the CLI."""

    request_timeout: float = 60.0  # wall clock for one request
    load_timeout: float = 120.0  # wall clock for loading the submission
    statement_timeout: float = 10.0  # one top-level statement of the submission
    load_budget: float = 30.0  # after this much loading, only definitions still run
    cpu_seconds: int = 300  # CPU time over the worker's life
    memory_mb: int = 4096  # address space
    max_processes: int = 64  # the worker and everything it starts
    file_size_mb: int = 16  # largest file it may write (inside its sandbox)
    output_bytes: int = 64_000  # captured output kept for the report
    network: bool = False  # allow network access
    forbidden_imports: tuple[str, ...] = field(
        default=("torch", "tensorflow", "jax", "autograd", "micrograd", "tinygrad"))


class WorkerDied(Exception):
    """The worker exited, crashed or was killed while handling a request."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "timeout", "memory-limit" or "crash"
        self.detail = detail

    @property
    def verb(self) -> str:
        """What the submission's code did, in a finding's words."""
        return {"timeout": "hung", "memory-limit": "ran out of memory"}.get(self.kind, "died")


class _OutputSink:
    """Reads the worker's stdout/stderr pipe to the end, keeping only the first bytes: a
    submission printing a million lines can neither fill our disk nor block on a full pipe."""

    def __init__(self, fd: int, keep: int):
        self.fd, self.keep = fd, keep
        self.data = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            room = self.keep - len(self.data)
            self.data += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        os.close(self.fd)


class WorkerClient:
    def __init__(self, python: str | None = None, limits: Limits | None = None):
        self.python = python or sys.executable
        self.limits = limits or Limits()
        # The sandbox root is the only writable place the worker sees; it works in root/work,
        # so that "the parent of the working directory" is still inside the sandbox.
        self.sandbox = Path(tempfile.mkdtemp(prefix="gradcheck-"))
        self.workdir = self.sandbox / "work"
        self.workdir.mkdir()
        self.proc: subprocess.Popen | None = None
        self.cgroup: str | None = None
        self._requests = None
        self._replies: int | None = None
        self._sinks: list[_OutputSink] = []

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        lim = self.limits
        self.cgroup = isolation.create_cgroup(lim.max_processes)
        drop = os.geteuid() == 0
        if drop:  # the worker runs as nobody and must be able to write its own sandbox
            for path in (self.sandbox, self.workdir):
                os.chown(path, 65534, 65534)
        plan = isolation.Plan(
            sandbox=str(self.sandbox), memory_bytes=lim.memory_mb << 20, cpu_seconds=lim.cpu_seconds,
            file_bytes=lim.file_size_mb << 20, max_processes=lim.max_processes, cgroup=self.cgroup,
            network=lim.network, drop_privileges=drop)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir),
               "TMPDIR": str(self.workdir), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}
        try:
            self.proc = subprocess.Popen(
                [self.python, "-I", "-u", str(WORKER_SCRIPT), str(req_r), str(rep_w)],
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                pass_fds=(req_r, rep_w), cwd=self.workdir, env=env,
                start_new_session=True, preexec_fn=lambda: isolation.apply(plan))
        except (OSError, subprocess.SubprocessError) as exc:
            raise HarnessError(f"cannot start the worker with {self.python}: {exc}") from exc
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        self._sinks.append(_OutputSink(out_r, self.limits.output_bytes))
        self._requests = os.fdopen(req_w, "wb", buffering=0)
        self._replies = rep_r

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            worker_module.write_frame(self._requests, {"command": "shutdown"})
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        self.kill()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.sandbox, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        isolation.kill_cgroup(self.cgroup)  # descendants that left the process group
        self.cgroup = None
        self.proc.wait()
        for sink in self._sinks:
            sink.thread.join(timeout=2)
        try:
            self._requests.close()
        except (OSError, AttributeError):
            pass
        try:
            os.close(self._replies)
        except (OSError, TypeError):
            pass
        self.proc = None

    @property
    def progress_path(self) -> Path:
        return self.sandbox / "progress"

    def read_progress(self) -> tuple[int, int] | None:
        """The (unit, statement) the worker was running when it died, if it said."""
        try:
            unit, stmt = self.progress_path.read_text().split()
            return int(unit), int(stmt)
        except (OSError, ValueError):
            return None

    # -- requests ---------------------------------------------------------------------
    def request(self, command: str, timeout: float | None = None, **fields) -> dict:
        """Send one request and wait for its reply; on timeout or death, kill the worker and
        raise ``WorkerDied`` (the caller decides whether to restart and what it means)."""
        if self.proc is None:
            raise WorkerDied("crash", "the worker is not running")
        deadline = time.monotonic() + (timeout or self.limits.request_timeout)
        try:
            worker_module.write_frame(self._requests, {"command": command, **fields})
            header = self._read_exact(4, deadline)
            payload = self._read_exact(int.from_bytes(header, "big"), deadline)
            reply = json.loads(payload.decode())
        except WorkerDied:
            self.kill()
            raise
        except (OSError, ValueError) as exc:
            died = self._death()
            self.kill()
            raise died from exc
        if not isinstance(reply, dict):
            self.kill()
            raise WorkerDied("crash", "the worker sent something that is not a reply")
        return reply

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, got = [], 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerDied("timeout", f"did not finish within {self._timeout_words()}")
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._replies, size - got)
            if not chunk:
                raise self._death()
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _timeout_words(self) -> str:
        return f"the time limit ({self.limits.request_timeout:g}s per request)"

    def _death(self) -> WorkerDied:
        """Why the worker went away, from its exit status."""
        code = self.proc.wait(timeout=5) if self.proc else None
        if code is not None and code < 0:
            import signal

            name = signal.Signals(-code).name
            if name == "SIGXCPU":
                return WorkerDied("timeout", f"used up its CPU time ({self.limits.cpu_seconds}s)")
            if name == "SIGXFSZ":
                return WorkerDied("crash", f"wrote a file larger than {self.limits.file_size_mb} MB")
            return WorkerDied("crash", f"was killed by {name}")
        return WorkerDied("crash", f"exited (status {code}) in the middle of a request")

    def captured_output(self) -> str:
        """What the submission printed, truncated; shown to the user, never parsed."""
        data = b"".join(bytes(s.data) for s in self._sinks)
        dropped = sum(s.dropped for s in self._sinks)
        text = data[: self.limits.output_bytes].decode("utf-8", errors="replace")
        if dropped or len(data) > self.limits.output_bytes:
            text += f"\n... (output truncated at {self.limits.output_bytes} bytes)"
        return text
