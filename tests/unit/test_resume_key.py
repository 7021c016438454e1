"""The resume key covers everything that can change a verdict: a stale grade is never reused."""

import dataclasses
import sys
from pathlib import Path

import pytest

from gradcheck.grading import batch
from gradcheck.grading.batch import Submission, content_key, interpreter_identity
from gradcheck.grading.rubric import load_rubric
from gradcheck.runner import Options


def changed(value):
    """Some other value of the same option."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value is None:
        return "other"
    if isinstance(value, str):
        return value + "-other"
    if isinstance(value, tuple):  # e.g. --allow-import lifts one forbidden import
        return value[1:] if value else ("other",)
    if isinstance(value, Path):
        return value / "other"
    raise AssertionError(f"no way to change {value!r}: teach changed() about its type")


def variants(obj, path=()):
    """(dotted field name, a copy of ``obj`` with that one field changed), for every field at
    every depth: a field added to Options, CheckSettings or Limits is listed here by itself."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            for name, inner in variants(value, (*path, f.name)):
                yield name, dataclasses.replace(obj, **{f.name: inner})
        else:
            yield ".".join((*path, f.name)), dataclasses.replace(obj, **{f.name: changed(value)})


@pytest.fixture
def sub(tmp_path):
    path = tmp_path / "engine.py"
    path.write_text("class Value:\n    pass\n")
    return Submission("engine", path)


RUBRIC = load_rubric("part1")


def test_the_key_is_stable(sub):
    assert content_key(sub, RUBRIC, Options()) == content_key(sub, RUBRIC, Options())


ALL = list(variants(Options()))


def test_every_nested_option_is_visited():
    names = {name for name, _ in ALL}
    assert {"python", "backward", "class_name", "settings.seed", "limits.forbidden_imports",
            "limits.memory_mb"} <= names
    assert len(names) == len(ALL)


# Options that change no grade: where the case store keeps the cases it answers with (its
# answers are the oracles' own, bit for bit: tests/unit/test_case_store_bundles.py)
NEUTRAL = ("cases.",)


@pytest.mark.parametrize("name, options", ALL, ids=[name for name, _ in ALL])
def test_changing_any_option_changes_the_key(name, options, sub):
    if name.startswith(NEUTRAL):
        assert content_key(sub, RUBRIC, options) == content_key(sub, RUBRIC, Options()), name
    else:
        assert content_key(sub, RUBRIC, options) != content_key(sub, RUBRIC, Options()), name


def test_the_case_store_options_are_visited():
    assert {"cases.directory", "cases.shipped", "cases.limit_bytes"} <= {name for name, _ in ALL}


def test_the_interpreters_version_is_part_of_the_key(sub, monkeypatch):
    options = Options(python=sys.executable)
    before = content_key(sub, RUBRIC, options)
    monkeypatch.setattr(batch, "interpreter_identity", lambda python: [python, "3.99.0 upgraded"])
    assert content_key(sub, RUBRIC, options) != before


def test_the_interpreters_version_is_asked_of_the_interpreter():
    interpreter_identity.cache_clear()
    assert interpreter_identity(sys.executable)[1] == sys.version
    assert interpreter_identity("/nonexistent/python")[1].startswith("unavailable")


def test_rubric_version_and_files_are_part_of_the_key(sub, monkeypatch):
    before = content_key(sub, RUBRIC, Options())
    assert content_key(sub, load_rubric("full"), Options()) != before
    sub.path.write_text("class Value:\n    data = 1\n")
    after_edit = content_key(sub, RUBRIC, Options())
    assert after_edit != before
    monkeypatch.setattr(batch, "__version__", "999.0")
    assert content_key(sub, RUBRIC, Options()) != after_edit
