"""Batch grading throughput: 50 submissions (correct, buggy and hostile) graded with -j 2 on
this machine, once with oracle answers shared across submissions and once without, in the same
run. Report submissions per minute for each and the speed-up from sharing."""

import pytest

from gradcheck.checks import CheckSettings
from gradcheck.grading.batch import find_submissions, grade
from gradcheck.runner import Options
from gradcheck.sandbox.limits import Limits

from conftest import REFERENCE
from subjects.hostile import CASES
from subjects.injectors import REGISTRY
from subjects.variants import VARIANTS

HOSTILE = ("loop-in-op", "memory-bomb-in-op", "fake-result-then-exit", "os-exit-in-backward")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    files = {p.name: p.read_text() for p in REFERENCE.iterdir() if p.suffix in (".py", ".ipynb")}
    files.update({f"inj_{i.name.replace('-', '_')}.py": i.source() for i in REGISTRY[:30]})
    files.update({f"ok_{name}.py": src for name, src in list(VARIANTS.items())[:6]})
    files.update({f"bad_{c.name.replace('-', '_')}.py": c.source(folder)
                  for c in CASES if c.name in HOSTILE})
    for name, text in files.items():
        (folder / name).write_text(text)
    subs = find_submissions([str(folder)])
    assert len(subs) >= 50
    return subs


OPTIONS = Options(settings=CheckSettings(), limits=Limits(request_timeout=5, statement_timeout=2))


@pytest.mark.parametrize("share", [True, False], ids=["shared", "unshared"])
def test_grade_class(benchmark, classroom, tmp_path, share):
    def run():
        out = tmp_path / f"out-{share}-{len(list(tmp_path.iterdir()))}"
        return grade(classroom, "part1", out, OPTIONS, jobs=2, share=share)

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(rows) == len(classroom)
    benchmark.extra_info["submissions"] = len(rows)
    benchmark.extra_info["submissions_per_minute"] = round(len(rows) / benchmark.stats.stats.mean * 60, 1)
