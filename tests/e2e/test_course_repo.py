"""The course-repository and GitHub Classroom examples: their workflow files are validated (no
network: nothing is pushed or fetched) and the course repository's tox env is run end to end.

Workflow files are read with PyYAML where it is installed, and always with ``read_yaml`` below:
a reader of the block-YAML subset GitHub workflows are written in (mappings, lists, quoted and
plain scalars, ``|`` blocks, flow lists, comments), so that the check runs where PyYAML is not
installed (it is no dependency of gradcheck's tests). Where both run, they must agree.

The tox run creates a virtualenv but installs nothing into it: the env's ``deps`` (torch and
gradcheck from the course's index) are emptied and the env sees this interpreter's packages and
this checkout through PYTHONPATH. That keeps it offline and costs about a second beyond the
pytest run itself (one check of the notebook). Without tox on this machine, the env's commands
run with this interpreter instead.
"""

import configparser
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck.grading.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "examples" / "course-repo"
CLASSROOM = ROOT / "examples" / "github-classroom" / "classroom.yml"
ENV = "gradcheck"
CHECK_KEYS = {"forward": "forward", "local rule": "local_rule", "end-to-end": "end_to_end"}


# -- a reader for the YAML that workflow files use ---------------------------------------------
def read_yaml(text: str):
    reader = _YamlReader(text)
    value = reader.block(0)
    if reader.next_content() is not None:
        raise ValueError(f"line {reader.i + 1}: unexpected indentation")
    return value


def _uncomment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def _scalar(text: str):
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return {"true": True, "false": False, "null": None, "~": None}.get(text, text)


class _YamlReader:
    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.i = 0

    def next_content(self) -> tuple[int, str] | None:
        """(indent, text) of the next line with content, without moving past it."""
        while self.i < len(self.lines):
            line = _uncomment(self.lines[self.i]).rstrip()
            if line.strip():
                indent = len(line) - len(line.lstrip(" "))
                if line[indent] == "\t":
                    raise ValueError(f"line {self.i + 1}: a tab in the indentation")
                return indent, line.strip()
            self.i += 1
        return None

    def block(self, at_least: int):
        first = self.next_content()
        if first is None or first[0] < at_least:
            return None
        if first[1] == "-" or first[1].startswith("- "):
            return self.sequence(first[0])
        return self.mapping(first[0])

    def mapping(self, indent: int) -> dict:
        out = {}
        while (line := self.next_content()) and line[0] == indent and not line[1].startswith("- "):
            key, colon, rest = line[1].partition(":")
            if not colon or rest[:1] not in ("", " "):
                raise ValueError(f"line {self.i + 1}: not `key: value`")
            self.i += 1
            out[_scalar(key.strip())] = self.value(rest.strip(), indent)
        return out

    def sequence(self, indent: int) -> list:
        out = []
        while (line := self.next_content()) and line[0] == indent and (
                line[1] == "-" or line[1].startswith("- ")):
            rest = line[1][2:]
            if re.match(r"[\w.-]+:( |$)", rest):  # `- key: value` starts a mapping
                self.lines[self.i] = " " * (indent + 2) + rest
                out.append(self.mapping(indent + 2))
            else:
                self.i += 1
                out.append(self.value(rest, indent))
        return out

    def value(self, rest: str, indent: int):
        if not rest:
            return self.block(indent + 1)
        if rest in ("|", "|-"):
            return self.literal(indent, keep_newline=rest == "|")
        if rest.startswith("[") and rest.endswith("]"):
            return [_scalar(v.strip()) for v in rest[1:-1].split(",") if v.strip()]
        return _scalar(rest)

    def literal(self, indent: int, keep_newline: bool) -> str:
        lines, inner = [], None
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            depth = len(raw) - len(raw.lstrip(" "))
            if raw.strip() and depth <= indent:
                break
            inner = inner if inner is not None or not raw.strip() else depth
            lines.append(raw[inner:] if raw.strip() else "")
            self.i += 1
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + ("\n" if keep_newline else "")


