"""Deep graphs: the lecture's recursive topological sort is told it fails beyond a lecture-sized
graph (info), a traversal that fails on a lecture-sized graph is warned about, and an iterative
one gets nothing."""

import micrograd.engine

from gradcheck.findings import INFO, WARNING
from gradcheck.runner import Options, check_path

from conftest import REFERENCE


def recursion_findings(path, consensus):
    result = check_path(str(path), Options(), consensus)
    return result, [f for f in result.findings if f.code == "recursion-limit"]


def test_karpathys_micrograd_gets_no_warning(consensus):
    result, found = recursion_findings(micrograd.engine.__file__, consensus)
    assert [(f.severity, f.evidence["depth"], f.evidence["works_at"]) for f in found] == [(INFO, 3000, 500)]
    assert result.verdict == "pass"


def test_a_traversal_that_fails_on_a_lecture_sized_graph_is_warned_about(tmp_path, consensus):
    shallow = tmp_path / "shallow.py"
    shallow.write_text("import sys\nsys.setrecursionlimit(300)\n" + (REFERENCE / "correct_full.py").read_text())
    result, found = recursion_findings(shallow, consensus)
    assert [(f.severity, f.evidence["depth"]) for f in found] == [(WARNING, 500)]
    assert result.verdict == "pass"  # a warning does not fail it


def test_an_iterative_traversal_has_no_recursion_finding(consensus):
    _, found = recursion_findings(REFERENCE / "correct_iterative.py", consensus)
    assert found == []


def test_a_deep_chain_costs_the_wire_almost_nothing(consensus, monkeypatch):
    # the chain goes as a description and its reply carries no numbers: listed node by node it
    # was about 140 KB each way at 3000 nodes, longer to encode and decode than to run
    from gradcheck.checks import robustness
    from gradcheck.sandbox import protocol

    frames = []
    encode, decode = protocol.encode, protocol.decode
    monkeypatch.setattr(protocol, "encode", lambda obj: frames.append(len(out := encode(obj))) or out)
    monkeypatch.setattr(protocol, "decode", lambda payload: frames.append(len(payload)) or decode(payload))
    monkeypatch.setattr(robustness, "DEPTH", 100_000)
    _, found = recursion_findings(REFERENCE / "correct_full.py", consensus)
    assert [f.evidence["depth"] for f in found] == [100_000]  # the chain was built and failed
    assert max(frames) < 64_000, max(frames)  # the largest frame of the whole check
