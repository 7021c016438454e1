"""Grading as an instructor runs it: rubrics, gradebooks, Gradescope results, resuming."""

import csv
import json
import shutil
import subprocess
import sys

import pytest

from gradcheck.errors import UsageError
from gradcheck.grading.rubric import load_rubric

from conftest import REFERENCE
from subjects.hostile import CASES

# What each reference implementation earns, worked out by hand from its known defects:
#   part1 = 3 ops (add, mul, tanh) x (forward 1 + local rule 2 + end-to-end 1) + traversal 4 = 16
#   full  = 15 ops x 4 + traversal 5 = 65
EXPECTED = {
    # part1, full
    "correct_full": (16, 65), "correct_iterative": (16, 65), "correct_tape": (16, 65),
    # forward of + and * only; no tanh; no gradients, so nothing else
    "seed_000": (2, 2),
    # + and * perfect (8); tanh forward only (missing out.grad); traversal revisits (0)
    "seed_001.py": (9, 9), "seed_001.ipynb": (9, 9),
    # forward of +, -, * (3 in full, 2 in part1); every rule broken; traversal fine (4 / 5)
    "seed_002": (6, 8),
    # part1's items all pass, but exp's overwrite (not scored by part1) fails the verdict, and a
    # failing verdict never carries full marks: 16 less the smallest item (1);
    # full: 9 ops implemented (36) less exp's rule and end-to-end (3), traversal 5
    "seed_003.py": (15, 38), "seed_003.ipynb": (15, 38),
    # forward of +, *, tanh; rules all overwrite; no backward()
    "seed_004": (3, 3),
}


