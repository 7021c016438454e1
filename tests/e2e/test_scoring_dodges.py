"""Dodging the score instead of earning it: a probe the subject will not let run, and a seed
the instructor keeps secret from what students see."""

import os
import subprocess
import sys

import pytest

from gradcheck.cli import build_parser
from gradcheck.coverage import FAIL, PASS
from gradcheck.grading.rubric import load_rubric
from gradcheck.runner import Options, check_path

from subjects.dodges import GUARDED_GRAD, OFF_GRID

SECRET = 8675309192837465


def test_a_probe_the_subject_will_not_let_run_scores_as_failed(tmp_path, consensus):
    path = tmp_path / "guarded.py"
    path.write_text(GUARDED_GRAD)
    result = check_path(str(path), Options(), consensus)
    for op in ("add", "mul", "tanh"):
        state, why = result.coverage[op]["local rule"]
        assert state == FAIL and why, op
        assert result.coverage[op]["end-to-end"][0] == PASS, op  # what it computes is right
    score = load_rubric("part1").score(result)
    rules = [i for i in score.items if i.name.endswith("local rule")]
    assert len(rules) == 3 and all(i.score == 0 for i in rules)
    assert score.total == score.max_score - sum(i.max_score for i in rules)


def test_the_seed_can_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    seed_file = tmp_path / "seed"
    seed_file.write_text(f"{SECRET}\n")
    monkeypatch.delenv("GRADCHECK_SEED", raising=False)
    assert build_parser().parse_args(["check", "x"]).seed is None
    assert build_parser().parse_args(["check", "x", "--seed-file", str(seed_file)]).seed == SECRET
    monkeypatch.setenv("GRADCHECK_SEED", str(SECRET))
    assert build_parser().parse_args(["grade", "x", "--rubric", "part1", "--out", "o"]).seed == SECRET
    assert build_parser().parse_args(["check", "x", "--seed", "3"]).seed == 3  # explicit wins


def test_a_malformed_seed_is_a_usage_error_that_does_not_repeat_it(tmp_path):
    env = dict(os.environ, GRADCHECK_SEED=f"{SECRET}x")
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "check", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "seed" in proc.stderr
    assert str(SECRET) not in proc.stderr + proc.stdout


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_secret_seed_never_reaches_what_students_see(how, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "off_grid.py").write_text(OFF_GRID)  # fails: a counterexample is shown
    env = {k: v for k, v in os.environ.items() if k != "GRADCHECK_SEED"}
    args = [sys.executable, "-m", "gradcheck", "grade", str(folder / "off_grid.py"), "--rubric",
            "part1", "--out", str(tmp_path / "out"), "--examples", "30"]
    if how == "file":
        (tmp_path / "seed").write_text(str(SECRET))
        args += ["--seed-file", str(tmp_path / "seed")]
    else:
        env["GRADCHECK_SEED"] = str(SECRET)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    shown = [tmp_path / "out" / "off_grid" / name for name in ("results.json", "feedback.html")]
    for page in shown:
        text = page.read_text()
        assert "tanh" in text, page  # the finding is there ...
        assert str(SECRET) not in text and hex(SECRET)[2:] not in text, page  # ... the seed is not
