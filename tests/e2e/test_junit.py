"""`gradcheck check --junit` / `--format junit`: the JUnit XML has the structure the common JUnit
schema requires (checked element by element with an XML parser, not by string matching), and
names the same items with the same outcomes as `pytest --gradcheck ... --junitxml`.

Two subjects are checked once by the CLI and once by the plugin (``-k "not rmul"``, so that
selection is tested too), in this module's fixture, with
the default number of generated cases (seed_002 generates none: each op it has already has a
defect of its own, so its end-to-end cells are skipped).
"""

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from gradcheck.cli import main
from gradcheck.grading.outputs import junit_xml
from gradcheck.grading.rubric import load_rubric
from gradcheck.ops import OPS
from gradcheck.result import Result

from conftest import REFERENCE, manifest

OUTCOME_TAGS = ("failure", "error", "skipped")
CASE_CHILDREN = {"properties", *OUTCOME_TAGS, "system-out", "system-err"}
SUITE_CHILDREN = {"properties", "testcase", "system-out", "system-err"}


def outcome(case: ET.Element) -> str:
    found = [child.tag for child in case if child.tag in OUTCOME_TAGS]
    return found[0] if found else "passed"


def outcomes(root: ET.Element) -> dict[tuple[str, str], str]:
    return {(c.get("classname"), c.get("name")): outcome(c) for c in root.iter("testcase")}


def schema_problems(root: ET.Element) -> list[str]:
    """What breaks the common JUnit XML schema's structure (Jenkins' junit-10.xsd, which GitHub,
    GitLab and most CI readers follow): testsuites > testsuite > testcase, required attributes,
    counts that agree with the children, one outcome per case with its message."""
    problems = []

    def number(element, attr, kind=int):
        try:
            return kind(element.get(attr))
        except (TypeError, ValueError):
            problems.append(f"<{element.tag} name={element.get('name')!r}> {attr}={element.get(attr)!r}")
            return None

    if root.tag != "testsuites":
        return [f"root is <{root.tag}>, not <testsuites>"]
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root:
        if suite.tag != "testsuite":
            problems.append(f"<{suite.tag}> inside <testsuites>")
            continue
        if not suite.get("name"):
            problems.append("a testsuite without a name")
        cases = suite.findall("testcase")
        counted = {"tests": len(cases), "failures": sum(outcome(c) == "failure" for c in cases),
                   "errors": sum(outcome(c) == "error" for c in cases),
                   "skipped": sum(outcome(c) == "skipped" for c in cases)}
        for attr, expected in counted.items():
            if number(suite, attr) != expected:
                problems.append(f"testsuite {suite.get('name')!r}: {attr}={suite.get(attr)} "
                                f"but its cases say {expected}")
            totals[attr] += expected
        number(suite, "time", float)
        problems += [f"<{c.tag}> inside <testsuite>" for c in suite if c.tag not in SUITE_CHILDREN]
        for case in cases:
            label = f"testcase {case.get('classname')}::{case.get('name')}"
            if not case.get("name") or not case.get("classname"):
                problems.append(f"{label}: name and classname are required")
            if any("\n" in (case.get(a) or "") for a in ("name", "classname")):
                problems.append(f"{label}: a newline in its name")
            number(case, "time", float)
            problems += [f"{label}: <{c.tag}> child" for c in case if c.tag not in CASE_CHILDREN]
            results = [c for c in case if c.tag in OUTCOME_TAGS]
            if len(results) > 1:
                problems.append(f"{label}: {len(results)} outcomes")
            for result in results:
                if result.tag != "skipped" and not (result.get("message") and result.get("type")):
                    problems.append(f"{label}: <{result.tag}> without message and type")
    for attr, expected in totals.items():
        if root.get(attr) is not None and number(root, attr) != expected:
            problems.append(f"testsuites: {attr}={root.get(attr)} but its suites say {expected}")
    return problems


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """seed_002 (failing, skipped and passing items) and a file that does not load, checked
    together by the CLI (JUnit and JSON at once) and by the plugin (--junitxml), from a folder
    of their own so that pytest's rootdir and collection are theirs alone."""
    work = tmp_path_factory.mktemp("junit")
    shutil.copy(REFERENCE / "seed_002.py", work / "seed_002.py")
    (work / "broken.py").write_text("class Value:\n    def __init__(self, data)\n        self.data = data\n")
    cli = subprocess.run([sys.executable, "-m", "gradcheck", "check", "seed_002.py", "broken.py",
                          "--junit", "cli.xml", "--format", "json"],
                         cwd=work, capture_output=True, text=True, timeout=600)
    plugin = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "--gradcheck", "seed_002.py", "--gradcheck", "broken.py",
                             "--junitxml", "plugin.xml", "-k", "not rmul"],
                            cwd=work, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 1, cli.stderr
    assert plugin.returncode == 1, plugin.stdout + plugin.stderr
    return {"cli": ET.parse(work / "cli.xml").getroot(), "plugin": ET.parse(work / "plugin.xml").getroot(),
            "results": [Result.from_json(doc) for doc in json.loads(cli.stdout)],
            "plugin_output": plugin.stdout}