def gradebook(path):
    with open(path, newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def run_grade(*args):
    return subprocess.run([sys.executable, "-m", "gradcheck", "grade", *map(str, args)],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def mixed_class(tmp_path_factory):
    """Reference implementations plus two hostile submissions, as a class folder."""
    folder = tmp_path_factory.mktemp("class")
    for f in REFERENCE.iterdir():
        if f.suffix in (".py", ".ipynb"):
            shutil.copy(f, folder / f.name)
    for case in CASES:
        if case.name in ("loop-in-op", "fake-result-then-exit"):
            (folder / f"hostile_{case.name.replace('-', '_')}.py").write_text(case.source(folder))
    return folder


@pytest.fixture(scope="module")
def graded(mixed_class, tmp_path_factory):
    outs = {}
    for jobs in (1, 2):
        out = tmp_path_factory.mktemp(f"out{jobs}")
        proc = run_grade(mixed_class, "--rubric", "part1", "--out", out, "-j", jobs, "--timeout", "5")
        assert proc.returncode == 0, proc.stderr
        outs[jobs] = out
    return outs


# Every submission of ``mixed_class`` by its id in the gradebook and its folder in --out.
SUBMISSIONS = set(EXPECTED) | {"hostile_loop_in_op", "hostile_fake_result_then_exit"}
PER_SUBMISSION = ("result.json", "results.json", "feedback.html")


def written(out, name):
    """Each submission's ``name`` file in ``out``, after checking that every submission has one
    and nothing else does (a loop over an empty glob would pass without looking at anything)."""
    found = {p.parent.name: p for p in out.glob(f"*/{name}")}
    missing, extra = SUBMISSIONS - set(found), set(found) - SUBMISSIONS
    assert not missing and not extra, f"{name}: missing for {missing}, unexpected for {extra}"
    return found


def test_every_submission_has_its_files(graded):
    for jobs, out in graded.items():
        for name in PER_SUBMISSION:
            for sid, path in written(out, name).items():
                assert path.stat().st_size > 0, (jobs, sid, name)
        assert set(gradebook(out / "gradebook.csv")) == SUBMISSIONS


def test_same_gradebook_with_one_or_two_jobs(graded):
    assert (graded[1] / "gradebook.csv").read_text() == (graded[2] / "gradebook.csv").read_text()


def test_scores_are_what_the_findings_warrant(graded, mixed_class, tmp_path):
    book = gradebook(graded[1] / "gradebook.csv")
    for sid, (part1, _) in EXPECTED.items():
        assert float(book[sid]["total"]) == part1, sid
        assert float(book[sid]["max"]) == 16
    assert float(book["hostile_loop_in_op"]["tanh: forward"]) == 0  # hangs in tanh
    assert float(book["hostile_fake_result_then_exit"]["mul: local rule"]) == 0
    out = tmp_path / "full"
    assert run_grade(*[mixed_class / f"{s}.py" if not s.endswith((".py", ".ipynb")) else mixed_class / s
                       for s in EXPECTED], "--rubric", "full", "--out", out, "-j", "2").returncode == 0
    full = gradebook(out / "gradebook.csv")
    for sid, (_, expected) in EXPECTED.items():
        assert float(full[sid]["total"]) == expected, sid
        assert float(full[sid]["max"]) == 65


def test_gradescope_results_follow_the_documented_fields(graded):
    top_fields = {"score", "execution_time", "output", "output_format", "visibility", "stdout_visibility",
                  "extra_data", "tests", "leaderboard", "test_output_format", "test_name_format"}
    test_fields = {"score", "max_score", "status", "name", "name_format", "number", "output",
                   "output_format", "tags", "visibility", "extra_data"}
    visibilities = {"hidden", "after_due_date", "after_published", "visible"}
    formats = {"text", "html", "simple_format", "md", "ansi"}
    for results in written(graded[1], "results.json").values():
        doc = json.loads(results.read_text())
        assert set(doc) <= top_fields and {"score", "tests"} <= set(doc)
        assert isinstance(doc["score"], int | float) and isinstance(doc["execution_time"], int | float)
        assert doc["visibility"] in visibilities and doc["output_format"] in formats
        assert doc["tests"], results
        for t in doc["tests"]:
            assert set(t) <= test_fields and {"name", "score", "max_score", "status"} <= set(t)
            assert t["status"] in ("passed", "failed") and t["visibility"] in visibilities
            assert t["output_format"] in formats and 0 <= t["score"] <= t["max_score"]
        # the total is the items' sum, less the cap on a failing verdict (never more); a
        # passing submission gets exactly the sum
        items = sum(t["score"] for t in doc["tests"])
        assert doc["score"] <= items + 1e-9
        if results.parent.name == "correct_full":
            assert doc["score"] == pytest.approx(items) == 16


def test_outputs_exist_per_submission_and_for_the_class(graded):
    out = graded[2]
    for sub in ("correct_full", "seed_002", "hostile_loop_in_op"):
        assert (out / sub / "feedback.html").read_text().startswith("<!DOCTYPE html>")
    junit = (out / "junit.xml").read_text()
    assert junit.count("<testsuite ") == 12 and "<failure" in junit
    summary = json.loads((out / "summary.json").read_text())
    # full marks: the three correct references only (seed_003 passes part1's items but fails)
    assert summary["submissions"] == 12 and summary["full_marks"] == 3
    assert summary["most_common_findings"] and summary["ops_wrong_most"]
    assert "Score distribution" in (out / "summary.html").read_text()


def test_regrading_skips_what_is_already_graded(graded, mixed_class):
    out = graded[1]
    before = {sid: p.stat().st_mtime_ns for sid, p in written(out, "result.json").items()}
    proc = run_grade(mixed_class, "--rubric", "part1", "--out", out, "--timeout", "5")  # as graded
    assert proc.returncode == 0
    assert {sid: p.stat().st_mtime_ns for sid, p in written(out, "result.json").items()} == before


def test_gradescope_command(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(REFERENCE / "seed_004.py", submission / "micrograd.py")
    results = tmp_path / "results" / "results.json"
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "gradescope", "--submission", submission,
                           "--results", results], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(results.read_text())
    assert doc["score"] == 3 and "no-backward" in doc["output"]


@pytest.mark.parametrize("text, problem", [
    ('required_ops = ["add"]\nbonus = 1\n', "bonus is not a rubric key"),
    ('required_ops = ["add", "max"]\n', "required_ops names 'max', which is not an op"),
    ('required_ops = ["add"]\n[points]\nforward = -1\n', "points.forward must be a number >= 0"),
    ('required_ops = ["add"]\n[points]\nspeed = 1\n', "points.speed is not a check"),
    ('required_ops = ["add"]\n[deductions]\nslow = 1\n', "deductions.slow is not a finding code"),
    ('required_ops = []\n', "required_ops must name at least one op"),
    ('required_ops = ["add"\n', "not valid TOML"),
])
def test_invalid_rubrics_name_the_key(tmp_path, text, problem):
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=problem):
        load_rubric(str(path))


def test_bad_rubric_stops_before_grading(tmp_path):
    proc = run_grade(REFERENCE / "seed_004.py", "--rubric", tmp_path / "none.toml", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "no such file" in proc.stderr and not (tmp_path / "o").exists()


def test_saved_results_read_back_unchanged(graded):
    from gradcheck.result import Result

    for saved in written(graded[1], "result.json").values():
        doc = json.loads(saved.read_text())["result"]
        assert json.loads(json.dumps(Result.from_json(doc).to_json())) == doc  # as saved: tuples are lists
