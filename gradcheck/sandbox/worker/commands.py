"""The worker's request handlers, one per command, over the one submission it has loaded.

``load`` comes first: it sets up the process for the submission (its import path, capped
output, the audit hook) and runs it; the other requests then ask about one of its classes.
Each handler returns a plain reply body; the trusted side checks it against the protocol's
schemas and decides everything.
"""

import sys

import capped_output
import graphs
import loading
import reflection
from describe import describe_exception

try:
    import guard
except ImportError:  # an older copy without the audit hook: run unguarded
    guard = None


class Worker:
    """One request handler per command; the state is the loaded submission's namespace."""

    def __init__(self, channel):
        self.channel = channel
        self.namespace = None
        self.module_name = "submission"

    def handlers(self):
        return {"load": self.load, "inspect": self.inspect, "run": self.run,
                "local_rule": self.local_rule, "modules": self.modules}

    # ---- loading ---------------------------------------------------------------------
    def load(self, req):
        for entry in req.get("sys_path", []):
            sys.path.insert(0, entry)
        if req.get("output_bytes") is not None:
            capped_output.cap(int(req["output_bytes"]) + 1024)  # a little more: the reader sees the cut
        if guard is not None and req.get("guard") is not None:
            guard.install(req["guard"], int(sys.argv[3]) if len(sys.argv) > 3 else None)
        if req.get("module"):
            return self._load_module(req["module"])
        as_main = req.get("as_main", False)
        self.module_name = "__main__" if as_main else "submission"
        self.namespace = loading.fresh_module(self.module_name).__dict__
        runner = loading.UnitRunner(self.channel, self.namespace, req)
        units = []
        for index, unit in enumerate(req["units"]):
            units.append({"label": unit["label"], "errors": runner.run(index, unit)})
        runner.bind_kept()
        return {"units": units, "classes": self._candidate_classes(), "modules": sorted(sys.modules)}

    def modules(self, req):
        """Which modules are imported now (the trusted side checks its forbidden list)."""
        return {"modules": sorted(sys.modules)}

    def _load_module(self, spec):
        import importlib

        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:
            return {"fatal": describe_exception(exc)}
        self.module_name = module.__name__
        self.namespace = vars(module)
        return {"units": [], "classes": self._candidate_classes(only=attr or None),
                "modules": sorted(sys.modules)}

    def _candidate_classes(self, only=None):
        return reflection.candidate_classes(self.namespace, self.module_name, only)

    # ---- questions about one class -----------------------------------------------------
    def inspect(self, req):
        return reflection.inspect_class(self.namespace[req["class"]], self.module_name, req,
                                        announce=lambda op: self.channel.send("progress", op=op))

    def run(self, req):
        return graphs.run(self.namespace[req["class"]], req)

    def local_rule(self, req):
        return graphs.local_rule(self.namespace[req["class"]], req)
