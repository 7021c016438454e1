"""Batch grading holds whatever one submission does to its own outputs: hostile text in every
field, file names that try to leave ``--out``, a failure while writing one submission, a
grading process that dies, a full disk. Results are built directly (no worker runs), so the
trusted side's writers are what is under test."""

import csv
import errno
import json
import multiprocessing
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gradcheck.cli import main
from gradcheck.errors import HarnessError
from gradcheck.findings import Finding, Location
from gradcheck.grading import batch
from gradcheck.result import Result
from gradcheck.runner import Options

HOSTILE = ("\x1b]0;title\x07\x1b[2J \x9b31m \u202eevil\u2066 \ud800 \ufffe \x00 "
           "<script>x</script> =cmd|' /C calc'!A0")
RAW = {"\x1b", "\x9b", "\u202e", "\u2066", "\ud800", "\ufffe", "\x00", "\x07"}
NAMES = ["...py", "..py", "-x.py", "=cmd.py", "+y.py", "@z.py", "_x.py", "plain.py"]
VALUE = "class Value:\n    def __add__(self, other):\n        return self\n"


def hostile_doc(sid: str) -> dict:
    where = Location(file=HOSTILE, line=1, text=HOSTILE, context=((1, HOSTILE),))
    finding = Finding(code="wrong-derivative", op="mul", message=HOSTILE, location=where,
                      evidence={"snippet": HOSTILE})
    coverage = {"add": {"forward": ("pass", ""), "local rule": ("pass", ""),
                        "end-to-end": ("pass", ""), "traversal": ("pass", "")},
                "mul": {"forward": ("pass", ""), "local rule": ("fail", HOSTILE),
                        "end-to-end": ("pass", ""), "traversal": ("pass", "")}}
    return Result(subject=HOSTILE + sid, findings=[finding], coverage=coverage, notes=[HOSTILE],
                  output=HOSTILE + "\nmore", capabilities={"class_name": HOSTILE}).to_json()


def fake_grade_one(sub, options, share, fixes=False):
    """Stands for the worker: a hostile result per submission, at once."""
    return hostile_doc(sub.id), 0.01


def grade_or_die(sub, options, share, fixes=False):
    """In a pool process: the one called ``dies`` (first in id order, so it starts at once)
    takes its grading process down with it while a classmate's is still being graded."""
    if multiprocessing.parent_process() is not None:
        if sub.id == "dies":
            os._exit(7)
        time.sleep(0.5)
    return fake_grade_one(sub, options, share)


@pytest.fixture
def submissions(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_text(VALUE)
    (folder / "...").mkdir()  # a folder submission whose name is all dots
    (folder / "..." / "engine.py").write_text(VALUE)
    return folder


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in root.rglob("*")}


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def assert_no_raw(text: str, where: str) -> None:
    assert not RAW & set(text), f"{where}: {sorted(RAW & set(text))!r}"


def assert_outputs_parse(out: Path) -> None:
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8")  # strict: no surrogate could be written
        assert_no_raw(text, str(path))
        if path.suffix == ".json":
            assert_no_raw(json.dumps(json.loads(text), ensure_ascii=False), f"decoded {path}")
        elif path.suffix == ".xml":
            ET.fromstring(text.encode("utf-8"))
        elif path.suffix == ".csv":
            assert list(csv.reader(text.splitlines()))
        elif path.suffix == ".html":
            parser = HTMLParser()
            parser.feed(text)
            parser.close()
            assert "<script>" not in text


