"""What verified fixes add to a check (issue 14): `gradcheck check seed_002.py` with and without
fixes, in the same run, the two interleaved round by round (this machine is shared and noisy: a
ratio of medians taken side by side means more than either time). With fixes, the failing file
is checked once more, patched; seed_002's three fixes all verify in that one extra check.

The ratio is printed and kept in the benchmark's ``extra_info``; no target is asserted."""

import statistics
import time

from gradcheck.fixes import check_with_fixes
from gradcheck.runner import Options, check_path

from conftest import REFERENCE

SUBJECT = str(REFERENCE / "seed_002.py")
ROUNDS = 5


def test_fixes_cost_against_the_same_check_without_them(benchmark, consensus):
    options = Options()
    plain: list[float] = []

    def plain_check_first():  # pytest-benchmark's setup: run before each round, not timed
        started = time.perf_counter()
        result = check_path(SUBJECT, options, consensus)
        plain.append(time.perf_counter() - started)
        assert result.verdict == "fail" and result.fixes == []

    result = benchmark.pedantic(check_with_fixes, args=(SUBJECT, options, consensus),
                                setup=plain_check_first, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert [f["verified"] for f in result.fixes] == [True, True, True]
    assert result.patch["verdict_after"] == "pass" and result.patch["checks_run"] == 1
    with_fixes = benchmark.stats.stats.median
    without = statistics.median(plain[-ROUNDS:])  # the warm-up round's setup ran too
    ratio = with_fixes / without
    benchmark.extra_info.update(without_fixes_median_s=round(without, 3), with_fixes_median_s=round(with_fixes, 3),
                                ratio=round(ratio, 2))
    print(f"\nseed_002.py: check {without:.2f} s, with verified fixes {with_fixes:.2f} s: {ratio:.2f}x")
