"""The trusted side of the worker: starts it, sends requests, enforces time, restarts it.

Nothing the worker returns is believed: ``WorkerClient.request`` only moves JSON; callers
validate every value they use (``gradcheck.observe``) and decide everything themselves.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gradcheck.errors import HarnessError
from gradcheck.sandbox import worker as worker_module

WORKER_SCRIPT = Path(worker_module.__file__)
_ADDR_NO_RANDOMIZE = 0x0040000


@dataclass
class Limits:
    request_timeout: float = 60.0  # wall clock for one request
    load_timeout: float = 180.0  # wall clock for loading: notebooks train networks at top level
    statement_timeout: float = 10.0  # one top-level statement of the submission
    output_bytes: int = 64_000  # captured output kept for the report


class WorkerDied(Exception):
    """The worker exited, crashed or was killed while handling a request."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # "timeout" or "crash"
        self.detail = detail


def _no_aslr() -> None:
    # Submissions often keep inputs in a set; a set of objects iterates in address order, so a
    # fixed address layout keeps their traversal order -- and so our verdict -- reproducible.
    try:
        ctypes.CDLL(None).personality(_ADDR_NO_RANDOMIZE)
    except (OSError, AttributeError):
        pass


class WorkerClient:
    def __init__(self, python: str | None = None, limits: Limits | None = None):
        self.python = python or sys.executable
        self.limits = limits or Limits()
        self.workdir = Path(tempfile.mkdtemp(prefix="gradcheck-"))
        self.output_path = self.workdir / "output.txt"
        self.proc: subprocess.Popen | None = None
        self._replies = self._requests = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        output = open(self.output_path, "ab")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir),
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
               "LANG": "C.UTF-8"}
        try:
            self.proc = subprocess.Popen(
                [self.python, "-I", "-u", str(WORKER_SCRIPT), str(req_r), str(rep_w)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                pass_fds=(req_r, rep_w), cwd=self.workdir, env=env,
                start_new_session=True, preexec_fn=_no_aslr)
        except OSError as exc:
            raise HarnessError(f"cannot start the worker with {self.python}: {exc}") from exc
        finally:
            output.close()
            os.close(req_r)
            os.close(rep_w)
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
        self._kill()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for closer in (self._requests, ):
            try:
                closer.close()
            except (OSError, AttributeError):
                pass
        try:
            os.close(self._replies)
        except (OSError, TypeError):
            pass
        self.proc = None

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
            size = int.from_bytes(header, "big")
            payload = self._read_exact(size, deadline)
        except WorkerDied:
            self._kill()
            raise
        except (BrokenPipeError, OSError) as exc:
            self._kill()
            raise WorkerDied("crash", f"the worker stopped responding ({exc})") from exc
        return json.loads(payload.decode())

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, got = [], 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerDied("timeout", "the worker did not answer in time")
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._replies, size - got)
            if not chunk:
                code = self.proc.poll() if self.proc else None
                raise WorkerDied("crash", f"the worker exited (status {code})")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def captured_output(self) -> str:
        """What the submission printed, truncated; shown to the user, never parsed."""
        try:
            with open(self.output_path, "rb") as f:
                data = f.read(self.limits.output_bytes + 1)
        except OSError:
            return ""
        text = data[: self.limits.output_bytes].decode("utf-8", errors="replace")
        if len(data) > self.limits.output_bytes:
            text += f"\n... (output truncated at {self.limits.output_bytes} bytes)"
        return text
