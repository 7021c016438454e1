"""One full `gradcheck check` of a correct subject, cold (a fresh process, as a user runs it),
against micrograd's own style of test -- a fixed expression compared with torch -- on the same
subject, in the same run. Report the ratio of the two means (this machine is shared and noisy:
absolute times mean little)."""

import json
import subprocess
import sys

from conftest import REFERENCE

SUBJECT = REFERENCE / "correct_full.py"

# micrograd's test_engine.py, in spirit: the same expression with Value and float64 torch.
BASELINE = f'''
import importlib.util, torch
spec = importlib.util.spec_from_file_location("subject", {str(SUBJECT)!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
Value = m.Value
x = Value(-4.0); z = 2 * x + 2 + x; q = z.relu() + z * x; h = (z * z).relu(); y = h + q + q * x
y.backward(); xmg, ymg = x, y
x = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
z = 2 * x + 2 + x; q = z.relu() + z * x; h = (z * z).relu(); y = h + q + q * x
y.backward()
assert abs(ymg.data - y.data.item()) < 1e-6 and abs(xmg.grad - x.grad.item()) < 1e-6
a = Value(-4.0); b = Value(2.0); c = a + b; d = a * b + b**3; c += c + 1; c += 1 + c + (-a)
d += d * 2 + (b + a).relu(); d += 3 * d + (b - a).relu(); e = c - d; f = e**2; g = f / 2.0
g += 10.0 / f; g.backward()
ta = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
tb = torch.tensor([2.0], dtype=torch.double, requires_grad=True)
c = ta + tb; d = ta * tb + tb**3; c = c + c + 1; c = c + 1 + c + (-ta)
d = d + d * 2 + (tb + ta).relu(); d = d + 3 * d + (tb - ta).relu(); e = c - d; f = e**2
tg = f / 2.0; tg = tg + 10.0 / f; tg.backward()
assert abs(g.data - tg.data.item()) < 1e-6 and abs(a.grad - ta.grad.item()) < 1e-6
'''


def run_gradcheck():
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "check", str(SUBJECT), "--format", "json"],
                          capture_output=True, text=True, check=False)
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "pass"
    return doc


def run_baseline():
    subprocess.run([sys.executable, "-c", BASELINE], check=True)


def test_baseline_fixed_torch_comparison(benchmark):
    benchmark.extra_info["cases"] = 2
    benchmark.pedantic(run_baseline, rounds=3, iterations=1)


def test_full_gradcheck_check(benchmark):
    doc = benchmark.pedantic(run_gradcheck, rounds=3, iterations=1)
    benchmark.extra_info["cases"] = doc["stats"]["cases"] + doc["stats"]["oracle_agreed"]
