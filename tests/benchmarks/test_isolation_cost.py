"""The cost of isolation: a full check of a correct subject with the sandboxed worker process
against the same check with the worker's code run in this process (a baseline that exists only
here -- gradcheck itself never runs a submission in-process). Compare the two means; the target
is a ratio of at most 1.5."""

from gradcheck.oracles.consensus import Consensus
from gradcheck.runner import Options, check_path
from gradcheck.sandbox import client as client_module
from gradcheck.sandbox import worker as worker_module

from conftest import REFERENCE

SUBJECT = str(REFERENCE / "correct_full.py")


class InProcessClient(client_module.WorkerClient):
    """Answers requests by calling the worker's handlers directly, without a process."""

    def start(self) -> None:
        self.worker = worker_module.Worker()
        self.handlers = {"load": self.worker.load, "inspect": self.worker.inspect,
                         "run": self.worker.run, "local_rule": self.worker.local_rule,
                         "modules": self.worker.modules}
        self.proc = True

    def request(self, command, timeout=None, **fields):
        return self.handlers[command]({"command": command, **fields})

    def kill(self) -> None:
        self.proc = None

    stop = kill

    def captured_output(self) -> str:
        return ""


def full_check():
    result = check_path(SUBJECT, Options(), Consensus.default())
    assert result.verdict == "pass"
    return result


def test_in_process_baseline(benchmark, monkeypatch):
    monkeypatch.setattr("gradcheck.session.WorkerClient", InProcessClient)
    result = benchmark.pedantic(full_check, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cases"] = result.stats["cases"]


def test_sandboxed_worker(benchmark):
    result = benchmark.pedantic(full_check, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cases"] = result.stats["cases"]
