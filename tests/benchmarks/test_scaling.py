"""How a check's time grows: with a subject whose ops are slower, and with graph size up to a
10^5-node chain through gradcheck's own code (wire data, worker, protocol, reply parsing) --
which must never raise RecursionError; a subject's own recursive traversal still gets its
``recursion-limit`` finding at that depth."""

import pytest

from gradcheck.checks import robustness
from gradcheck.findings import DEATH_CODES
from gradcheck.runner import Options, check_path

from conftest import REFERENCE

SLOW_INIT = '''    def __init__(self, data, _children=(), _op="", label=""):
        for _ in range(300):  # busy work: every op builds a Value, so every op is slower
            pass
'''
TIMES: dict[str, float] = {}


@pytest.mark.parametrize("speed", ["normal", "slow"])
def test_check_time_with_slower_ops(benchmark, tmp_path, consensus, speed):
    source = (REFERENCE / "correct_full.py").read_text()
    if speed == "slow":
        source = source.replace('''    def __init__(self, data, _children=(), _op="", label=""):\n''', SLOW_INIT)
        assert "busy work" in source
    path = tmp_path / "subject.py"
    path.write_text(source)
    result = benchmark.pedantic(lambda: check_path(str(path), Options(), consensus), rounds=3,
                                iterations=1, warmup_rounds=1)
    assert result.passed
    TIMES[speed] = benchmark.stats.stats.mean


def test_slowdown_is_reported(request):
    if request.config.getoption("benchmark_skip"):
        pytest.skip("benchmarks skipped")
    print(f"\nslow ops: a check takes {TIMES['slow'] / TIMES['normal']:.2f}x as long")
    assert TIMES["slow"] > TIMES["normal"]


@pytest.mark.parametrize("subject, recursion_finding", [("correct_iterative.py", False),
                                                          ("correct_full.py", True)])
def test_a_chain_of_100000_nodes(benchmark, consensus, monkeypatch, subject, recursion_finding):
    monkeypatch.setattr(robustness, "DEPTH", 100_000)
    result = benchmark.pedantic(lambda: check_path(str(REFERENCE / subject), Options(), consensus),
                                rounds=1, iterations=1)
    findings = {f.code: f for f in result.findings}
    assert result.harness_error is None and not DEATH_CODES & findings.keys()
    assert result.passed
    if recursion_finding:
        assert findings["recursion-limit"].evidence["depth"] == 100_000
    else:
        assert "recursion-limit" not in findings
