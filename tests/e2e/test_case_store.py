"""The case store end to end: the shipped store is what a rebuild gives, and a check served from
it imports neither torch nor sympy nor Hypothesis and finds what a check without it finds. (That
the store changes no counterexample across the injector registry is tested in test_injectors.)"""

import json
import subprocess
import sys

import pytest

from gradcheck.case_store import SHIPPED, SUFFIX, read_bundle
from gradcheck.case_store.build import OP_SETS, build, model_source

from conftest import REFERENCE


def test_the_shipped_store_equals_a_rebuild(tmp_path):
    built = build(tmp_path, progress=lambda line: None)
    shipped = sorted(SHIPPED.glob("*" + SUFFIX))
    assert len(built) == len(OP_SETS)
    assert sorted(p.name for p in built) == [p.name for p in shipped], (
        "the shipped case store is stale: run `gradcheck cache build`")
    for path in shipped:
        assert read_bundle(path).to_json() == read_bundle(tmp_path / path.name).to_json()


# A check in a fresh process, reporting what it imported; the cache dir starts empty, so
# whatever it does not compute comes from the shipped store.
PROBE = """
import json, sys
from pathlib import Path
from gradcheck.case_store import CaseStore
from gradcheck.runner import Options, check_path
store = CaseStore(Path(sys.argv[2])) if sys.argv[2] != "-" else None
result = check_path(sys.argv[1], Options(cases=store))
print(json.dumps({"verdict": result.verdict,
                  "findings": [[f.code, f.op, f.severity] for f in result.findings],
                  "imported": sorted(m for m in ("torch", "sympy", "hypothesis")
                                     if m in sys.modules)}))
"""


def _probe(subject, cache: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(subject), cache], capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


def test_a_first_check_on_a_fresh_install_is_warm_and_finds_the_same(tmp_path):
    """correct_full has the shipped `full` op set: from an empty cache dir nothing is computed,
    nothing imported, nothing written -- and the findings are those of a check without a store."""
    warm = _probe(REFERENCE / "correct_full.py", str(tmp_path))
    cold = _probe(REFERENCE / "correct_full.py", "-")
    assert warm["verdict"] == "pass" and warm["findings"] == cold["findings"]
    assert cold["imported"] == ["hypothesis", "sympy", "torch"]
    assert warm["imported"] == []
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("op_set", sorted(OP_SETS))
def test_every_shipped_op_set_is_warm(op_set, tmp_path):
    subject = tmp_path / f"{op_set}.py"
    subject.write_text(model_source(OP_SETS[op_set]))
    probe = _probe(subject, str(tmp_path / "cache"))
    assert probe["verdict"] == "pass" and probe["imported"] == []
