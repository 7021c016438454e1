"""How long one `gradcheck check` of a correct file takes, as a user runs it (a fresh process),
against the test a learner would otherwise run: micrograd's style of test -- three fixed
expressions compared with torch -- run by pytest on the same file, also a fresh process.

Measured in one run, reported as ratios of means (this machine is shared and noisy; absolute
times mean little): warm (the case store has every answer), cold (an empty cache directory, as
on a fresh install: what the shipped store lacks is computed), and without any store
(``--no-cache``: generate and ask the oracles, as a subject with an op set nobody shipped does on
its first check). Targets (issue 12): warm <= 0.3x the anchor, cold <= 1.0x; the no-store ratio
is reported. Peak memory is reported too.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import REFERENCE

SUBJECT = REFERENCE / "correct_full.py"
ROUNDS = 5
WARM_TARGET, COLD_TARGET = 0.3, 1.0

# micrograd's test_engine.py in spirit, plus the lecture's tanh neuron: each expression built
# with the subject's Value and with float64 torch, values and gradients compared.
ANCHOR_TESTS = f'''
import importlib.util
import torch

spec = importlib.util.spec_from_file_location("subject", {str(SUBJECT)!r})
subject = importlib.util.module_from_spec(spec)
spec.loader.exec_module(subject)
Value = subject.Value


def t(x):
    return torch.tensor([x], dtype=torch.double, requires_grad=True)


def test_sanity_check():
    x = Value(-4.0); z = 2 * x + 2 + x; q = z.relu() + z * x; h = (z * z).relu(); y = h + q + q * x
    y.backward()
    tx = t(-4.0); z = 2 * tx + 2 + tx; q = z.relu() + z * tx; h = (z * z).relu(); ty = h + q + q * tx
    ty.backward()
    assert abs(y.data - ty.item()) < 1e-6 and abs(x.grad - tx.grad.item()) < 1e-6


def test_more_ops():
    a = Value(-4.0); b = Value(2.0); c = a + b; d = a * b + b**3; c += c + 1; c += 1 + c + (-a)
    d += d * 2 + (b + a).relu(); d += 3 * d + (b - a).relu(); e = c - d; f = e**2; g = f / 2.0
    g += 10.0 / f; g.backward()
    ta = t(-4.0); tb = t(2.0); c = ta + tb; d = ta * tb + tb**3; c = c + c + 1; c = c + 1 + c + (-ta)
    d = d + d * 2 + (tb + ta).relu(); d = d + 3 * d + (tb - ta).relu(); e = c - d; f = e**2
    tg = f / 2.0; tg = tg + 10.0 / f; tg.backward()
    assert abs(g.data - tg.item()) < 1e-6
    assert abs(a.grad - ta.grad.item()) < 1e-6 and abs(b.grad - tb.grad.item()) < 1e-6


def test_tanh_neuron():
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.88137)
    o = (x1 * w1 + x2 * w2 + b).tanh(); o.backward()
    tx1, tx2, tw1, tw2, tb = t(2.0), t(0.0), t(-3.0), t(1.0), t(6.88137)
    to = (tx1 * tw1 + tx2 * tw2 + tb).tanh(); to.backward()
    assert abs(o.data - to.item()) < 1e-6
    assert all(abs(v.grad - w.grad.item()) < 1e-6 for v, w in ((x1, tx1), (w1, tw1), (x2, tx2)))
'''

MEANS: dict[str, float] = {}


def _check(env_cache: str | None, *extra: str) -> dict:
    env = dict(os.environ)
    if env_cache is not None:
        env["GRADCHECK_CACHE_DIR"] = env_cache
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "check", str(SUBJECT), "--format", "json",
                           *extra], capture_output=True, text=True, check=False, env=env)
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "pass", doc["findings"]
    return doc


def _record(benchmark, name: str) -> None:
    MEANS[name] = benchmark.stats.stats.mean


def test_anchor_micrograd_style_pytest(benchmark, tmp_path):
    tests = tmp_path / "test_engine.py"
    tests.write_text(ANCHOR_TESTS)

    def run():
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-p", "no:gradcheck", "-p", "no:benchmark", str(tests)], capture_output=True, text=True,
                              cwd=tmp_path, check=False)
        assert proc.returncode == 0 and "3 passed" in proc.stdout, proc.stdout

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    _record(benchmark, "anchor")


def test_warm_check(benchmark, tmp_path):
    cache = str(tmp_path / "cache")
    _check(cache)  # fills the cache with anything the shipped store lacks
    doc = benchmark.pedantic(lambda: _check(cache), rounds=ROUNDS, iterations=1)
    benchmark.extra_info["cases"] = doc["stats"]["cases"] + doc["stats"]["oracle_agreed"]
    _record(benchmark, "warm")


def test_cold_check(benchmark, tmp_path):
    """An empty cache directory each round: what is not shipped is computed."""
    rounds = iter(range(ROUNDS + 1))
    benchmark.pedantic(lambda: _check(str(tmp_path / f"empty-{next(rounds)}")), rounds=ROUNDS, iterations=1)
    _record(benchmark, "cold")


def test_check_without_a_store(benchmark):
    benchmark.pedantic(lambda: _check(None, "--no-cache"), rounds=ROUNDS, iterations=1)
    _record(benchmark, "no_store")


PEAK = """
import resource, sys
from gradcheck.runner import Options, check_path
result = check_path(sys.argv[1], Options())
assert result.passed
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_peak_memory_of_one_check(benchmark, tmp_path, cache):
    env = dict(os.environ, GRADCHECK_CACHE_DIR=str(tmp_path))
    script = PEAK if cache == "warm" else PEAK.replace("Options()", "Options(cases=None)")

    def run():
        out = subprocess.run([sys.executable, "-c", script, str(SUBJECT)], capture_output=True,
                             text=True, check=True, env=env).stdout.split()
        return int(out[0]), int(out[1])

    harness_kb, worker_kb = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["harness_peak_mb"] = round(harness_kb / 1024, 1)
    benchmark.extra_info["worker_peak_mb"] = round(worker_kb / 1024, 1)
    assert harness_kb > 0 and worker_kb > 0


def test_ratios_meet_the_targets(request):
    """Reads the means the benchmarks above recorded in this run (they run first, in file order)."""
    if request.config.getoption("benchmark_skip"):
        pytest.skip("benchmarks skipped: no timings to compare")
    assert {"anchor", "warm", "cold", "no_store"} <= MEANS.keys(), "run the whole module"
    ratios = {name: MEANS[name] / MEANS["anchor"] for name in ("warm", "cold", "no_store")}
    print("\nratios to the micrograd-style pytest anchor "
          f"({MEANS['anchor']:.2f} s): " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    assert ratios["warm"] <= WARM_TARGET, ratios
    assert ratios["cold"] <= COLD_TARGET, ratios