def workflow(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    doc = read_yaml(text)
    try:
        import yaml
    except ImportError:
        return doc
    parsed = yaml.safe_load(text)
    parsed["on"] = parsed.pop(True, parsed.get("on"))  # YAML 1.1 reads the key `on` as true
    assert doc == parsed
    return doc


def test_the_yaml_reader_reads_what_workflows_use():
    text = ('a: 1  # note\non: [push, pull_request]\nb:\n  - x\n  - k: "v: w"\n    m: \'it\'\'s\'\n'
            'c: |\n  one # kept\n    two\n\nd:\ne: true\n')
    assert read_yaml(text) == {"a": 1, "on": ["push", "pull_request"], "b": ["x", {"k": "v: w", "m": "it's"}],
                               "c": "one # kept\n  two\n", "d": None, "e": True}
    for broken in ("a: 1\n  b: 2\n", "a:\n\t- x\n", "just text\n"):
        with pytest.raises(ValueError):
            read_yaml(broken)


# -- the course repository ---------------------------------------------------------------------
def tox_env() -> configparser.SectionProxy:
    config = configparser.ConfigParser(interpolation=None)
    config.read(COURSE / "tox.ini")
    assert ENV in config["tox"]["env_list"].split(",")
    return config[f"testenv:{ENV}"]


def tox_command() -> list[str]:
    (command,) = [c for c in tox_env()["commands"].replace("\\\n", " ").splitlines() if c.strip()]
    return shlex.split(command)


def test_the_workflow_runs_the_tox_env_and_keeps_its_report():
    doc = workflow(COURSE / ".github" / "workflows" / "gradcheck.yml")
    assert "push" in doc["on"]
    (job,) = doc["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    runs = [shlex.split(s["run"]) for s in steps if "run" in s]
    assert uses[0] == "actions/checkout"
    assert ["tox", "-e", ENV] in runs
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    command = tox_command()
    report = command[command.index("--junitxml") + 1].replace("{tox_root}/", "")
    assert upload["with"]["path"] == report and upload.get("if") == "always()"


def test_the_tox_env_checks_the_students_notebook_and_runs_the_tests():
    command = tox_command()
    assert command[:3] == ["python", "-m", "pytest"]
    pattern = command[command.index("--gradcheck") + 1]
    assert glob.glob(str(COURSE / pattern)) == [str(COURSE / "student" / "micrograd.ipynb")]
    assert "tests" in command and (COURSE / "tests" / "test_instructor.py").is_file()


@pytest.fixture(scope="module")
def tox_run(tmp_path_factory):
    course = tmp_path_factory.mktemp("course") / "course-repo"
    shutil.copytree(COURSE, course)
    tox = shutil.which("tox")
    # this interpreter's packages first (their metadata registers the plugin), then this checkout
    path = os.pathsep.join([p for p in sys.path if p and Path(p).is_dir()] + [str(ROOT)])
    if tox:
        argv = [tox, "run", "-e", ENV, "--workdir", str(course.parent / ".tox"),
                "-x", f"testenv:{ENV}.deps=", "-x", f"testenv:{ENV}.base_python={sys.executable}",
                "-x", f"testenv:{ENV}.set_env=PYTHONPATH={path}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "PYTEST_"))}
    else:
        argv = [sys.executable if a == "python" else a.replace("{tox_root}", str(course))
                for a in tox_command() if a != "{posargs}"]
        env = dict(os.environ, PYTHONPATH=path)
    proc = subprocess.run(argv, cwd=course, env=env, capture_output=True, text=True, timeout=600)
    report = course / "gradcheck-junit.xml"
    assert report.is_file(), proc.stdout + proc.stderr
    return proc, ET.parse(report).getroot()


def test_the_tox_env_passes_a_correct_notebook(tox_run):
    proc, root = tox_run
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    failed = [k for k, c in cases.items() if c.find("failure") is not None or c.find("error") is not None]
    assert proc.returncode == 0 and failed == [], proc.stdout[-3000:]
    rubric = load_rubric("part1")
    expected = {("gradcheck", "traversal"), ("gradcheck", "other_findings")} | {
        (f"gradcheck.{name.split(': ')[0]}", CHECK_KEYS[name.split(": ")[1]])
        for name in rubric.item_names() if name != "traversal"}
    items = {k for k in cases if k[0].split(".")[0] == "gradcheck"}
    assert items == expected and not any(cases[k].find("skipped") is not None for k in items)
    instructor = {name: c for (classname, name), c in cases.items() if "test_instructor" in classname}
    assert len(instructor) == 2
    for case in instructor.values():
        assert case.find("skipped") is None
        assert [p.get("name") for p in case.iter("property")] == ["points"]


# -- GitHub Classroom --------------------------------------------------------------------------
def test_classroom_has_one_test_per_rubric_item_with_its_points():
    doc = workflow(CLASSROOM)
    (job,) = doc["jobs"].values()
    steps = job["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    rubric = load_rubric("part1")

    def points(name: str) -> float:
        return rubric.points["traversal" if name == "traversal" else CHECK_KEYS[name.split(": ")[1]]]

    assert {s["with"]["test-name"]: s["with"]["max-score"] for s in graders} == {
        name: points(name) for name in rubric.item_names()}
    for step in graders:
        name = step["with"]["test-name"]
        op, _, check = name.partition(": ")
        keyword = f"({op} and {CHECK_KEYS[check]})" if check else name
        argv = shlex.split(step["with"]["command"])
        assert argv[0] == "pytest" and argv[argv.index("--gradcheck-rubric") + 1] == "part1"
        assert argv[argv.index("-k") + 1] == f"{keyword} or other_findings"
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter"))
    ids = [s["id"] for s in graders]
    assert reporter["with"]["runners"].split(",") == ids
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids}
