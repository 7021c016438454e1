"""Verified fixes end to end (issue 14), worker included: `gradcheck check --fixes --patch` on the
seeds, the written patch applied to a copy, and the copy checked again on its own. Few examples
per search (the fixes are verified with the same settings as the check they repair)."""

import contextlib
import io
import json
import shutil
import subprocess

import pytest

from gradcheck.checks import CheckSettings
from gradcheck.cli import main
from gradcheck.fixes import check_with_fixes
from gradcheck.runner import Options, check_path

from conftest import REFERENCE

FEW = ["--examples", "20"]
OPTIONS = Options(settings=CheckSettings(examples=20))


def run_check(capsys, *args):
    code = main(["check", *args, "--format", "json", "--fixes", *FEW])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@pytest.fixture(scope="module")
def seed_002(tmp_path_factory):
    """seed_002.py copied, checked with --patch (one check shared by the tests below; capsys is
    per test, so the output is captured here); (folder, exit code, JSON document, stderr)."""
    folder = tmp_path_factory.mktemp("seed_002")
    shutil.copy(REFERENCE / "seed_002.py", folder / "seed_002.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "seed_002.py", "--format", "json", "--patch", "fix.diff", *FEW])
    return folder, code, json.loads(out.getvalue()), err.getvalue()


def test_seed_002_gets_verified_fixes_for_add_mul_and_sub(seed_002):
    _, code, doc, _ = seed_002
    assert code == 1 and doc["verdict"] == "fail"
    fixes = {(f["code"], f["op"]): f["fix"] for f in doc["findings"] if f["severity"] == "error"}
    assert set(fixes) == {("grad-overwrite", "add"), ("grad-overwrite", "mul"), ("grad-not-propagated", "sub")}
    for (code_, op), fix in fixes.items():
        assert fix["verified"], (code_, op)
        assert fix["checks_after"] == {"forward": "pass", "local rule": "pass", "end-to-end": "pass"}
    assert "+            self.grad += 1.0 * result.grad\n" in fixes[("grad-overwrite", "add")]["diff"]
    assert "+            other.grad += self.data * result.grad\n" in fixes[("grad-overwrite", "mul")]["diff"]
    sub = fixes[("grad-not-propagated", "sub")]
    assert sub["rewrite"] and "+        result._backward = _backward\n" in sub["diff"]
    assert doc["patch"]["verdict_after"] == "pass"


def test_the_written_patch_makes_a_copy_pass_every_check(seed_002):
    folder, _, doc, err = seed_002
    assert "3 verified fix(es)" in err and "passes every check" in err
    assert (folder / "fix.diff").read_text() == doc["patch"]["diff"]
    if shutil.which("git") is None:
        pytest.skip("git apply is needed to apply the patch")
    subprocess.run(["git", "apply", "fix.diff"], cwd=folder, check=True)
    result = check_path(str(folder / "seed_002.py"), OPTIONS)
    assert result.verdict == "pass", [(f.code, f.op) for f in result.findings if f.severity == "error"]


def test_a_seed_notebook_gets_a_patched_copy_with_only_the_edited_cell_changed(tmp_path, capsys):
    original = REFERENCE / "seed_001.ipynb"
    code, doc, err = run_check(capsys, str(original), "--patch", str(tmp_path / "fixed.ipynb"))
    assert code == 1
    fixes = {(f["code"], f["op"]): f["fix"] for f in doc["findings"] if f["severity"] == "error"}
    assert set(fixes) == {("missing-chain-factor", "tanh"), ("topo-revisit", None)}
    assert all(fix["verified"] for fix in fixes.values())
    assert "(cell 3)" in fixes[("topo-revisit", None)]["diff"]
    before = json.loads(original.read_text())
    after = json.loads((tmp_path / "fixed.ipynb").read_text())
    changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=True), 1) if a != b]
    assert changed == [3]
    result = check_path(str(tmp_path / "fixed.ipynb"), OPTIONS)
    assert result.verdict == "pass", [(f.code, f.op) for f in result.findings if f.severity == "error"]


def test_a_correct_implementation_gets_no_fix_and_no_second_check(tmp_path):
    result = check_with_fixes(str(REFERENCE / "correct_full.py"), OPTIONS)
    assert result.verdict == "pass" and result.fixes == [] and result.patch is None
    assert "patch" not in result.to_json()


def test_the_python_api_gives_verified_fixes_only_when_asked():
    import inspect

    import gradcheck

    assert inspect.signature(gradcheck.check).parameters["fixes"].default is False
    result = gradcheck.check(REFERENCE / "seed_003.py", examples=20, fixes=True)
    (fix,) = result.fixes
    assert (fix["code"], fix["op"], fix["verified"]) == ("grad-overwrite", "exp", True)
    assert result.patch["verdict_after"] == "pass" and "+= " in fix["diff"]


def test_grading_feedback_has_verified_fixes_when_the_rubric_shows_them(tmp_path):
    """One buggy submission, one job (the default, off, is tested on the rubric itself in
    test_fixes_proposals.py)."""
    shutil.copy(REFERENCE / "seed_003.py", tmp_path / "seed_003.py")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('required_ops = ["add", "mul", "tanh"]\nshow_fixes = true\n'
                      "[points]\nforward = 1\nlocal_rule = 2\nend_to_end = 1\ntraversal = 4\n")
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["grade", str(tmp_path / "seed_003.py"), "--rubric", str(rubric), "--out", str(out), "-j", "1", *FEW])
    doc = json.loads((out / "seed_003" / "result.json").read_text())["result"]
    (finding,) = [f for f in doc["findings"] if f["severity"] == "error"]
    assert (finding["code"], finding["op"]) == ("grad-overwrite", "exp")
    assert finding["fix"]["verified"] and doc["patch"]["verdict_after"] == "pass"
    feedback = (out / "seed_003" / "feedback.html").read_text()
    assert 'class="fix-diff"' in feedback and 'all checks for <span class="code">exp</span> pass' in feedback
