import json
import subprocess
import sys

from gradcheck.cli import main

from conftest import REFERENCE


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "gradcheck", *args], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_json_contract_and_exit_code_for_a_failing_subject():
    code, out, _ = run_cli("check", str(REFERENCE / "seed_003.py"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) >= {"subject", "verdict", "findings", "capabilities"}
    assert doc["verdict"] == "fail"
    for f in doc["findings"]:
        assert set(f) >= {"code", "op", "severity", "message", "location", "evidence"}


def test_passing_subject_exits_zero_and_prints_a_summary():
    code, out, _ = run_cli("check", str(REFERENCE / "correct_iterative.py"))
    assert code == 0
    assert "PASS" in out and "1 of 1 passed" in out


def test_several_paths_give_a_list(tmp_path):
    code, out, _ = run_cli("check", str(REFERENCE / "correct_iterative.py"), str(REFERENCE / "seed_000.py"),
                           "--format", "json", "--examples", "20")
    docs = json.loads(out)
    assert [d["verdict"] for d in docs] == ["pass", "fail"] and code == 1


def test_missing_path_is_a_load_error_not_a_traceback(tmp_path):
    code, out, err = run_cli("check", str(tmp_path / "nope.py"), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["findings"][0]["code"] == "load-error"
    assert "no such file" in doc["findings"][0]["message"] and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    assert main(["check"]) == 2
    assert main(["check", "x.py", "--examples", "0"]) == 2
    assert "must be greater than zero" in capsys.readouterr().err


def test_unknown_class_is_a_load_error():
    code, out, _ = run_cli("check", str(REFERENCE / "seed_002.py"), "--class", "Tensor", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["findings"][0]["code"] == "load-error"
    assert "no class named 'Tensor'" in doc["findings"][0]["message"]


def test_backward_option_names_the_method():
    code, out, _ = run_cli("check", str(REFERENCE / "correct_iterative.py"), "--backward", "backprop",
                           "--format", "json", "--examples", "20")
    assert code == 0 and json.loads(out)["capabilities"]["backward"] == "backprop"
    code, out, _ = run_cli("check", str(REFERENCE / "correct_iterative.py"), "--backward", "run", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and "--backward run: Scalar has no method of that name" in doc["findings"][0]["message"]


def test_html_reports_are_written(tmp_path):
    code, _, err = run_cli("check", str(REFERENCE / "seed_004.py"), "--html", str(tmp_path / "r"), "--examples", "20")
    assert code == 1
    assert (tmp_path / "r" / "index.html").exists() and "reports:" in err


SYSTEM_PYTHON = "/usr/bin/python3"


def test_submission_runs_under_another_interpreter():
    import os

    import pytest

    if not os.path.exists(SYSTEM_PYTHON) or os.path.realpath(SYSTEM_PYTHON) == os.path.realpath(sys.executable):
        pytest.skip("no second interpreter on this machine")
    code, out, _ = run_cli("check", str(REFERENCE / "correct_iterative.py"), "--python", SYSTEM_PYTHON,
                           "--format", "json", "--examples", "20")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "pass"
    code, out, err = run_cli("check", str(REFERENCE / "correct_iterative.py"), "--python", "/nonexistent/python")
    assert code == 2 and "cannot start the worker" in err
