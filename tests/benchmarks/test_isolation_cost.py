"""The cost of isolation: a full check of a correct subject with the worker under bubblewrap,
with the limited fallback (the worker as it was before bubblewrap), and with the worker's code
run in this process (a baseline that exists only here -- gradcheck itself never runs a
submission in-process). Compare the means; the target is a ratio of at most 1.5 against the
in-process baseline."""

from gradcheck.oracles.consensus import Consensus
from gradcheck.runner import Options, check_path
from gradcheck.sandbox import client as client_module
from gradcheck.sandbox.limits import Limits
from gradcheck.sandbox.worker import worker as worker_module

from conftest import REFERENCE

SUBJECT = str(REFERENCE / "correct_full.py")


class _Progress:
    def send(self, kind, **fields):
        pass


class InProcessClient(client_module.WorkerClient):
    """Answers requests by calling the worker's handlers directly, without a process (and
    without the worker's audit hook and output capture, which would take over this process)."""

    def start(self) -> None:
        self.worker = worker_module.Worker(_Progress())
        self.handlers = {"load": self.worker.load, "inspect": self.worker.inspect,
                         "run": self.worker.run, "local_rule": self.worker.local_rule,
                         "modules": self.worker.modules}
        self.proc = True

    def request(self, command, timeout=None, **fields):
        fields.pop("guard", None)
        fields.pop("output_bytes", None)
        reply = self.handlers[command]({"command": command, **fields})
        if "modules" in reply:  # this process imported torch for the oracles, not the subject
            reply["modules"] = [m for m in reply["modules"] if m.split(".")[0] not in self.limits.forbidden_imports]
        return reply

    def kill(self) -> None:
        self.proc = None

    stop = kill

    def captured_output(self) -> str:
        return ""


def full_check(isolation="auto"):
    result = check_path(SUBJECT, Options(limits=Limits(isolation=isolation)), Consensus.default())
    assert result.verdict == "pass"
    return result


def test_in_process_baseline(benchmark, monkeypatch):
    monkeypatch.setattr("gradcheck.session.WorkerClient", InProcessClient)
    result = benchmark.pedantic(full_check, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cases"] = result.stats["cases"]


def test_limited_worker(benchmark):
    result = benchmark.pedantic(full_check, args=("limited",), rounds=5, iterations=1, warmup_rounds=1)
    assert result.isolation == "limited"
    benchmark.extra_info["cases"] = result.stats["cases"]


def test_bubblewrap_worker(benchmark):
    result = benchmark.pedantic(full_check, args=("bubblewrap",), rounds=5, iterations=1, warmup_rounds=1)
    assert result.isolation == "bubblewrap"
    benchmark.extra_info["cases"] = result.stats["cases"]
