"""Generated cases depend on the op list, the seed and the settings -- not on which modules the
calling process happened to import (Hypothesis mines numeric literals from "local" modules)."""

import importlib
import json
import subprocess
import sys

from gradcheck.checks import CheckSettings
from gradcheck.checks.property_search import generated


def test_generation_ignores_the_callers_modules(tmp_path, monkeypatch):
    ops = ["add", "mul", "pow", "tanh"]
    settings = CheckSettings(examples=60, share=False)
    before = [g.describe() for g in generated(ops, None, settings)]
    # A local module full of distinctive literals, imported as a notebook or a test would.
    literals = ", ".join(f"{1.0 + i / 997:.12f}" for i in range(400))
    (tmp_path / "callers_module.py").write_text(f"NUMBERS = [{literals}]\nPOWERS = [2.5, 7, 11]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("callers_module")
    try:
        after = [g.describe() for g in generated(ops, None, settings)]
    finally:
        sys.modules.pop(module.__name__, None)
    assert len(before) == 60
    assert after == before


# A caller that ran its own Hypothesis test first, in a fresh process: the test draws floats
# of the leaves' magnitude range from a module full of literals, which fills Hypothesis's
# process-wide constants cache; then gradcheck generates.
EARLIER_TEST = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "caller-first":
    from hypothesis import given, settings, strategies as st
    module = importlib.import_module("callers_module")

    @settings(max_examples=200, database=None)
    @given(st.floats(1e-3, 3.0), st.integers(0, 5))
    def callers_own_test(x, i):
        pass

    callers_own_test()
from gradcheck.checks import CheckSettings
from gradcheck.checks.property_search import generated
graphs = generated(["add", "mul", "pow", "tanh"], None, CheckSettings(examples=200, share=False))
print(json.dumps([g.describe() for g in graphs]))
"""


def test_generation_ignores_earlier_hypothesis_tests(tmp_path):
    literals = ", ".join(f"{1.0 + i / 997:.12f}" for i in range(400))
    (tmp_path / "callers_module.py").write_text(f"NUMBERS = [{literals}]\n")

    def graphs(order: str) -> list[str]:
        out = subprocess.run([sys.executable, "-c", EARLIER_TEST, str(tmp_path), order],
                             capture_output=True, text=True, timeout=300, check=True).stdout
        return json.loads(out)

    alone = graphs("gradcheck-alone")
    assert len(alone) == 200
    assert graphs("caller-first") == alone
