"""Building the case store gradcheck ships: ``gradcheck cache build``.

For each common op set, a correct subject with exactly those ops (``model_value.py``, cut down)
is checked with default settings and an empty store; every sequence and answer the check asks
for is recorded. A first check of a correct file with one of these op sets is then warm even on
a fresh install. The test suite rebuilds into a temporary folder and compares with what is
shipped, so an edit that changes the cases cannot leave a stale store behind unnoticed.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

from gradcheck.case_store import SHIPPED, SUFFIX, CaseStore
from gradcheck.errors import GradcheckError
from gradcheck.ops import OPS

MODEL = Path(__file__).parent / "model_value.py"

# part1: the lecture's first half (its rubric's ops); micrograd: the engine the lecture ends
# with; full: every op the model has (the full rubric's ops and abs)
OP_SETS: dict[str, tuple[str, ...]] = {
    "part1": ("add", "mul", "tanh"),
    "micrograd": ("add", "radd", "sub", "rsub", "mul", "rmul", "neg", "truediv", "rtruediv", "pow",
                  "relu"),
    "full": ("add", "radd", "sub", "rsub", "mul", "rmul", "neg", "truediv", "rtruediv", "pow", "exp",
             "log", "tanh", "relu", "sigmoid", "abs"),
}


def model_source(ops: tuple[str, ...]) -> str:
    """The model Value without the methods of ops outside ``ops``."""
    tree = ast.parse(MODEL.read_text(encoding="utf-8"))
    kept = {method for op in OPS if op.name in ops for method in op.methods}
    dropped = {method for op in OPS for method in op.methods} - kept  # `__pow__` is pow and vpow
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            node.body = [s for s in node.body
                         if not (isinstance(s, ast.FunctionDef) and s.name in dropped)]
    return ast.unparse(tree) + "\n"


def build(into: Path = SHIPPED, progress=print) -> list[Path]:
    """Rebuild the shipped bundles into ``into`` (replacing what was there)."""
    from gradcheck.oracles.consensus import Consensus
    from gradcheck.runner import Options, check_path

    with tempfile.TemporaryDirectory(prefix="gradcheck-build-") as scratch:
        scratch = Path(scratch)
        store = CaseStore(scratch / "store", shipped=None)
        consensus = Consensus.default()
        for name, ops in OP_SETS.items():
            subject = scratch / f"{name}.py"
            subject.write_text(model_source(ops), encoding="utf-8")
            result = check_path(str(subject), Options(cases=store), consensus)
            supported = tuple(result.capabilities.get("ops", {}).get(op) for op in ops)
            if not result.passed or not all(supported):
                raise GradcheckError(f"the model subject for {name} did not pass: "
                                     f"{[f.code for f in result.findings]}")
            progress(f"{name}: {len(ops)} ops, {result.stats.get('oracle_agreed', 0)} answers")
        into.mkdir(parents=True, exist_ok=True)
        for old in into.glob("*" + SUFFIX):
            old.unlink()
        built = []
        for bundle in store.bundles():
            built.append(Path(shutil.copy2(bundle, into / bundle.name)))
        return built
