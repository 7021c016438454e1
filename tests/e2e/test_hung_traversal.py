"""A backward() that hangs costs the traversal item whatever the method is called: the rubric
reads the typed traversal state, never the wording of a message (which carries the name)."""

import pytest

from gradcheck.checks.outcomes import TraversalState
from gradcheck.grading.rubric import load_rubric
from gradcheck.runner import Options, check_path
from gradcheck.sandbox.limits import Limits

from conftest import REFERENCE

CORRECT = (REFERENCE / "correct_full.py").read_text()
# A walk that never ends once it has seen a shared node: every graph the traversal check builds
# has one; the end-to-end search then leaves gradients alone.
HANG = """        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        if len(topo) != len(set(map(id, topo))) or len(topo) > 3:
            while True:
                pass
"""
FAST = Options(limits=Limits(request_timeout=3, subject_seconds=40))


def hanging(name: str) -> str:
    head, _, rest = CORRECT.partition("    def backward(self):\n")
    body_end = rest.index("            v._backward()\n") + len("            v._backward()\n")
    original = rest[:body_end]
    hung = HANG + original[original.index("        self.grad = 1.0"):]
    source = head + f"    def {name}(self):\n" + hung + rest[body_end:]
    assert f"def {name}(self)" in source and "while True" in source
    return source


@pytest.fixture(scope="module")
def results(tmp_path_factory, consensus):
    folder = tmp_path_factory.mktemp("hung")
    out = {}
    for name in ("backward", "backprop"):
        path = folder / f"{name}.py"
        path.write_text(hanging(name))
        out[name] = check_path(str(path), FAST, consensus)
    return out


@pytest.mark.parametrize("name", ["backward", "backprop"])
def test_a_hung_walk_is_a_broken_traversal(results, name):
    result = results[name]
    assert result.capabilities["backward"] == name
    assert result.traversal == TraversalState.BROKEN
    assert ("timeout", None) in result.codes()


def test_both_names_lose_the_traversal_points_alike(results):
    rubric = load_rubric("part1")
    items = {name: {i.name: i.score for i in rubric.score(r).items} for name, r in results.items()}
    assert items["backward"]["traversal"] == items["backprop"]["traversal"] == 0
    assert items["backward"] == items["backprop"]
