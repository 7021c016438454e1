"""The hostile corpus: submissions that hang, crash, exhaust resources or try to cheat.

Each case edits the small correct ``minimal_value.py`` (``old`` -> ``new``, or code appended at
top level) and states the error findings (code, op) the harness must report. ``{outside}`` in
the code is replaced by a directory outside the sandbox that the test watches.
"""

from dataclasses import dataclass
from pathlib import Path

BASE = (Path(__file__).parent / "minimal_value.py").read_text()


@dataclass(frozen=True)
class Hostile:
    name: str
    expect: frozenset  # error-severity findings (code, op)
    append: str = ""
    old: str = ""
    new: str = ""
    warnings: frozenset = frozenset()  # warning-severity findings that must also appear

    def source(self, outside: Path) -> str:
        src = BASE
        if self.old:
            assert src.count(self.old) == 1, self.name
            src = src.replace(self.old, self.new)
        return (src + "\n" + self.append).replace("{outside}", str(outside))


E = lambda *pairs: frozenset(pairs)  # noqa: E731

CASES = [
    Hostile("loop-at-import", E(), append="while True:\n    pass\n", warnings=E(("timeout", None))),
    Hostile("loop-in-op", E(("timeout", "tanh")),
            old="        t = math.tanh(self.data)\n", new="        while True:\n            pass\n"),
    Hostile("loop-in-backward", E(("timeout", None)),
            old="        self.grad = 1.0\n        for node", new="        while True:\n            pass\n        for node"),
    Hostile("memory-bomb-in-op", E(("memory-limit", "tanh")),
            # 64 MB at a time up to 4 GB: only the sandbox's memory limit (1 GB in the hostile
            # tests) can stop it, unlike one impossible allocation that fails anywhere
            old="        t = math.tanh(self.data)\n",
            new="        hog = [bytearray(1 << 26) for _ in range(64)]\n        t = math.tanh(self.data)\n"),
    # blocked at top level while loading: a warning (a notebook's pip install looks the same)
    Hostile("fork-bomb", E(), warnings=E(("tampering", None)), append=(
        "import os, time\nfor _ in range(500):\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(600)\n            os._exit(0)\n    except OSError:\n        break\n")),
    Hostile("fake-result-then-exit", E(("grad-overwrite", "mul")),
            old="            self.grad += other.data * out.grad", new="            self.grad = other.data * out.grad",
            append=("import json, sys\nprint(json.dumps({'subject': 'x', 'verdict': 'pass', 'findings': []}))\n"
                    "sys.exit(0)\n")),
    Hostile("os-exit-in-backward", E(("crash", None)),
            old="        self.grad = 1.0\n        for node", new="        import os\n        os._exit(0)\n        for node"),
    Hostile("writes-files", E(), warnings=E(("tampering", None)), append=(
        "for path in ['evil.txt', '../evil.txt', '{outside}/evil.txt', '/tmp/gradcheck-evil.txt']:\n"
        "    try:\n        open(path, 'w').write('pwned')\n    except OSError:\n        pass\n")),
    Hostile("monkeypatches-its-own-process", E(("forward-wrong", "tanh")), append=(
        "import builtins, math\nmath.tanh = lambda x: 0.25\nbuiltins.abs = lambda x: 0\n"
        "try:\n    import numpy\n    numpy.allclose = lambda *a, **k: True\nexcept ImportError:\n    pass\n")),
    Hostile("data-that-equals-everything", E(("forward-wrong", "add"), ("forward-wrong", "mul"),
                                               ("forward-wrong", "tanh")),
            old="        self.data = data\n", new=(
                "        class Liar:\n            def __eq__(self, other):\n                return True\n"
                "            def __float__(self):\n                return 0.0\n"
                "        self.data = data if _children == () else Liar()\n")),
    Hostile("million-lines-of-output", E(), append="for i in range(1_000_000):\n    print(i)\n"),
    Hostile("recursion-bomb-at-import", E(), append=(
        "import sys\nsys.setrecursionlimit(10 ** 6)\ndef down(n):\n    return down(n + 1)\ndown(0)\n")),
    Hostile("keyboard-interrupt-in-op", E(("crash", "tanh")),
            old="        t = math.tanh(self.data)\n", new="        raise KeyboardInterrupt\n"),
    Hostile("system-exit-in-backward", E(("crash", None)),
            old="        self.grad = 1.0\n        for node", new="        raise SystemExit(0)\n        for node"),
    Hostile("hash-raises", E(("forward-wrong", "add"), ("forward-wrong", "mul"), ("forward-wrong", "tanh")),
            old="    def __add__(self, other):", new="    def __hash__(self):\n        raise RuntimeError('no hashing')\n\n    def __add__(self, other):"),
    Hostile("repr-and-eq-raise", E(), old="    def __add__(self, other):",
            new="    def __repr__(self):\n        raise RuntimeError('no repr')\n\n    def __eq__(self, other):\n"
                "        raise RuntimeError('no eq')\n\n    __hash__ = object.__hash__\n\n    def __add__(self, other):"),
    Hostile("exit-at-import", E(), append="import os\nos._exit(0)\n", warnings=E(("crash", None))),
    # the class's own code reaching outside its sandbox while it is checked: an error
    Hostile("op-reads-host-files", E(("tampering", None)),
            old="        t = math.tanh(self.data)\n",
            new="        open('/etc/hostname').read()\n        t = math.tanh(self.data)\n"),
    Hostile("backward-signals-processes", E(("tampering", None)),
            old="        self.grad = 1.0\n        for node",
            new="        import os, signal\n        try:\n            os.kill(1, signal.SIGSTOP)\n"
                "        except OSError:\n            pass\n        self.grad = 1.0\n        for node"),
    Hostile("uses-torch-for-gradients", E(("forbidden-import", None)),
            old="        t = math.tanh(self.data)\n",
            new="        import torch\n        t = float(torch.tanh(torch.tensor(self.data, dtype=torch.float64)))\n"),
]
