"""Generated cases depend on the op list, the seed and the settings -- not on which modules the
calling process happened to import (Hypothesis mines numeric literals from "local" modules)."""

import importlib
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
