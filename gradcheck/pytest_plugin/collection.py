"""``pytest --gradcheck PATH``: the collection of one item per op x check plus
``traversal`` and ``other_findings`` (see ``items.py``), node ids like
``gradcheck::mul::local_rule``.

Each subject is checked once per session, while its items are collected, and the result is
kept in the config's stash: items only read it, so ``-k mul`` or ``--lf`` select among items
without checking again. The check runs the submission in gradcheck's sandboxed worker;
pytest's own process never imports or runs it.

Without paths of its own (``pytest --gradcheck nb.ipynb``), pytest runs gradcheck's items only,
not the folder's tests; name test folders to run them too (``pytest --gradcheck nb.ipynb tests``).
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from gradcheck.checks import CheckSettings
from gradcheck.cli import expand_paths
from gradcheck.errors import GradcheckError, UsageError
from gradcheck.grading.rubric import Rubric, load_rubric
from gradcheck.oracles.consensus import Consensus
from gradcheck.pytest_plugin.items import FAILED, SKIPPED, CheckItem, check_items, prefix_for
from gradcheck.pytest_plugin.plugin import RUN
from gradcheck.result import Result
from gradcheck.runner import Options, check_path


@dataclass
class GradcheckRun:
    """This session's subjects, how to check them, and each one's result once it is checked."""

    targets: list[str]
    named: set[str]  # targets named as such, not found in a folder of several implementations
    options: Options
    rubric: Rubric | None
    results: dict[str, Result] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)  # one line per check, for the header
    consensus: Consensus | None = None  # oracle answers, shared by the subjects as in the CLI

    def options_for(self, target: str) -> Options:
        # a file its user names brings its helper modules; one found in a folder of several
        # implementations does not (they would see each other)
        return replace(self.options, helpers_beside=target in self.named and Path(target).is_file())

    def result(self, target: str) -> Result:
        """The subject's result, checked on first use only."""
        if target not in self.results:
            self.consensus = self.consensus or Consensus.default()
            started = time.monotonic()
            result = self.results[target] = check_path(target, self.options_for(target), self.consensus)
            self.checked.append(f"gradcheck: checked {result.subject} in "
                                f"{time.monotonic() - started:.1f}s ({result.isolation or 'not started'})"
                                f": {result.verdict}")
        return self.results[target]


def configure(config: pytest.Config) -> None:
    """Set up this session's subjects from the ``--gradcheck`` options (``plugin.py`` calls this
    only when they are given, after registering this module's hooks)."""
    given = config.getoption("gradcheck")
    class_name = config.getoption("gradcheck_class")
    examples = config.getoption("gradcheck_examples")
    if examples <= 0:
        raise pytest.UsageError(f"--gradcheck-examples {examples} must be greater than zero")
    seed = os.environ.get("GRADCHECK_SEED")  # as for the CLI: a seed kept off command lines
    if seed and not seed.strip().lstrip("-").isdigit():
        raise pytest.UsageError("GRADCHECK_SEED must be an integer")
    try:
        rubric = load_rubric(spec) if (spec := config.getoption("gradcheck_rubric")) else None
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    targets, named = _expand(given, class_name)
    config.stash[RUN] = GradcheckRun(
        targets, named, rubric=rubric,
        options=Options(class_name=class_name, backward=config.getoption("gradcheck_backward"),
                        python=config.getoption("gradcheck_python"),
                        settings=CheckSettings(examples=examples, seed=int(seed) if seed else None)))
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # no paths given: run the subject's items, not every test below the current folder
        config.args = []
        config.args_source = pytest.Config.ArgsSource.ARGS


def _expand(given: list[str], class_name: str | None) -> tuple[list[str], set[str]]:
    """The subjects, as ``gradcheck check`` takes them (a folder of several implementations is
    one subject per file), and which of them were named rather than found in a folder."""
    named = []
    for pattern in given:
        if glob.has_magic(pattern):  # a quoted glob, or one no shell expanded (tox)
            found = sorted(glob.glob(pattern))
            if not found:
                raise pytest.UsageError(f"--gradcheck {pattern}: no file matches")
            named += found
        else:
            named.append(pattern)
    named = list(dict.fromkeys(named))
    return list(dict.fromkeys(expand_paths(named, class_name))), set(named)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    if RUN in collector.config.stash and isinstance(collector, pytest.Session) and report.passed:
        report.result.append(GradcheckRoot.from_parent(collector, name="gradcheck",
                                                       nodeid="gradcheck"))
    return report


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    return list(config.stash[RUN].checked) if RUN in config.stash else []


class _CollectError(Exception):
    """gradcheck could not check the subject at all (not a finding about the subject)."""


def _subject_nodes(parent: pytest.Collector, target: str):
    """A subject's items: a collector per op (``mul``) with its checks, then the rest."""
    run = parent.config.stash[RUN]
    try:
        result = run.result(target)
    except GradcheckError as exc:  # e.g. --gradcheck-python names no usable interpreter
        raise _CollectError(str(exc)) from None
    path = Path(target)
    where = path.resolve() if path.is_file() else parent.path
    items = check_items(result, run.rubric)
    for op in dict.fromkeys(i.path[0] for i in items if len(i.path) == 2):
        yield OpCollector.from_parent(parent, name=op, where=where,
                                      items=[i for i in items if i.path[:-1] == (op,)])
    for item in items:
        if len(item.path) == 1:
            yield CheckItemNode.from_parent(parent, name=item.name, check_item=item, path=where)


class _ReportsCollectErrors(pytest.Collector):
    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, _CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class GradcheckRoot(_ReportsCollectErrors):
    """``gradcheck``: the subject's items, or one collector per subject when there are several."""

    def collect(self):
        targets = self.config.stash[RUN].targets
        if len(targets) == 1:
            yield from _subject_nodes(self, targets[0])
            return
        for target in targets:
            yield SubjectCollector.from_parent(self, name=prefix_for(target, several=True)[-1],
                                               target=target)


class SubjectCollector(_ReportsCollectErrors):
    def __init__(self, *, target: str, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def collect(self):
        yield from _subject_nodes(self, self.target)


class OpCollector(pytest.Collector):
    """One op's check items."""

    def __init__(self, *, items: list[CheckItem], where: Path, **kwargs):
        super().__init__(**kwargs)
        self.check_items, self.where = items, where

    def collect(self):
        for item in self.check_items:
            yield CheckItemNode.from_parent(self, name=item.path[-1], check_item=item, path=self.where)


class _CheckFailed(Exception):
    def __init__(self, item: CheckItem):
        super().__init__(item.reason)
        self.item = item


class CheckItemNode(pytest.Item):
    """One check item: it only reports the outcome the session's single check decided."""

    def __init__(self, *, check_item: CheckItem, **kwargs):
        super().__init__(**kwargs)
        self.check_item = check_item
        if check_item.outcome == SKIPPED:
            self.add_marker(pytest.mark.skip(reason=check_item.reason))
        if check_item.max_score is not None:  # with a rubric: points, for grading from JUnit
            self.user_properties += [("points", check_item.max_score), ("score", check_item.score)]

    def runtest(self) -> None:
        if self.check_item.outcome == FAILED:
            raise _CheckFailed(self.check_item)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, _CheckFailed):  # the finding, not a harness traceback
            return excinfo.value.item.report()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        # the first finding's line in the subject's file (0-based, as pytest counts)
        lines = [f.location.line for f in self.check_item.findings
                 if f.location is not None and f.location.line and f.location.cell is None]
        return self.path, (lines[0] - 1 if lines else 0), self.nodeid
