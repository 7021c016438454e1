"""`pytest --gradcheck PATH`: the plugin as a course runs it, in a pytest process of its own.

Each subject is run once per module (the fixtures below), from a folder of its own, next to
the course-repo example's instructor tests (fixture and marker), with the default number of
generated cases: at `--gradcheck-examples 20` two of correct_full's end-to-end items are "not
judged" (skipped), so the exact items depend on it there; it costs about two seconds.
"""

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gradcheck.ops import OPS

from conftest import REFERENCE, manifest

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTOR_TESTS = ROOT / "examples" / "course-repo" / "tests" / "test_instructor.py"
CHECKS = ("forward", "local_rule", "end_to_end")
SHARED_NODE_TEST = "test_a_value_used_twice_collects_both_gradients"
TANH_TEST = "test_tanh_saturates_without_overflow"


def run_pytest(work: Path, subject: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """pytest --gradcheck in ``work``; the process and {(classname, name): testcase element}."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                           "--gradcheck", subject, "--junitxml", "junit.xml", *args],
                          cwd=work, capture_output=True, text=True, timeout=600)
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(work / "junit.xml").iter("testcase")}
    return proc, cases


def outcome(case: ET.Element) -> str:
    return next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")


def gradcheck_outcomes(cases: dict) -> dict[str, str]:
    """Node id -> outcome for gradcheck's items (pytest names them classname.name)."""
    return {"::".join([*classname.split("."), name]): outcome(case)
            for (classname, name), case in cases.items() if classname.split(".")[0] == "gradcheck"}


def instructor_case(cases: dict, name: str) -> ET.Element:
    return next(case for (classname, n), case in cases.items() if n == name and "test_instructor" in classname)


def subject_folder(tmp_path_factory, name: str) -> Path:
    work = tmp_path_factory.mktemp(name.replace(".", "_"))
    shutil.copy(REFERENCE / name, work / name)
    (work / "tests").mkdir()
    shutil.copy(INSTRUCTOR_TESTS, work / "tests" / INSTRUCTOR_TESTS.name)
    return work


@pytest.fixture(scope="module")
def seed_002(tmp_path_factory):
    work = subject_folder(tmp_path_factory, "seed_002.py")
    proc, cases = run_pytest(work, "seed_002.py", "tests")
    return work, proc, cases


@pytest.fixture(scope="module")
def correct_full(tmp_path_factory):
    work = subject_folder(tmp_path_factory, "correct_full.py")
    proc, cases = run_pytest(work, "correct_full.py", "tests")
    return work, proc, cases


def test_the_plugin_ships_as_a_pytest11_entry_point():
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("gradcheck") == "gradcheck.pytest_plugin.plugin"


def test_seed_002_fails_exactly_its_manifest_defects(seed_002):
    _, proc, cases = seed_002
    items = gradcheck_outcomes(cases)
    entry = next(e for e in manifest() if e["path"] == "seed_002.py")
    defects = {f"gradcheck::{f['op']}::local_rule" for f in entry["findings"] if f.get("op")}
    assert defects == {"gradcheck::add::local_rule", "gradcheck::mul::local_rule",
                       "gradcheck::sub::local_rule"}
    assert {item for item, o in items.items() if o == "failure"} == defects
    absent = {f"gradcheck::{op.name}::{check}" for op in OPS if op.name not in entry["supported_ops"]
              for check in CHECKS}
    assert absent <= {item for item, o in items.items() if o == "skipped"}
    passed = {item for item, o in items.items() if o == "passed"}
    assert {"gradcheck::traversal", "gradcheck::other_findings", "gradcheck::add::forward",
            "gradcheck::mul::forward", "gradcheck::sub::forward"} <= passed
    assert len(items) == len(OPS) * len(CHECKS) + 2  # every op of the table, traversal, other findings
    assert proc.returncode == 1


def test_a_failure_shows_the_finding_not_a_traceback(seed_002):
    work, _, cases = seed_002
    source = (work / "seed_002.py").read_text().splitlines()
    for op in ("add", "mul", "sub"):
        text = cases[(f"gradcheck.{op}", "local_rule")].find("failure").text
        code = "grad-not-propagated" if op == "sub" else "grad-overwrite"
        assert f"{code} ({op}):" in text
        # "N: <the line>" quotes line N of the subject as it is in the file
        line, quoted = re.search(r"^  (\d+): (.+)$", text, re.M).groups()
        assert source[int(line) - 1].strip() == quoted and f"seed_002.py, line {line}" in text
        assert "reproduce it:" in text and "_backward()" in text  # the snippet
        assert "Traceback" not in text and "pytest_plugin" not in text


def test_one_check_per_session(seed_002):
    _, proc, _ = seed_002
    assert len(re.findall(r"^gradcheck: checked ", proc.stdout, re.M)) == 1


def test_the_instructors_tests_run_against_the_same_subject(seed_002):
    _, _, cases = seed_002
    shared = instructor_case(cases, SHARED_NODE_TEST)  # grad-overwrite loses a's first gradient
    assert outcome(shared) == "failure" and "-3.0" in shared.find("failure").get("message")
    tanh = instructor_case(cases, TANH_TEST)  # seed_002 has no tanh: the marker skips it
    assert outcome(tanh) == "skipped" and "tanh" in tanh.find("skipped").get("message")
    points = {p.get("name"): p.get("value") for p in shared.iter("property")}
    assert points == {"points": "2"}


def test_correct_full_passes_every_item(correct_full):
    _, proc, cases = correct_full
    items = gradcheck_outcomes(cases)
    entry = next(e for e in manifest() if e["path"] == "correct_full.py")
    absent = {f"gradcheck::{op.name}::{check}" for op in OPS if op.name not in entry["supported_ops"]
              for check in CHECKS}  # an op added to the table after correct_full was written
    assert {item for item, o in items.items() if o != "passed"} == absent
    assert all(items[item] == "skipped" for item in absent)
    assert len(items) == len(OPS) * len(CHECKS) + 2
    assert outcome(instructor_case(cases, SHARED_NODE_TEST)) == "passed"
    assert outcome(instructor_case(cases, TANH_TEST)) == "passed"
    assert proc.returncode == 0, proc.stdout
