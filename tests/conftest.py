import atexit
import os
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from gradcheck.ops import OPS

ROOT = Path(__file__).resolve().parent.parent

# The tests never read or write the user's case store: each session gets an empty one (the
# bundles shipped with gradcheck are still read, as on a fresh install). Set here, before any
# test runs, so that every CLI run in a subprocess inherits it.
_CACHE = tempfile.mkdtemp(prefix="test-case-store-")
os.environ["GRADCHECK_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
REFERENCE = ROOT / "reference_impls"

settings.register_profile("ci", max_examples=200, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def manifest() -> list[dict]:
    return tomllib.loads((REFERENCE / "manifest.toml").read_text())["subject"]


def expected_codes(entry: dict) -> list[tuple[str, str | None]]:
    codes = [(f["code"], f.get("op")) for f in entry["findings"]]
    supported = entry["supported_ops"]
    unknown = set(supported) - {op.name for op in OPS}
    assert not unknown, f"{entry['path']}: supported_ops names ops not in the table: {unknown}"
    codes += [("unsupported-op", op.name) for op in OPS if op.name not in supported]
    return sorted(codes, key=lambda c: (c[0], c[1] or ""))


def actual_codes(result) -> list[tuple[str, str | None]]:
    return sorted(((f.code, f.op) for f in result.findings), key=lambda c: (c[0], c[1] or ""))


@pytest.fixture(scope="session")
def consensus():
    from gradcheck.oracles.consensus import Consensus

    return Consensus.default()
