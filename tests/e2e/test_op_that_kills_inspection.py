"""An op whose first call kills the worker -- while gradcheck inspects the class -- is named,
waited out once, and does not cost the class its inspection: the other ops are still probed
and checked (the worker says which op it is about to call; a hang used to be met again by the
op's forward check, doubling the cost of every hostile or stuck submission)."""

import pytest

from gradcheck.findings import ERROR
from gradcheck.runner import Options, check_path
from gradcheck.sandbox.client import WorkerClient
from gradcheck.sandbox.limits import Limits, WorkerDied

from conftest import REFERENCE

CORRECT = (REFERENCE / "correct_full.py").read_text()
TANH = "        t = math.tanh(self.data)\n"
MUL = "            self.grad += other.data * out.grad\n"
KILLERS = {
    "timeout": "        while True:\n            pass\n",
    "crash": "        import os\n        os._exit(3)\n",
}


@pytest.mark.parametrize("kind", sorted(KILLERS))
def test_the_killing_op_is_met_once_and_the_rest_is_still_checked(tmp_path, consensus, monkeypatch, kind):
    source = CORRECT.replace(TANH, KILLERS[kind] + TANH).replace(MUL, MUL.replace("+=", "="))
    assert source.count("os._exit" if kind == "crash" else "while True") == 1
    path = tmp_path / "subject.py"
    path.write_text(source)
    deaths = []
    request = WorkerClient.request

    def counted(self, command, timeout=None, **fields):
        try:
            return request(self, command, timeout, **fields)
        except WorkerDied as died:
            deaths.append((command, died.kind))
            raise
    monkeypatch.setattr(WorkerClient, "request", counted)

    result = check_path(str(path), Options(limits=Limits(request_timeout=2)), consensus)
    errors = {(f.code, f.op) for f in result.findings if f.severity == ERROR}
    assert errors == {(kind, "tanh"), ("grad-overwrite", "mul")}
    assert deaths == [("inspect", kind)]
    assert result.capabilities["closure_attr"] == "_backward"


# Errors that end a process without killing it: the op's probe reports them, and the worker is
# replaced. A memory bomb fills the memory limit at each call (about 2 s here): called again by
# the forward check -- several times, one after another -- it reached the request limit and was
# reported as a hang, after 9 s instead of 2.
STOPPERS = {
    "memory-limit": "        print('TANH CALLED')\n        hog = bytearray(1 << 20)\n        raise MemoryError\n",
    "crash": "        print('TANH CALLED')\n        raise SystemExit(0)\n",
}


@pytest.mark.parametrize("kind", sorted(STOPPERS))
def test_an_op_whose_probe_stops_the_process_is_called_once(tmp_path, consensus, kind):
    source = CORRECT.replace(TANH, STOPPERS[kind] + TANH).replace(MUL, MUL.replace("+=", "="))
    path = tmp_path / "subject.py"
    path.write_text(source)
    result = check_path(str(path), Options(limits=Limits(request_timeout=5)), consensus)
    errors = {(f.code, f.op) for f in result.findings if f.severity == ERROR}
    assert errors == {(kind, "tanh"), ("grad-overwrite", "mul")}
    assert result.output.count("TANH CALLED") == 1
    assert result.capabilities["closure_attr"] == "_backward"
    assert result.capabilities["ops"]["exp"]  # the other ops were still probed


def test_loading_again_after_a_death_is_still_loading(tmp_path, consensus):
    """The worker replaced after an op's death loads the submission again: what its top-level
    code tries then (a guarded `import torch`, refused) is a load-time attempt, as it was the
    first time -- not one made while the class was checked."""
    source = ("try:\n    import torch\nexcept ImportError:\n    torch = None\n"
              + CORRECT.replace(TANH, STOPPERS["memory-limit"] + TANH))
    path = tmp_path / "subject.py"
    path.write_text(source)
    result = check_path(str(path), Options(limits=Limits(request_timeout=5)), consensus)
    errors = {(f.code, f.op) for f in result.findings if f.severity == ERROR}
    assert errors == {("memory-limit", "tanh")}
