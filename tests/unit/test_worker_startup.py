"""The worker's start: what it imports before a submission runs, and the code-object reading of
closure signatures that lets it do without ``inspect`` (run in a fresh interpreter, as the
worker is: this process has imported everything long ago)."""

import json
import subprocess
import sys
from pathlib import Path

import gradcheck.sandbox.worker as worker_package

WORKER = Path(worker_package.__file__).parent
PROTOCOL = WORKER.parent

PROBE = """
import json, sys
sys.path[:0] = sys.argv[1:3]
import capped_output, channel, commands, describe, graphs, instrument, loading, probing, reflection, traversal
at_start = sorted(sys.modules)

import functools, inspect

def by_inspect(fn, drop_first=False):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    return sum(1 for p in params[1 if drop_first else 0:] if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))

def decorated(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper

class Node:
    def back(self): pass
    def back_with(self, result, scale=1.0): pass
    def only_star(*args): pass
    def keyword_after(self, *, k): pass
    @staticmethod
    def static(a, b=2): pass
    @classmethod
    def klass(cls, a): pass
    def __call__(self, x): pass

def positional_only(a, b, /, c, d=1, *rest, e, f=2, **more): pass
def signed(x): pass
signed.__signature__ = inspect.Signature()

zoo = {
    "no args": lambda: None, "one": lambda node: None, "default": lambda node=None: None,
    "star": lambda *a: None, "keyword only": lambda *, k: None, "positional only": positional_only,
    "bound method": Node().back, "bound method with default": Node().back_with,
    "bound star": Node().only_star, "bound keyword only": Node().keyword_after,
    "function of a method": Node.back_with, "static": Node.static, "class method": Node.klass,
    "wrapped": decorated(lambda node: None), "partial": functools.partial(positional_only, 1),
    "callable object": Node(), "builtin": len, "signature attribute": signed,
}
counts = {name: [traversal.required_positional(fn, drop), by_inspect(fn, drop)]
          for name, fn in zoo.items() for drop in (False, True)
          for name in [name + (" (first dropped)" if drop else "")]}
print(json.dumps({"at_start": at_start, "counts": counts}))
"""


def _probe():
    out = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, str(WORKER), str(PROTOCOL)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_worker_starts_without_the_heavy_standard_modules():
    """``inspect``, ``ast`` and ``signal`` (with ``enum``, which they import) were a fifth of
    every worker's start; the worker uses their C halves and code objects instead."""
    at_start = set(_probe()["at_start"])
    assert {"loading", "traversal", "reflection"} <= at_start  # the probe did import the worker
    assert not at_start & {"inspect", "ast", "signal", "dis", "tokenize"}, sorted(at_start)


def test_required_positional_counts_as_inspect_does():
    counts = _probe()["counts"]
    assert len(counts) == 36
    differ = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert not differ, differ
    assert counts["bound method with default"] == [1, 1]  # the case run_closure passes the node in
