"""One subject under test: its worker, its chosen class and capabilities, and typed requests.

Loading produces either a ready session or ``load-error`` findings. If the worker dies
mid-check, the session restarts it (replaying the load) and raises ``WorkerDied`` so the check
that was running can record a finding naming what it was doing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradcheck.capabilities import Capabilities, choose_class, decide
from gradcheck.findings import Finding
from gradcheck.graph import Graph
from gradcheck.loader import Submission
from gradcheck.observe import GraphRun, SubjectError
from gradcheck.sandbox.client import Limits, WorkerClient, WorkerDied

_NEWER_PYTHON_HINTS = ("f-string: expecting", "f-string: unmatched", "type parameter", "invalid syntax")


@dataclass
class LoadReport:
    caps: Capabilities | None
    findings: list[Finding]
    notes: list[str]


class SubjectSession:
    def __init__(self, submission: Submission, class_name: str | None = None,
                 backward_name: str | None = None, python: str | None = None,
                 limits: Limits | None = None):
        self.submission = submission
        self.class_name = class_name
        self.backward_name = backward_name
        self.client = WorkerClient(python=python, limits=limits)
        self.caps: Capabilities | None = None
        self.unit_errors: list[dict] = []

    def __enter__(self) -> SubjectSession:
        self.client.start()
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    # -- loading ------------------------------------------------------------------------
    def _send_load(self) -> dict:
        return self.client.request(
            "load", timeout=self.client.limits.load_timeout, units=self.submission.wire_units(), module=self.submission.module,
            sys_path=self.submission.sys_path, as_main=self.submission.kind == "notebook",
            statement_timeout=self.client.limits.statement_timeout)

    def load(self) -> LoadReport:
        notes: list[str] = []
        try:
            reply = self._send_load()
        except WorkerDied as died:
            self.client.start()
            return LoadReport(None, [self._died_finding(died, "loading the submission")], notes)
        if "fatal" in reply:
            err = SubjectError.parse(reply["fatal"])
            return LoadReport(None, [Finding("load-error", f"could not import the submission: {err}",
                                             location=self._locate(err.where))], notes)
        for unit in reply.get("units", []):
            for raw in unit.get("errors", []):
                self.unit_errors.append({"label": unit.get("label"), **raw})
        facts, problem = choose_class(reply.get("classes", []), self.class_name)
        if facts is None:
            return LoadReport(None, [self._load_error(problem)], notes)
        try:
            inspected = self.client.request("inspect", **{"class": facts["name"]})
        except WorkerDied as died:
            self.client.start()
            return LoadReport(None, [self._died_finding(died, "inspecting the class")], notes)
        if "fatal" in inspected:
            err = SubjectError.parse(inspected["fatal"])
            return LoadReport(None, [self._load_error(
                f"class {facts['name']} could not be used: building {facts['name']}(0.75) and "
                f"combining two of them raised {err}")], notes)
        self.caps = decide(facts, inspected, self.backward_name)
        for e in self.unit_errors:
            notes.append(f"{e['label']}: {e.get('type')}: {e.get('message', '')} (ignored; loading went on)")
        return LoadReport(self.caps, [], notes)

    def _load_error(self, problem: str) -> Finding:
        """A load-error that also says which statements failed, since that is usually why."""
        message = problem
        evidence = {}
        syntax = [e for e in self.unit_errors if e.get("type") == "SyntaxError"]
        if syntax:
            first = syntax[0]
            loc = self._locate(first.get("where"))
            message = f"{loc}: SyntaxError: {first.get('message')}; {problem}"
            if any(h in (first.get("message") or "") for h in _NEWER_PYTHON_HINTS):
                import platform

                message += (f". If this code runs for you, it may need a newer Python than the "
                            f"{platform.python_version()} gradcheck used (nested quotes in f-strings "
                            "need 3.12): run gradcheck with --python pointing at that interpreter")
            return Finding("load-error", message, location=loc, evidence=evidence)
        if self.unit_errors:
            evidence["statements_that_failed"] = [
                f"{e['label']}: {e.get('type')}: {e.get('message', '')}" for e in self.unit_errors[:10]]
        return Finding("load-error", message, evidence=evidence)

    def _locate(self, where):
        if not where:
            return None
        return self.submission.locate(where[0], where[1])

    def _died_finding(self, died: WorkerDied, doing: str) -> Finding:
        code = "timeout" if died.kind == "timeout" else "crash"
        return Finding(code, f"the submission's code {'hung' if code == 'timeout' else 'died'} while "
                             f"gradcheck was {doing}: {died.detail}", evidence={"while": doing})

    def restart(self) -> None:
        """Bring a fresh worker back to the loaded state after a death."""
        self.client.start()
        self._send_load()

    # -- requests -----------------------------------------------------------------------
    def _api(self) -> dict:
        caps = self.caps
        return {"class": caps.class_name, "data_attr": caps.data_attr, "grad_attr": caps.grad_attr,
                "inputs_attr": caps.inputs_attr, "closure_attr": caps.closure_attr}

    def run(self, graphs: list[Graph], *, grads: bool = True, use_backward: bool = True,
            instrument: bool = False, wire: list[list[dict]] | None = None) -> list[GraphRun]:
        wire = wire if wire is not None else [g.to_wire() for g in graphs]
        backward = self.caps.backward if use_backward else None
        reply = self._request("run", graphs=wire, grads=grads and self.caps.grad_attr is not None,
                              backward=backward, instrument=instrument, **self._api())
        results = reply.get("results") if isinstance(reply.get("results"), list) else []
        return [GraphRun.parse(results[i] if i < len(results) else None, len(w))
                for i, w in enumerate(wire)]

    def local_rule(self, cases: list[dict]) -> list[dict]:
        reply = self._request("local_rule", cases=cases, **self._api())
        results = reply.get("results") if isinstance(reply.get("results"), list) else []
        return [results[i] if i < len(results) and isinstance(results[i], dict) else {}
                for i in range(len(cases))]

    def _request(self, command: str, **fields) -> dict:
        try:
            reply = self.client.request(command, **fields)
        except WorkerDied:
            self.restart()
            raise
        if "fatal" in reply:
            raise WorkerDied("crash", str(SubjectError.parse(reply["fatal"])))
        return reply