def test_check_junit_follows_the_schema(checked):
    assert schema_problems(checked["cli"]) == []
    suites = checked["cli"].findall("testsuite")
    assert [s.get("name").split()[0] for s in suites] == ["seed_002.py", "broken.py"]
    failed = [c for c in checked["cli"].iter("testcase") if outcome(c) == "failure"]
    assert failed and all(c.find("failure").get("type") for c in failed)


def test_cli_and_plugin_give_the_same_items_and_outcomes(checked):
    """The plugin ran with ``-k "not rmul"``: every item but rmul's, each as the CLI has it."""
    cli, plugin = outcomes(checked["cli"]), outcomes(checked["plugin"])
    deselected = {item for item in cli if item[0].endswith(".rmul")}
    assert len(deselected) == 3 and plugin == {k: v for k, v in cli.items() if k not in deselected}
    entry = next(e for e in manifest() if e["path"] == "seed_002.py")
    seed = "gradcheck.seed_002.py."  # several subjects: each one's path below `gradcheck`
    rule_defects = {(seed + f["op"], "local_rule") for f in entry["findings"] if f.get("op")}
    failed = {item for item, o in cli.items() if o == "failure"}
    assert failed == rule_defects | {("gradcheck.broken.py", "load")}
    absent = {(seed + op.name, check) for op in OPS if op.name not in entry["supported_ops"]
              for check in ("forward", "local_rule", "end_to_end")}
    assert absent <= {item for item, o in cli.items() if o == "skipped"}
    assert cli[("gradcheck.seed_002.py", "traversal")] == "passed"
    assert cli[("gradcheck.seed_002.py", "other_findings")] == "passed"


def test_each_subject_is_checked_once_whatever_is_selected(checked):
    checks = re.findall(r"^gradcheck: checked (\S+)", checked["plugin_output"], re.M)
    assert checks == ["seed_002.py", "broken.py"]


def test_a_subject_that_does_not_load_is_one_failing_item(checked):
    suite = checked["cli"].findall("testsuite")[1]
    (case,) = suite.findall("testcase")
    failure = case.find("failure")
    assert case.get("name") == "load" and "load-error" in failure.get("message")
    assert "line 2" in failure.text


def test_format_junit_prints_the_document(tmp_path, capsys):
    """--format junit writes the JUnit to stdout (a missing file: nothing is run)."""
    code = main(["check", str(tmp_path / "nope.py"), "--format", "junit"])
    root = ET.fromstring(capsys.readouterr().out)
    assert code == 1 and schema_problems(root) == []
    assert outcomes(root) == {("gradcheck", "load"): "failure"}


def test_grade_junit_shares_the_writer(checked):
    """grade's JUnit (a case per rubric item, an error case when gradcheck could not judge)
    follows the schema too, counts included."""
    rubric = load_rubric("part1")
    judged = checked["results"][0]
    unjudged = Result(subject="broken", harness_error="RuntimeError: injected")
    text = junit_xml([("seed_002", judged, rubric.score(judged)),
                      ("broken", unjudged, rubric.score(unjudged))], rubric)
    root = ET.fromstring(text.encode())
    assert schema_problems(root) == []
    suites = {s.get("name"): s for s in root}
    assert suites["broken"].get("errors") == "1" and suites["seed_002"].get("errors") == "0"
    earned = {i.name: i.score >= i.max_score for i in rubric.score(judged).items}
    assert {c.get("name"): outcome(c) == "passed" for c in suites["seed_002"]
            if c.tag == "testcase"} == earned


def test_the_schema_check_catches_what_it_should():
    bad = ET.fromstring(
        '<testsuites tests="2"><testsuite name="s" tests="2" failures="0" errors="0" skipped="0" time="0">'
        '<testcase classname="c" name="a" time="0"><failure type="failure"/></testcase>'
        '<testcase name="b" time="x"><skipped/><error message="m" type="e"/></testcase>'
        '<testcase classname="c" name="c" time="0"><error message="m" type="e"/><bogus/></testcase>'
        '</testsuite></testsuites>')
    problems = "\n".join(schema_problems(bad))
    for expected in ("tests=2 but its cases say 3", "failures=0 but its cases say 1",
                     "errors=0 but its cases say 1", "skipped=0 but its cases say 1",
                     "testsuites: tests=2 but its suites say 3", "name and classname are required",
                     "time='x'", "2 outcomes", "<failure> without message", "<bogus> child"):
        assert expected in problems
