"""The case store end to end: the shipped store is what a rebuild gives; a check served from it
imports neither torch nor sympy nor Hypothesis; and it changes no finding -- on every injector of
the registry the findings (with their minimal counterexamples) are the same with and without it."""

import json
import subprocess
import sys

import pytest

from gradcheck.case_store import SHIPPED, SUFFIX, CaseStore, read_bundle
from gradcheck.case_store.build import build
from gradcheck.checks import CheckSettings
from gradcheck.oracles.consensus import Consensus
from gradcheck.runner import Options, check_path

from conftest import REFERENCE
from subjects.injectors import REGISTRY


def test_the_shipped_store_equals_a_rebuild(tmp_path):
    built = build(tmp_path, progress=lambda line: None)
    shipped = sorted(SHIPPED.glob("*" + SUFFIX))
    assert len(built) == 3
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


@pytest.mark.parametrize("subject", ["correct_full.py", "seed_001.py"])
def test_a_first_check_on_a_fresh_install_is_warm_for_the_shipped_op_sets(subject, tmp_path):
    """correct_full has the `full` op set; seed_001's ops are part1's (it fails: its failure is
    what needs Hypothesis and the oracles, and only that)."""
    warm = _probe(REFERENCE / subject, str(tmp_path))
    cold = _probe(REFERENCE / subject, "-")
    assert warm["findings"] == cold["findings"]
    assert cold["imported"] == ["hypothesis", "sympy", "torch"]
    if warm["verdict"] == "pass":
        assert warm["imported"] == []
        assert not list(tmp_path.iterdir())  # nothing new to store
    else:
        assert "torch" in warm["imported"] and list(CaseStore(tmp_path).bundles())


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    """Every injector checked with a store (filled as the registry goes) and without one (its
    own consensus, nothing shared in memory): name -> (with, without) findings as JSON, and how
    many findings carry a counterexample."""
    folder = tmp_path_factory.mktemp("injected")
    store = CaseStore(tmp_path_factory.mktemp("store"), shipped=None)
    stored_consensus, bare_consensus = Consensus.default(), Consensus.default(share=False)
    stored = Options(cases=store)
    bare = Options(cases=None, settings=CheckSettings(share=False))
    out = {}
    for injector in REGISTRY:
        path = folder / f"{injector.name}.py"
        path.write_text(injector.source())
        runs = [check_path(str(path), options, consensus)
                for options, consensus in ((stored, stored_consensus), (bare, bare_consensus))]
        with_store, without = (sorted(json.dumps(f.to_json(), sort_keys=True) for f in r.findings)
                               for r in runs)
        cases = sum("case" in (f.evidence or {}) for f in runs[0].findings)
        out[injector.name] = (with_store, without, cases)
    return out


def test_the_store_changes_no_finding_and_no_counterexample(both_ways):
    differ = sorted(name for name, (with_store, without, _) in both_ways.items() if with_store != without)
    shrunk = sum(cases > 0 for _, _, cases in both_ways.values())
    assert len(both_ways) == len(REGISTRY)
    assert shrunk >= 10  # the registry does exercise shrinking (counterexamples in evidence)
    assert not differ, f"{len(differ)}/{len(both_ways)} injectors differ: {differ}"
