"""What a worker may use (``Limits``, all settable from the CLI), and how it ends when it
goes beyond them or dies (``WorkerDied``, which every check turns into a finding)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Limits:
    """Every limit the worker runs under; all settable from the CLI."""

    subject_seconds: float = 60.0  # wall clock its code may take in all: loading, checks, restarts
    request_timeout: float = 20.0  # wall clock for one request
    load_timeout: float = 40.0  # wall clock for loading the submission
    statement_timeout: float = 10.0  # one top-level statement of the submission
    load_budget: float = 20.0  # after this much loading, only definitions still run
    cpu_seconds: int = 60  # CPU time over the subject's life, all restarts of its worker included
    # address space: a scalar engine, numpy and matplotlib included, needs a few hundred MB
    # (numpy peaks at 100 MB; its thread pools, which reserve space per core, are one thread in
    # the worker). A runaway allocation costs the time it takes to fault in the whole limit:
    # on a 2-core VM 4 GB took 7 s, 2 GB 1.4-3.0 s and 1 GB 0.7-1.1 s.
    memory_mb: int = 1024
    max_processes: int = 64  # the worker and everything it starts
    file_size_mb: int = 16  # largest file it may write (inside its sandbox)
    scratch_mb: int = 64  # all it may write (bubblewrap: the size of its tmpfs scratch)
    isolation: str = "auto"  # "auto" (bubblewrap where it runs), "bubblewrap" (or fail), "limited"
    output_bytes: int = 64_000  # captured output kept for the report
    network: bool = False  # allow network access
    forbidden_imports: tuple[str, ...] = field(
        default=("torch", "tensorflow", "jax", "autograd", "micrograd", "tinygrad"))


class WorkerDied(Exception):
    """The worker exited, crashed or was killed while handling a request."""

    def __init__(self, kind: str, detail: str, budget: bool = False):
        super().__init__(detail)
        self.kind = kind  # "timeout", "memory-limit", "crash" or "tampering"
        self.detail = detail
        self.budget = budget  # the whole subject's time is used up: nothing more will run

    @property
    def verb(self) -> str:
        """What the submission's code did, in a finding's words."""
        return {"timeout": "hung", "memory-limit": "ran out of memory",
                "tampering": "tampered with gradcheck's worker"}.get(self.kind, "died")
