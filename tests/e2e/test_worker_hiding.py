"""The worker hides its own modules from the submission it runs: none of the files copied into
its sandbox folder can be imported by name, the folder is not on ``sys.path``, ``__main__`` is
not the worker's script, and the request handlers' classes are not under names a submission's
own module could have (the guard lets a submission change only its own modules' classes)."""

import json

from gradcheck.sandbox import client as client_module
from gradcheck.sandbox.client import WorkerClient
from gradcheck.sandbox.limits import Limits

COPIED = sorted(p.stem for p in client_module._WORKER_MODULES)
# Their classes keep these module names; every other module's classes are the worker's.
COMPANIONS = {name for name in COPIED if name == "protocol" or name.startswith("guard")}

PROBE = """
import json, sys
seen = {"imports": {}}
for name in NAMES:
    try:
        module = __import__(name)
    except ImportError:
        seen["imports"][name] = "absent"
    else:
        seen["imports"][name] = "its own" if getattr(module, "MINE", False) else "the worker's"
seen["runtime_on_path"] = [p for p in sys.path if p.rstrip("/") == RUNTIME.rstrip("/")]
seen["main"] = sorted(k for k in vars(sys.modules["__main__"]) if not k.startswith("__"))
seen["class_modules"] = sorted({c.__module__ for c in object.__subclasses__()
                                if isinstance(c.__module__, str)} & set(NAMES))
print("SEEN" + json.dumps(seen))
"""


def test_a_submission_cannot_import_the_workers_modules(tmp_path):
    assert {"worker", "guard", "protocol", "graphs"} <= set(COPIED), COPIED
    # the submission brings a helper named like one of the worker's modules: it gets its own
    files = {"graphs.py": b"MINE = True\n"}
    client = WorkerClient(limits=Limits(), files=files)
    try:
        client.start()
        code = PROBE.replace("NAMES", repr(COPIED)).replace("RUNTIME", repr(client.inside["runtime"]))
        unit = {"label": "probe.py", "filename": f"{client.inside['submission']}/probe.py", "code": code}
        reply = client.request("load", units=[unit], sys_path=[client.inside["submission"]],
                               statement_timeout=5, load_budget=5)
    finally:
        client.close()
    assert reply["units"][0]["errors"] == [], reply["units"]
    line = next(ln for ln in client.captured_output().splitlines() if ln.startswith("SEEN"))
    seen = json.loads(line[len("SEEN"):])
    expected = {name: "its own" if name == "graphs" else "absent" for name in COPIED}
    assert seen["imports"] == expected
    assert seen["runtime_on_path"] == []
    assert seen["main"] == []
    assert set(seen["class_modules"]) <= COMPANIONS, seen["class_modules"]
