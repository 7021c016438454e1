"""Where the worker says a submission's exception happened: the innermost frame of the
submission's own code -- found without reading every frame of a deep traceback, since each read
is an audited event the worker's guard has to judge (run in a fresh interpreter: an audit hook
cannot be removed again)."""

import json
import subprocess
import sys
from pathlib import Path

import gradcheck.sandbox.worker as worker_package

WORKER = Path(worker_package.__file__).parent

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import describe

SUBJECT = "def walk(n):\\n    return walk(n + 1)\\n\\ndef helper(f):\\n    return f()\\n"
WORKERS = "def run(f):\\n    return f()\\n\\ndef fail():\\n    raise ValueError('x')\\n"
subject, worker = {}, {}
exec(compile(SUBJECT, "/submission/value.py", "exec"), subject)
exec(compile(WORKERS, "/worker/graphs.py", "exec"), worker)
describe.count_as_worker(["/worker/graphs.py"])

reads = []
sys.addaudithook(lambda event, args: reads.append(1)
                 if event == "object.__getattr__" and args[1] == "tb_frame" else None)
found = {}
for name, call in (("deep", lambda: worker["run"](lambda: subject["walk"](0))),
                   ("worker-innermost", lambda: worker["run"](lambda: subject["helper"](worker["fail"])))):
    try:
        call()
    except (RecursionError, ValueError) as exc:
        reads.clear()
        depth, tb = 0, exc.__traceback__
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        found[name] = {"where": describe.describe_exception(exc)["where"], "reads": len(reads),
                       "depth": depth}
print(json.dumps(found))
"""


def test_the_innermost_submission_frame_is_found_from_the_inner_end():
    out = subprocess.run([sys.executable, "-I", "-c", PROBE, str(WORKER)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    found = json.loads(out)
    deep = found["deep"]
    assert deep["depth"] > 500  # a RecursionError's traceback
    assert deep["where"] == ["/submission/value.py", 2]
    assert deep["reads"] == 1  # not one read per entry
    # the innermost entries are the worker's own: the submission's frame just outside them
    inner = found["worker-innermost"]
    assert inner["where"] == ["/submission/value.py", 5]
    assert inner["reads"] == 2
