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
import sys
sys.path[:0] = sys.argv[1:3]
import capped_output, channel, commands, describe, graphs, instrument, loading, probing, reflection, traversal
at_start = sorted(sys.modules)

import functools, inspect, json

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

def by_inspect(fn, drop_first=False):
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kept = list(signature.parameters.values())[int(drop_first):]
    return len([p for p in kept if p.kind in POSITIONAL and p.default is inspect.Parameter.empty])

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
    """``json``, ``inspect``, ``ast`` and ``signal`` (with ``re`` and ``enum``, which they
    import) were 36 ms of every worker's start; the worker uses their C halves and code objects
    instead."""
    at_start = set(_probe()["at_start"])
    assert {"loading", "traversal", "reflection", "_json"} <= at_start  # the probe did import the worker
    heavy = {"json", "re", "enum", "inspect", "ast", "signal", "dis", "tokenize"}
    assert not at_start & heavy, sorted(at_start & heavy)


def test_required_positional_counts_as_inspect_does():
    counts = _probe()["counts"]
    assert len(counts) == 36
    differ = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert not differ, differ
    assert counts["bound method with default"] == [1, 1]  # the case run_closure passes the node in
