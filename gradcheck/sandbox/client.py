"""The trusted side of the worker: starts it inside its limits, sends requests, enforces time,
captures what it prints, kills it (with every process it started) and restarts it.

Nothing the worker returns is believed: ``WorkerClient.request`` only moves JSON; callers
validate every value they use (``gradcheck.sandbox.replies``) and decide everything themselves.
"""

from __future__ import annotations

import functools
import os
import py_compile
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradcheck.errors import HarnessError
from gradcheck.sandbox import bubblewrap, isolation, protocol
from gradcheck.sandbox.limits import Limits, WorkerDied
from gradcheck.sandbox.output_sink import OutputSink

BUBBLEWRAP, LIMITED = "bubblewrap", "limited"
_HERE = Path(__file__).parent
# The worker's own code, copied side by side into one folder of each sandbox (the worker imports
# nothing of gradcheck): the modules of its folder, and the protocol it shares with us.
_WORKER_MODULES = (*sorted(p for p in (_HERE / "worker").glob("*.py") if p.name != "__init__.py"),
                   _HERE / "protocol.py")


@functools.cache
def _worker_bytecode() -> dict[str, bytes]:
    """The worker's modules compiled once per gradcheck process, as the bytecode files an
    interpreter of this version finds beside them (another version ignores them). In a fresh,
    read-only sandbox the worker compiled all of them at every start: 40 ms of each start.
    Unchecked-hash files: they are made from the very sources copied beside them. (Python sets
    each code object's file name to where the module was found, so the worker still knows its
    own frames.)"""
    found = {}
    with tempfile.TemporaryDirectory(prefix="gradcheck-bytecode-") as tmp:
        for module in _WORKER_MODULES:
            target = os.path.join(tmp, module.stem + ".pyc")
            py_compile.compile(str(module), cfile=target, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            found[f"{module.stem}.{sys.implementation.cache_tag}.pyc"] = Path(target).read_bytes()
    return found


# numpy's BLAS and OpenMP start a thread per core at import, each reserving address space (on
# a 64-core machine, more than the worker's whole memory limit): a scalar engine uses none of
# them, and `grade -j N` would start N pools on the same cores
ONE_THREAD_POOLS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_ALARM_BYTES = 64_000
_MAX_TAMPERING = 200
_uid_counter = 0


def _channel_attempt(detail: str) -> dict:
    return {"event": "channel", "detail": detail, "where": None, "kind": "tampering"}


class WorkerClient:
    """One worker at a time for one subject: ``start`` (again after a death), ``request``,
    ``kill``, ``close``. The sandbox folder holds the worker's code and the private copy of the
    submission's files; gradcheck never reads anything back from it."""

    def __init__(self, python: str | None = None, limits: Limits | None = None,
                 files: dict[str, bytes] | None = None):
        self.python = python or sys.executable
        self.limits = limits or Limits()
        isolation.remove_once_stale()
        avail = bubblewrap.availability(self.python)
        if self.limits.isolation == BUBBLEWRAP and not avail.usable:
            raise HarnessError(f"--isolation bubblewrap: {avail.reason}")
        use = avail.usable and self.limits.isolation != LIMITED
        self.isolation = BUBBLEWRAP if use else LIMITED
        self.isolation_reason = avail.reason if avail.usable == use else "asked for (--isolation limited)"
        self.sandbox = isolation.make_sandbox_dir()
        self.runtime = self.sandbox / "runtime"
        self.submission_copy = self.sandbox / "submission"
        self.workdir = self.sandbox / "work"  # the scratch of the limited fallback only
        for folder in (self.runtime, self.submission_copy, self.workdir):
            folder.mkdir()
        for module in _WORKER_MODULES:
            shutil.copy(module, self.runtime / module.name)
        (self.runtime / "__pycache__").mkdir()
        for name, code in _worker_bytecode().items():
            (self.runtime / "__pycache__" / name).write_bytes(code)
        for rel, data in (files or {}).items():
            target = self.submission_copy / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for folder, _, names in os.walk(self.sandbox):  # readable by the worker's own uid
            os.chmod(folder, 0o755)
            for name in names:
                os.chmod(os.path.join(folder, name), 0o644)
        self.proc: subprocess.Popen | None = None
        self.cgroup: str | None = None
        self._requests: int | None = None  # non-blocking: a write never outlives its deadline
        self._replies: int | None = None
        self._alarms: int | None = None
        self._sinks: list[OutputSink] = []
        self.last_progress: tuple[int, int] | None = None
        self.last_op: str | None = None  # the op an "inspect" request said it was about to call
        self.tampering: list[dict] = []  # attempts the worker's guard reported, bounded
        # The subject's time budget counts the wall time spent waiting for its code (requests and
        # worker starts), not gradcheck's own work in between (oracles, fingerprints), so that
        # a busy machine or an opaque subject that needs many oracle answers is not cut short.
        self.budget: float | None = None  # set by the session; None: no whole-subject budget
        self.spent = 0.0
        self.cpu_used = 0.0  # CPU seconds of workers already gone

    @property
    def inside(self) -> dict[str, str]:
        """Where the worker sees its code, the submission's files and its scratch."""
        if self.isolation == BUBBLEWRAP:
            return {"runtime": bubblewrap.RUNTIME_DIR, "submission": bubblewrap.SUBMISSION_DIR,
                    "scratch": bubblewrap.SCRATCH_DIR}
        return {"runtime": str(self.runtime), "submission": str(self.submission_copy),
                "scratch": str(self.workdir)}

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        global _uid_counter
        lim = self.limits
        self.cgroup = isolation.create_cgroup(lim.max_processes)
        cpu_left = max(1, int(lim.cpu_seconds - self.cpu_used))
        limited = self.isolation == LIMITED
        drop = limited and os.geteuid() == 0
        if drop:  # the worker runs as nobody and must be able to write its scratch
            os.chown(self.workdir, 65534, 65534)
        plan = isolation.Plan(
            sandbox=str(self.workdir), memory_bytes=lim.memory_mb << 20, cpu_seconds=cpu_left,
            file_bytes=lim.file_size_mb << 20, max_processes=lim.max_processes, cgroup=self.cgroup,
            network=lim.network, drop_privileges=drop)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        alarm_r, alarm_w = os.pipe()
        out_r, out_w = os.pipe()
        inside = self.inside
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": inside["scratch"],
               "TMPDIR": inside["scratch"], "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8", **ONE_THREAD_POOLS}
        worker_args = ["-I", "-S", "-u", f"{inside['runtime']}/worker.py", str(req_r), str(rep_w), str(alarm_w)]
        if limited:
            cmd, preexec = [self.python, *worker_args], lambda: isolation.apply(plan)
        else:
            _uid_counter += 1
            uid = bubblewrap.SANDBOX_UID_BASE + (os.getpid() % (1 << 22)) * 8 + _uid_counter % 8
            mounts = bubblewrap.Mounts(runtime=str(self.runtime), submission=str(self.submission_copy),
                                       scratch_bytes=lim.scratch_mb << 20, network=lim.network)
            cmd = bubblewrap.command(self.python, worker_args, mounts, env, uid)
            preexec = lambda: isolation.apply_limits(plan)  # noqa: E731
        began = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                pass_fds=(req_r, rep_w, alarm_w), cwd=self.workdir, env=env,
                start_new_session=True, preexec_fn=preexec)
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (req_w, rep_r, alarm_r, out_r):
                os.close(fd)
            isolation.kill_cgroup(self.cgroup)
            self.cgroup = None
            raise HarnessError(f"cannot start the worker with {self.python}: {exc}") from exc
        finally:
            for fd in (req_r, rep_w, alarm_w, out_w):
                os.close(fd)
            self.spent += time.monotonic() - began
        self._sinks.append(OutputSink(out_r, self.limits.output_bytes))
        self._requests = req_w
        os.set_blocking(req_w, False)
        self._replies = rep_r
        self._alarms = alarm_r
        os.set_blocking(alarm_r, False)

    def close(self) -> None:
        # Killed, not asked to exit: nothing more is wanted from it, and a worker that exits
        # on its own first tears its interpreter down (10-20 ms of every check's end, spent
        # waiting). Its output so far is read to the end by the sinks either way.
        self.kill()
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
        self._reap()
        self._drain_alarms()
        for sink in self._sinks:
            sink.thread.join(timeout=2)
        for close in (lambda: os.close(self._requests), lambda: os.close(self._replies),
                      lambda: os.close(self._alarms)):
            try:
                close()
            except (OSError, TypeError, AttributeError):
                pass
        self.proc = None

    def _exits_by(self, deadline: float) -> bool:
        """Wait until the worker has exited and is reaped, or ``deadline``. The kernel says when
        (a pidfd) where it can: polling cost up to 10 ms of every check's end."""
        try:
            fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):  # not Linux 5.3+, or already reaped
            fd = None
        try:
            while not self._reap(block=False):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if fd is None:
                    time.sleep(min(0.01, remaining))
                else:
                    select.select([fd], [], [], remaining)
            return True
        finally:
            if fd is not None:
                os.close(fd)

    def _reap(self, block: bool = True) -> bool:
        """Collect the worker's exit status, adding the CPU time it (and what it waited for)
        used to the subject's account: the CPU budget spans restarts. False while it runs."""
        if self.proc.returncode is not None:
            return True
        try:
            pid, status, usage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.proc.wait()
            return True
        if pid == 0:
            return False
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_used += usage.ru_utime + usage.ru_stime
        return True

    def read_progress(self) -> tuple[int, int] | None:
        """The (unit, statement) the worker said it was about to run last."""
        return self.last_progress

    # -- requests ---------------------------------------------------------------------
    def remaining(self) -> float | None:
        return None if self.budget is None else self.budget - self.spent

    def request(self, command: str, timeout: float | None = None, **fields) -> dict:
        """Send one request and wait for its reply; on timeout, death or a reply the worker
        would never send, kill the worker and raise ``WorkerDied`` (the caller decides whether
        to restart and what it means)."""
        if self.proc is None:
            raise WorkerDied("crash", "the worker is not running")
        timeout = timeout or self.limits.request_timeout
        left = self.remaining()
        if left is not None and left <= 0:
            raise self.budget_used_up()
        budget = left is not None and left < timeout
        deadline = time.monotonic() + (min(timeout, left) if budget else timeout)
        seq = secrets.token_hex(8)
        began = time.monotonic()
        try:
            self._write(protocol.encode({"command": command, "seq": seq, **fields}), deadline, budget)
            body = self._read_reply(command, seq, deadline, budget)
        except WorkerDied:
            self.kill()
            raise
        except protocol.ProtocolError as exc:
            self.kill()
            raise WorkerDied("tampering" if exc.forged else "crash",
                             f"sent {exc.detail} on gradcheck's reply channel") from exc
        except (OSError, ValueError) as exc:
            died = self._death()
            self.kill()
            raise died from exc
        finally:
            self.spent += time.monotonic() - began
            self._drain_alarms(worker_running=True)
        for entry in body.pop("tampering", None) or []:
            self._note_tampering(entry)
        return body

    def _read_reply(self, command: str, seq: str, deadline: float, budget: bool) -> dict:
        while True:
            header = self._read_exact(protocol.HEADER.size, deadline, budget)
            (size,) = protocol.HEADER.unpack(header)
            if size > protocol.MAX_REPLY_BYTES:
                raise protocol.ProtocolError(f"a frame of {size} bytes", forged=True)
            frame = protocol.decode(self._read_exact(size, deadline, budget))
            if not isinstance(frame, dict) or frame.get("seq") != seq:
                raise protocol.ProtocolError("a frame that answers no request", forged=True)
            if frame.get("kind") == "progress":
                unit, stmt, op = frame.get("unit"), frame.get("stmt"), frame.get("op")
                if isinstance(unit, int) and isinstance(stmt, int):
                    self.last_progress = (unit, stmt)
                if isinstance(op, str):
                    self.last_op = op
                continue
            body = frame.get("body")
            if frame.get("kind") != "reply" or not isinstance(body, dict):
                raise protocol.ProtocolError("a frame of an unknown kind", forged=True)
            protocol.check_reply(command, body)
            return body

    def _write(self, data: bytes, deadline: float, budget: bool) -> None:
        """Send a whole request before the deadline: a worker that stops reading (its request
        pipe swapped for another with dup2) cannot block gradcheck on a full pipe."""
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(budget)
            _, ready, _ = select.select([], [self._requests], [], remaining)
            if ready:
                try:
                    view = view[os.write(self._requests, view[: 1 << 16]):]
                except BlockingIOError:
                    continue

    def budget_used_up(self) -> WorkerDied:
        """The death of a subject whose whole time budget is spent: nothing more will run."""
        return WorkerDied("timeout", "used up the whole-subject time budget "
                          f"({self.limits.subject_seconds:g}s)", budget=True)

    def _timed_out(self, budget: bool) -> WorkerDied:
        if budget:
            return self.budget_used_up()
        return WorkerDied("timeout", f"did not finish within {self._timeout_words()}")

    def _read_exact(self, size: int, deadline: float, budget: bool) -> bytes:
        chunks, got = [], 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(budget)
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._replies, min(size - got, 1 << 20))
            if not chunk:
                raise self._death()
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _drain_alarms(self, worker_running: bool = False) -> None:
        """What the worker's audit hook wrote: one JSON line per blocked attempt. Read without
        blocking and bounded; anything unreadable -- or the channel closed while the worker
        still runs (only the submission can have done that) -- is itself an attempt."""
        if self._alarms is None:
            return
        data, closed = b"", False
        while len(data) < _ALARM_BYTES:
            try:
                chunk = os.read(self._alarms, _ALARM_BYTES)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                closed = True
                break
            data += chunk
        for line in data.splitlines():
            try:
                entry = protocol.decode(line)
                protocol.check_alarm(entry)
            except protocol.ProtocolError:
                entry = _channel_attempt("unreadable data on the alarm channel")
            self._note_tampering(entry)
        if closed and worker_running and self.proc is not None and not self._reap(block=False):
            self._note_tampering(_channel_attempt("the alarm channel was closed"))
            os.close(self._alarms)
            self._alarms = None

    def _note_tampering(self, entry: dict) -> None:
        # every report counts, repeats included: the same import refused while loading (a note)
        # and again while the class is checked (a finding) are two different facts
        if len(self.tampering) < _MAX_TAMPERING:
            self.tampering.append(entry)

    def _timeout_words(self) -> str:
        return f"the time limit ({self.limits.request_timeout:g}s per request)"

    def _death(self) -> WorkerDied:
        """Why the worker went away, from its exit status (bwrap reports a signal death of the
        worker as 128 + the signal)."""
        code = None
        if self.proc is not None:
            self._exits_by(time.monotonic() + 5)
            code = self.proc.returncode
        if code is not None and code < 0:
            return self._killed_by(-code)
        if code is not None and code >= 128 and self.isolation == BUBBLEWRAP:
            return self._killed_by(code - 128)
        return WorkerDied("crash", f"exited (status {code}) in the middle of a request")

    def _killed_by(self, number: int) -> WorkerDied:
        try:
            name = signal.Signals(number).name
        except ValueError:  # a real-time signal has no name
            name = f"signal {number}"
        if name == "SIGXCPU":
            return WorkerDied("timeout", f"used up its CPU time ({self.limits.cpu_seconds}s)")
        if name == "SIGXFSZ":
            return WorkerDied("crash", f"wrote a file larger than {self.limits.file_size_mb} MB")
        return WorkerDied("crash", f"was killed by {name}")

    def captured_output(self) -> str:
        """What the submission printed, truncated; shown to the user, never parsed."""
        data = b"".join(bytes(s.data) for s in self._sinks)
        dropped = sum(s.dropped for s in self._sinks)
        text = data[: self.limits.output_bytes].decode("utf-8", errors="replace")
        if dropped or len(data) > self.limits.output_bytes:
            text += f"\n... (output truncated at {self.limits.output_bytes} bytes)"
        return text