def test_hostile_names_and_text_stay_inside_out(submissions, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_grade_one", fake_grade_one)
    paths = sorted(str(p) for p in submissions.iterdir())
    subs = batch.find_submissions(paths)
    ids = [s.id for s in subs]
    assert len(set(ids)) == len(NAMES) + 1  # every submission kept, none merged or refused
    for sid in ids:
        assert sid not in ("", ".", "..") and "/" not in sid and not sid.startswith(("-", "=", "+", "@", "."))
    work = tmp_path / "work"
    out = work / "out"
    before = tree(submissions)
    rows = batch.grade(subs, "part1", out, Options())
    assert [sid for sid, _, _ in rows] == ids
    assert sorted(os.listdir(work)) == ["out"] and tree(submissions) == before
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(ids)
    assert set(gradebook(out)) == set(ids)
    assert_outputs_parse(out)
    feedback = (out / ids[0] / "feedback.html").read_text(encoding="utf-8")
    assert "\\x1b]0;title" in feedback and "\\u202eevil" in feedback  # shown, not dropped


def test_failure_writing_one_submission_is_its_harness_error(submissions, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_grade_one", fake_grade_one)
    real = batch.gradescope_json

    def breaks_for_one(result, score, seconds):
        if result.subject.endswith("plain") and result.harness_error is None:
            raise RuntimeError("injected while writing")
        return real(result, score, seconds)

    monkeypatch.setattr(batch, "gradescope_json", breaks_for_one)
    subs = batch.find_submissions([str(p) for p in sorted(submissions.iterdir())])
    out = tmp_path / "out"
    rows = {sid: result for sid, result, _ in batch.grade(subs, "part1", out, Options())}
    assert rows["plain"].verdict == "error" and "RuntimeError" in rows["plain"].harness_error
    assert all(r.verdict == "fail" for sid, r in rows.items() if sid != "plain")
    book = gradebook(out)
    assert set(book) == {s.id for s in subs} and float(book["plain"]["total"]) == 0
    assert float(book["_cmd"]["total"]) > 0
    suites = {s.get("name"): s for s in ET.parse(out / "junit.xml").getroot().iter("testsuite")}
    assert suites["plain"].get("errors") == "1" and suites["_cmd"].get("errors") == "0"
    # graded again next time (its saved result has no key), the others are not
    assert json.loads((out / "plain" / "result.json").read_text())["key"] is None
    assert json.loads((out / "_cmd" / "result.json").read_text())["key"] is not None
    assert_outputs_parse(out)


def test_a_writer_refuses_a_path_outside_out(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(HarnessError, match="not inside"):
        batch._write_inside(out, "../escaped.txt", "x")
    (tmp_path / "elsewhere").mkdir()
    out.mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(HarnessError, match="not inside"):
        batch._write_inside(out, "link/results.json", "x")
    assert not (tmp_path / "escaped.txt").exists() and not list((tmp_path / "elsewhere").iterdir())


def test_full_disk_is_one_clear_error(submissions, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "_grade_one", fake_grade_one)

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(batch, "atomic_write", disk_full)
    plain = str(submissions / "plain.py")
    with pytest.raises(batch.DiskFullError):
        batch.grade(batch.find_submissions([plain]), "part1", tmp_path / "o1", Options())
    status = main(["grade", plain, "--rubric", "part1", "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("gradcheck: error:")]
    assert len(errors) == 1 and "no space left" in errors[0]


def test_a_grading_process_that_dies_loses_no_one_elses_result(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_grade_one", grade_or_die)
    folder = tmp_path / "subs"
    folder.mkdir()
    names = ["dies", "e1", "e2", "e3", "e4"]
    for name in names:
        (folder / f"{name}.py").write_text(VALUE)
    subs = batch.find_submissions([str(folder / f"{n}.py") for n in names])
    rows = {sid: (result, score) for sid, result, score in
            batch.grade(subs, "part1", tmp_path / "out", Options(), jobs=2)}
    assert set(rows) == set(names)
    assert rows["dies"][0].verdict == "error" and "died" in rows["dies"][0].harness_error
    alone = {sid: score.total for sid, (_, score) in rows.items() if sid != "dies"}
    expected = batch.grade([s for s in subs if s.id != "dies"], "part1", tmp_path / "j1", Options())
    assert alone == {sid: score.total for sid, _, score in expected}
    assert set(gradebook(tmp_path / "out")) == set(names)


def test_cli_grade_of_an_unwritable_out_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "gradcheck", "grade", str(blocker), "--rubric", "part1",
                           "--out", str(blocker / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("gradcheck: error:") and len(proc.stderr.strip().splitlines()) == 1


def test_hostile_results_are_kept_for_resuming(submissions, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_grade_one", fake_grade_one)
    subs = batch.find_submissions([str(submissions / "plain.py"), str(submissions / "-x.py")])
    out = tmp_path / "out"
    batch.grade(subs, "part1", out, Options())
    first = (out / "gradebook.csv").read_text()

    def must_not_run(sub, options, share, fixes=False):
        raise AssertionError(f"{sub.id} was graded again")

    monkeypatch.setattr(batch, "_grade_one", must_not_run)
    batch.grade(subs, "part1", out, Options())
    assert (out / "gradebook.csv").read_text() == first


def test_a_classmates_name_never_takes_a_safe_id(tmp_path):
    """`m@x.py` is made safe as `m_x`, which is also `m_x.py`'s own id: the name that was safe
    already keeps it, whatever the order; the renamed one is numbered."""
    for name in ("a@work.py", "a_work.py", "-x.py", "_x.py"):
        (tmp_path / name).write_text("class Value:\n    def __add__(s, o): pass\n    def __mul__(s, o): pass\n")
    ids = {s.path.name: s.id for s in batch.find_submissions([str(tmp_path)])}
    assert ids == {"a_work.py": "a_work", "a@work.py": "a_work-2", "_x.py": "_x", "-x.py": "_x-2"}
