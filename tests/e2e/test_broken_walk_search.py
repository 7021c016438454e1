"""A backward() whose walk was watched going wrong: the end-to-end search runs on gradcheck's own
walk over the subject's closures. The subject's walk would fail on nearly every graph for the
defect already named; each failure was shrunk by Hypothesis at length (four rounds took about
10 s of a check of 1 s), and a defect of the ops themselves hid behind it."""

import pytest

import gradcheck.checks.property_search as property_search
from gradcheck.checks.outcomes import TraversalState
from gradcheck.findings import ERROR
from gradcheck.runner import Options, check_path

from conftest import REFERENCE

CORRECT = (REFERENCE / "correct_full.py").read_text()
NO_VISITED = ("            if v not in visited:\n                visited.add(v)\n", "            if True:\n")
TANH_NO_UPSTREAM = ("            self.grad += (1 - t ** 2) * out.grad\n", "            self.grad += (1 - t ** 2)\n")


def _subject(tmp_path, *edits) -> str:
    source = CORRECT
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    path = tmp_path / "subject.py"
    path.write_text(source)
    return str(path)


def _errors(result) -> set:
    return {(f.code, f.op) for f in result.findings if f.severity == ERROR}


@pytest.fixture
def no_shrinking(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the search had to shrink a failure")
    monkeypatch.setattr(property_search, "shrunk_failure", refuse)


def test_a_walk_without_visited_set_is_named_once_and_the_ops_are_searched_on_a_right_walk(
        tmp_path, consensus, no_shrinking):
    result = check_path(_subject(tmp_path, NO_VISITED), Options(), consensus)
    assert _errors(result) == {("topo-revisit", None)}
    assert result.traversal == TraversalState.DEFECTIVE
    for op in ("add", "mul", "tanh", "pow"):
        assert result.coverage[op]["end-to-end"][0] == "pass", result.coverage[op]


def test_an_op_defect_beside_the_broken_walk_is_named_too(tmp_path, consensus, no_shrinking):
    result = check_path(_subject(tmp_path, NO_VISITED, TANH_NO_UPSTREAM), Options(), consensus)
    assert _errors(result) == {("topo-revisit", None), ("missing-chain-factor", "tanh")}
    assert result.coverage["tanh"]["end-to-end"][0] != "pass"
    assert result.coverage["mul"]["end-to-end"][0] == "pass"
