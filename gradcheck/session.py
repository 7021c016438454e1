"""One subject under test: its worker, its chosen class and capabilities, and typed requests.

Loading produces either a ready session or ``load-error`` findings. If the worker dies
mid-check, the session restarts it (replaying the load) and raises ``WorkerDied`` so the check
that was running can record a finding naming what it was doing.
"""

from __future__ import annotations

import platform
import posixpath
from dataclasses import dataclass

from gradcheck.capabilities import (
    Capabilities,
    choose_class,
    decide,
    driver_question,
    probe_wires,
    settle_by_behaviour,
    settle_probes,
)
from gradcheck.findings import WARNING, Finding, Stage
from gradcheck.graph import Graph
from gradcheck.loader import VIRTUAL_ROOT, Submission
from gradcheck.ops import OPS, get_op
from gradcheck.sandbox import bubblewrap, protocol
from gradcheck.sandbox.client import WorkerClient
from gradcheck.sandbox.limits import Limits, WorkerDied
from gradcheck.sandbox.replies import (
    DriverProbe,
    GraphRun,
    Identity,
    OpStructure,
    RuleProbe,
    SubjectError,
    parse_list,
)
from gradcheck.source import newer_syntax

MAX_KILLER_STATEMENTS = 3
MAX_KILLER_OPS = 3  # ops left out of the inspection for killing the worker, before giving up on probes


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
        self.client = WorkerClient(python=python, limits=limits, files=submission.files)
        submission.copy_roots = (self.client.inside["submission"],)
        self.caps: Capabilities | None = None
        self.structure: list[OpStructure] = []  # what each op's result held when inspected
        self.identity = Identity()
        self.leaf_callables: set[str] = set()  # callable attributes a fresh leaf already has
        self.unit_errors: list[dict] = []
        self.modules_after_load: list[str] = []
        self.attempts_at_load: int | None = None  # how many guard reports came while loading
        self.dead = False  # the worker could not be brought back; every request now fails
        self.skipped: set[tuple[int, int]] = set()  # (unit, statement) that killed the worker
        self.killed_by: dict[str, WorkerDied] = {}  # op -> its death when the class was inspected
        # standard modules the submission uses but never imports, imported for it after its own
        # units (see ``import_for_it``)
        self.extra_imports: tuple[str, ...] = ()

    def __enter__(self) -> SubjectSession:
        # one budget for the subject's code: loading, every check, every restart
        self.client.budget = self.limits.subject_seconds
        self.client.start()
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    @property
    def limits(self) -> Limits:
        return self.client.limits

    # -- loading ------------------------------------------------------------------------
    @property
    def out_of_time(self) -> bool:
        left = self.client.remaining()
        return left is not None and left <= 0

    def _send_load(self) -> dict:
        lim = self.limits
        inside = self.client.inside
        sys_path = [posixpath.join(inside["submission"], rel).rstrip("/") for rel in self.submission.sys_path]
        return self.client.request(
            "load", timeout=lim.load_timeout, units=self.submission.wire_units() + self._extra_units(),
            module=self.submission.module, sys_path=sys_path,
            as_main=self.submission.kind == "notebook", statement_timeout=lim.statement_timeout,
            load_budget=lim.load_budget, skip=sorted(self.skipped), output_bytes=lim.output_bytes,
            guard=self._guard_policy())

    def _reload(self) -> None:
        """Load the submission again in a fresh worker (after a death). What the guard reports
        while its top-level code runs again belongs with loading, not with the checks: kept
        after the load-time reports, it made a correct notebook's `try: import torch` look
        like an attempt made while its class was checked."""
        before = len(self.client.tampering)
        try:
            self._send_load()
        finally:
            at_load = self.attempts_at_load
            if at_load is not None and len(self.client.tampering) > before:
                again = self.client.tampering[before:]
                del self.client.tampering[before:]
                self.client.tampering[at_load:at_load] = again
                self.attempts_at_load = at_load + len(again)

    def _extra_units(self) -> list[dict]:
        """Appended, not prepended: skipped statements are counted by unit, and a method looks
        a module up when it is called, not when it is defined."""
        if not self.extra_imports:
            return []
        return [{"label": "gradcheck: imports the submission forgot", "filename": f"{VIRTUAL_ROOT}/<gradcheck>",
                 "code": "\n".join(f"import {name}" for name in self.extra_imports)}]

    def import_for_it(self, modules: list[str]) -> bool:
        """Reload the submission with these standard modules imported into its namespace, so
        that a missing ``import math`` does not hide the rest of an op's defects. False when the
        worker could not be brought back (the session is then as dead as after any failure)."""
        if self.submission.kind == "module" or not modules:
            return False
        self.extra_imports = tuple(dict.fromkeys([*self.extra_imports, *modules]))
        self.client.kill()
        self.restart()
        return not self.dead

    def _guard_policy(self) -> dict:
        """What the worker's audit hook lets the submission do (see ``sandbox/worker/guard.py``)."""
        inside = self.client.inside
        readable = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache",
                    *bubblewrap.runtime_paths(self.client.python)]
        return {"scratch": inside["scratch"], "readable": readable,
                "submission_files": [u.filename for u in self.submission.units],
                "submission_dirs": [inside["submission"], VIRTUAL_ROOT],
                "forbidden_modules": list(self.limits.forbidden_imports),
                "submission_modules": ["submission", "__main__", *self._module_name()],
                # torch and its kind load through ctypes: a library the user allowed may use it
                "allow_ctypes": bool(set(Limits().forbidden_imports) - set(self.limits.forbidden_imports))}

    def _load_skipping_killers(self) -> dict:
        """Load; if a top-level statement kills the worker (``os._exit`` at import, a crash in
        C code), restart and load again without that statement -- a few times at most."""
        for _ in range(MAX_KILLER_STATEMENTS):
            self.client.last_progress = None
            try:
                return self._send_load()
            except WorkerDied:
                killer = self.client.read_progress()
                if killer is None or killer in self.skipped:
                    raise
                self.skipped.add(killer)
                self.client.start()
        return self._send_load()

    def load(self) -> LoadReport:
        try:
            reply = self._load_skipping_killers()
        except WorkerDied as died:
            return LoadReport(None, [self._died_finding(died, "loading the submission")], [])
        if "fatal" in reply:
            err = SubjectError.parse(reply["fatal"])
            return LoadReport(None, [Finding("load-error", f"could not import the submission: {err}",
                                             location=self._locate(err.where))], [])
        for unit in reply.get("units") or []:
            for raw in unit.get("errors") or []:
                if isinstance(raw, dict):
                    self.unit_errors.append({"label": unit.get("label"), **raw})
        self.modules_after_load = [m for m in reply.get("modules") or [] if isinstance(m, str)]
        self.attempts_at_load = len(self.client.tampering)
        facts, problem = choose_class(reply.get("classes") or [], self.class_name)
        if facts is None:
            refused = [a.get("detail") for a in self.client.tampering if a.get("kind") == protocol.FORBIDDEN_IMPORT]
            if refused:  # `from micrograd.engine import Value`: nothing of the submission's own
                problem = (f"the class is imported from `{refused[0]}`, a library gradcheck does not "
                           f"let a submission use (--allow-import lifts this); {problem}")
            return LoadReport(None, [self._load_error(problem)], [])
        try:
            inspected = self._inspect(facts["name"])
        except WorkerDied as died:
            return LoadReport(None, [self._died_finding(died, "inspecting the class")], [])
        if "fatal" in inspected:
            err = SubjectError.parse(inspected["fatal"])
            return LoadReport(None, [self._load_error(
                f"class {facts['name']} could not be used: building {facts['name']}(0.75) and "
                f"combining two of them raised {err}")], [])
        self.caps = decide(facts, inspected, self.backward_name)
        self.structure = parse_list(inspected.get("probes"), OpStructure.parse)
        self.identity = Identity.parse(inspected.get("identity"))
        self.leaf_callables = {k for k in inspected.get("leaf_callables") or {} if isinstance(k, str)}
        question = driver_question(self.caps, inspected, self.backward_name)
        if question is not None:
            settle_by_behaviour(self.caps, inspected, self._drive(facts["name"], question))
        self._confirm_ops()
        if self.backward_name and self.caps.backward is None:
            return LoadReport(None, [self._load_error(
                f"--backward {self.backward_name}: {facts['name']} has no method of that name")], [])
        return LoadReport(self.caps, self._statement_findings(), self._statement_notes())

    def _inspect(self, class_name: str) -> dict:
        """The class's facts, with every op of the table probed for what its result holds. An
        op whose code kills the worker there (it hangs, exhausts memory, exits) is left out and
        the class inspected again without it; the death is kept in ``killed_by`` for the op's
        forward check to report, instead of calling the op again and waiting out the same limit.
        If the worker dies before any op's code ran, the class is inspected on ``a * b`` and
        ``a + b`` alone (the op's own check then meets and reports the same death)."""
        probes = [{"op": op.name, "method": method, "arity": op.arity,
                   "expr": op.apply_source([f"{{{i}}}" for i in range(op.arity)],
                                           op.constants[0] if op.constants else None, method)}
                  for op in OPS for method in op.methods]
        while True:
            self.client.last_op = None
            try:
                reply = self.client.request("inspect", probes=probes, **{"class": class_name})
                op, died = self._probe_that_stopped_the_process(reply, probes)
                if op is None:
                    return reply
                self.client.kill()  # its state is suspect, as after any such error
            except WorkerDied as died_here:
                # the op the worker said it was calling (one of those asked: the channel is
                # not believed beyond that)
                op, died = (self.client.last_op if not died_here.budget else None), died_here
            self.client.start()
            self._reload()
            if (op is None or len(self.killed_by) >= MAX_KILLER_OPS
                    or not any(p["op"] == op for p in probes)):
                return self.client.request("inspect", **{"class": class_name})
            self.killed_by[op] = died
            probes = [p for p in probes if p["op"] != op]

    def _probe_that_stopped_the_process(self, reply: dict, probes: list[dict]) -> tuple[str | None, WorkerDied | None]:
        """An op whose probe ran out of memory (or raised SystemExit) is a death like one that
        killed the worker: probed again by the forward check, a memory bomb would only fill the
        memory limit again -- several times over, one call after another, until the request's
        time ran out and it was reported as a hang."""
        asked = {p["op"] for p in probes}
        for entry in reply.get("probes") or []:  # the protocol checked each entry's types
            died = self._process_error(entry.get("error"))
            if died is not None and entry.get("op") in asked:
                return entry["op"], died
        return None, None

    def _drive(self, class_name: str, question: dict) -> list[DriverProbe]:
        """Call the candidate backward() methods (see ``capabilities.driver_question``); a
        candidate that kills the worker decides nothing, and the worker is brought back."""
        try:
            reply = self.client.request("inspect", **question, **{"class": class_name})
        except WorkerDied:
            self.restart()
            return []
        return parse_list(reply.get("drivers"), DriverProbe.parse)

    def _statement_notes(self) -> list[str]:
        return [f"{e['label']}: {e.get('type')}: {e.get('message', '')} (ignored; loading went on)"
                for e in self.unit_errors if e.get("type") not in ("StatementTimeout", "Skipped")]

    def _statement_findings(self) -> list[Finding]:
        """A top-level statement that had to be stopped is worth a warning (notebooks train
        networks at top level), not a failure: the class itself loaded."""
        findings = []
        for kind, code, what in (("StatementTimeout", "timeout", f"ran longer than "
                                  f"{self.limits.statement_timeout:g}s and were stopped"),
                                 ("Killed", "crash", "killed the interpreter and were skipped")):
            hit = [e for e in self.unit_errors if e.get("type") == kind]
            if hit:
                first = hit[0]
                findings.append(Finding(
                    code, f"{len(hit)} top-level statement(s) {what} while loading (first: "
                    f"{first['label']}, line {first.get('statement')}); the class was checked "
                    "without them", severity=WARNING, location=self._locate(first.get("where")),
                    evidence={"while": "loading"}))
        return findings

    def _load_error(self, problem: str) -> Finding:
        """A load-error that also says which statements failed, since that is usually why."""
        syntax = [e for e in self.unit_errors if e.get("type") == "SyntaxError"]
        if syntax:
            first = syntax[0]
            loc = self._locate(first.get("where"))
            message = f"{loc}: SyntaxError: {first.get('message')}; {problem}"
            newer = newer_syntax(loc.text or "") if loc is not None else None
            if newer:
                message += (f". This is {newer}, which needs a newer Python than the "
                            f"{platform.python_version()} gradcheck used: run gradcheck with "
                            "--python pointing at that interpreter")
            return Finding("load-error", message, location=loc)
        evidence = {}
        if self.unit_errors:
            evidence["statements_that_failed"] = [
                f"{e['label']}: {e.get('type')}: {e.get('message', '')}" for e in self.unit_errors[:10]]
        return Finding("load-error", problem, evidence=evidence)

    def _locate(self, where):
        if not where or not isinstance(where, list | tuple) or len(where) != 2:
            return None
        return self.submission.locate(where[0], where[1])

    def _died_finding(self, died: WorkerDied, doing: str) -> Finding:
        return Finding(died.kind, f"the submission's code {died.verb} while gradcheck was {doing}: "
                                  f"it {died.detail}", evidence={"while": doing}, stage=Stage.LOADING)

    def restart(self) -> None:
        """Bring a fresh worker back to the loaded state after a death; if even loading now
        fails, the session is dead and every later request fails at once (as it is when the
        subject's time is used up: no worker is started only to be stopped)."""
        if self.out_of_time:
            self.client.kill()
            self.dead = True
            return
        try:
            self.client.start()
            self._reload()
        except (WorkerDied, OSError):
            self.client.kill()
            self.dead = True

    def _module_name(self) -> list[str]:
        """An installed module checked as itself may change its own classes."""
        module = self.submission.module
        return [module.partition(":")[0]] if module else []

    # -- requests -----------------------------------------------------------------------
    def _api(self) -> dict:
        caps = self.caps
        return {"class": caps.class_name, "data_attr": caps.data_attr, "grad_attr": caps.grad_attr,
                "inputs_attr": caps.inputs_attr, "closure_attr": caps.closure_attr}

    def run(self, graphs: list[Graph], *, grads: bool = True, use_backward: bool = True,
            instrument: bool = False, wire: list[list[dict]] | None = None) -> list[GraphRun]:
        wire = wire if wire is not None else [g.to_wire(self.caps.op_methods) for g in graphs]
        backward = self.caps.backward if use_backward else None
        reply = self._request("run", graphs=wire, grads=grads and self.caps.grad_attr is not None,
                              backward=backward, instrument=instrument, **self._api())
        return self._runs(reply, [len(w) for w in wire])

    def _runs(self, reply: dict, sizes: list[int]) -> list[GraphRun]:
        """A run reply's results, one per graph of ``sizes`` nodes (a missing one is malformed)."""
        results = reply.get("results") if isinstance(reply.get("results"), list) else []
        runs = [GraphRun.parse(results[i] if i < len(results) else None, size)
                for i, size in enumerate(sizes)]
        self._raise_on_process_errors([r.error for r in runs])
        return runs

    def run_chain(self, depth: int, *, use_backward: bool) -> SubjectError | None:
        """What a chain of ``depth`` additions raised, if anything (the robustness check: only
        the error matters). The chain goes as a description and comes back without numbers."""
        chain = {"leaves": [0.5, 0.25], "expr": get_op("add").apply_source(["{0}", "{1}"]), "depth": depth}
        reply = self._request("run", graphs=[chain], grads=self.caps.grad_attr is not None, numbers=False,
                              backward=self.caps.backward if use_backward else None, **self._api())
        return self._runs(reply, [len(chain["leaves"]) + depth])[0].error

    def _confirm_ops(self) -> None:
        """Run once each op a method alone does not confirm (capabilities.probe_wires); an op
        whose probe kills the worker is not taken."""
        wires = probe_wires(self.caps)
        if not wires:
            return
        try:
            runs = self.run([], grads=False, wire=list(wires.values()))
        except WorkerDied:
            runs = [None] * len(wires)
        settle_probes(self.caps, dict(zip(wires, runs, strict=True)))

    def local_rule(self, cases: list[dict]) -> list[RuleProbe]:
        reply = self._request("local_rule", cases=cases, **self._api())
        results = reply.get("results") if isinstance(reply.get("results"), list) else []
        probes = [RuleProbe.parse(results[i] if i < len(results) else None, len(case["inputs"]))
                  for i, case in enumerate(cases)]
        self._raise_on_process_errors([p.error for p in probes])
        return probes

    def imported_modules(self) -> list[str]:
        reply = self._request("modules")
        return [m for m in reply.get("modules") or [] if isinstance(m, str)]

    def _raise_on_process_errors(self, errors) -> None:
        """A MemoryError is the memory limit at work, and SystemExit or KeyboardInterrupt from
        an op is an attempt to stop the process -- not exceptions of the subject's own: the
        worker's state is suspect afterwards, so it is replaced."""
        for e in errors:
            died = self._process_error(e.type) if e is not None else None
            if died is not None:
                raise self._replace_worker(died.kind, died.detail)

    def _process_error(self, error_type: str | None) -> WorkerDied | None:
        if error_type == "MemoryError":
            return WorkerDied("memory-limit", f"exceeded the memory limit ({self.limits.memory_mb} MB)")
        if error_type in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
            return WorkerDied("crash", f"raised {error_type} to stop the process")
        return None

    def _replace_worker(self, kind: str, detail: str) -> WorkerDied:
        """Kill a worker whose state can't be trusted, start a fresh one; the error to raise."""
        self.client.kill()
        self.restart()
        return WorkerDied(kind, detail)

    def _request(self, command: str, **fields) -> dict:
        if self.out_of_time:
            raise self.client.budget_used_up()
        if self.dead:
            raise WorkerDied("crash", "could not be restarted after an earlier failure")
        try:
            reply = self.client.request(command, **fields)
        except WorkerDied:
            self.restart()
            raise
        if "fatal" in reply:
            err = SubjectError.parse(reply["fatal"])
            raise self._replace_worker("memory-limit" if err.type == "MemoryError" else "crash",
                                       f"broke the worker ({err})")
        return reply
