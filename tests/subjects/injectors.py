"""Registry of bug injectors: small source edits that break a correct implementation on purpose.

Each injector names the design it applies to, the exact text it replaces, and the findings
(code, op) a perfect diagnosis reports. Text edits (rather than monkeypatching) keep the
injected subject an ordinary file that runs in the worker like any submission.
"""

from dataclasses import dataclass

from conftest import REFERENCE

DESIGNS = {
    "closure": (REFERENCE / "correct_full.py").read_text(),
    "iterative": (REFERENCE / "correct_iterative.py").read_text(),
    "tape": (REFERENCE / "correct_tape.py").read_text(),
}


def _rewrite(source: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


# Ops learners add beyond the lecture's, under the names they give them: `__exp__`, `ReLU`,
# `Tanh`, `Sigmoid`, `leakyrelu` with a default slope, the exact (erf) GELU, a `__pow__` that
# takes value exponents too, `2 ** x`, sqrt, sin, cos, softplus.
LEARNER_OPS = '''    def __pow__(self, k):
        if isinstance(k, Value):
            out = Value(self.data ** k.data, (self, k), "**")

            def _backward():
                self.grad += k.data * self.data ** (k.data - 1) * out.grad
                k.grad += out.data * math.log(self.data) * out.grad
            out._backward = _backward
            return out
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def __rpow__(self, base):  # base ** self
        out = Value(base ** self.data, (self,), "rpow")

        def _backward():
            self.grad += out.data * math.log(base) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        root = math.sqrt(self.data)
        out = Value(root, (self,), "sqrt")

        def _backward():
            self.grad += 0.5 / root * out.grad
        out._backward = _backward
        return out

    def sin(self):
        out = Value(math.sin(self.data), (self,), "sin")

        def _backward():
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def cos(self):
        out = Value(math.cos(self.data), (self,), "cos")

        def _backward():
            self.grad += -math.sin(self.data) * out.grad
        out._backward = _backward
        return out

    def leakyrelu(self, alpha=0.01):
        out = Value(self.data if self.data > 0 else alpha * self.data, (self,), "leakyrelu")

        def _backward():
            self.grad += (1.0 if self.data > 0 else alpha) * out.grad
        out._backward = _backward
        return out

    def softplus(self):
        out = Value(math.log(1 + math.exp(self.data)), (self,), "softplus")

        def _backward():
            self.grad += 1 / (1 + math.exp(-self.data)) * out.grad
        out._backward = _backward
        return out

    def gelu(self):
        cdf = 0.5 * (1 + math.erf(self.data / math.sqrt(2)))
        out = Value(self.data * cdf, (self,), "gelu")

        def _backward():
            density = math.exp(-self.data ** 2 / 2) / math.sqrt(2 * math.pi)
            self.grad += (cdf + self.data * density) * out.grad
        out._backward = _backward
        return out
'''
DESIGNS["learner_ops"] = _rewrite(
    DESIGNS["closure"],
    ('    def __pow__(self, k):\n        assert isinstance(k, (int, float)), "only constant exponents"\n'
     '        out = Value(self.data ** k, (self,), f"**{k}")\n\n        def _backward():\n'
     "            self.grad += k * self.data ** (k - 1) * out.grad\n        out._backward = _backward\n"
     "        return out\n", LEARNER_OPS),
    ("    def exp(self):", "    def __exp__(self):"),
    ("    def tanh(self):", "    def Tanh(self):"),
    ("    def relu(self):", "    def ReLU(self):"),
    ("    def sigmoid(self):", "    def Sigmoid(self):"),
)


@dataclass(frozen=True)
class Injector:
    name: str
    design: str
    old: str
    new: str
    expect: frozenset  # {(code, op)} of error-severity findings

    def source(self) -> str:
        base = DESIGNS[self.design]
        assert base.count(self.old) == 1, f"{self.name}: {self.old!r} must occur exactly once"
        return base.replace(self.old, self.new)


def E(*pairs):
    return frozenset(pairs)


REGISTRY = [
    # --- closure design (micrograd-like) ---
    Injector("add-overwrite", "closure", "self.grad += out.grad\n            other.grad += out.grad",
             "self.grad = out.grad\n            other.grad = out.grad", E(("grad-overwrite", "add"))),
    Injector("mul-overwrite", "closure", "self.grad += other.data * out.grad",
             "self.grad = other.data * out.grad", E(("grad-overwrite", "mul"))),
    Injector("mul-missing-factor", "closure", "other.grad += self.data * out.grad",
             "other.grad += self.data", E(("missing-chain-factor", "mul"))),
    Injector("mul-swapped", "closure", "self.grad += other.data * out.grad",
             "self.grad += self.data * out.grad", E(("wrong-derivative", "mul"))),
    Injector("pow-overwrite", "closure", "self.grad += k * self.data ** (k - 1) * out.grad",
             "self.grad = k * self.data ** (k - 1) * out.grad", E(("grad-overwrite", "pow"))),
    Injector("pow-wrong", "closure", "self.grad += k * self.data ** (k - 1) * out.grad",
             "self.grad += k * self.data ** k * out.grad", E(("wrong-derivative", "pow"))),
    Injector("exp-missing-factor", "closure", "self.grad += out.data * out.grad",
             "self.grad += out.data", E(("missing-chain-factor", "exp"))),
    Injector("exp-forward", "closure", "out = Value(math.exp(self.data), (self,), \"exp\")",
             "out = Value(math.exp(self.data) + 1e-3, (self,), \"exp\")", E(("forward-wrong", "exp"))),
    Injector("log-wrong", "closure", "self.grad += (1 / self.data) * out.grad",
             "self.grad += (1 / self.data ** 2) * out.grad", E(("wrong-derivative", "log"))),
    Injector("log-not-propagated", "closure", "self.grad += (1 / self.data) * out.grad",
             "pass", E(("grad-not-propagated", "log"))),
    Injector("tanh-missing-factor", "closure", "self.grad += (1 - t ** 2) * out.grad",
             "self.grad += (1 - t ** 2)", E(("missing-chain-factor", "tanh"))),
    Injector("tanh-wrong", "closure", "self.grad += (1 - t ** 2) * out.grad",
             "self.grad += (1 - t) * out.grad", E(("wrong-derivative", "tanh"))),
    Injector("relu-overwrite", "closure", "self.grad += (1.0 if out.data > 0 else 0.0) * out.grad",
             "self.grad = (1.0 if out.data > 0 else 0.0) * out.grad", E(("grad-overwrite", "relu"))),
    Injector("sigmoid-wrong", "closure", "self.grad += s * (1 - s) * out.grad",
             "self.grad += s * out.grad", E(("wrong-derivative", "sigmoid"))),
    Injector("sigmoid-overwrite-missing", "closure", "self.grad += s * (1 - s) * out.grad",
             "self.grad = s * (1 - s)", E(("grad-overwrite", "sigmoid"), ("missing-chain-factor", "sigmoid"))),
    Injector("topo-no-visited", "closure", "            if v not in visited:\n                visited.add(v)\n",
             "            if True:\n", E(("topo-revisit", None))),
    Injector("topo-visited-per-call", "closure",
             "        topo, visited = [], set()\n\n        def build_topo(v):\n",
             "        topo = []\n\n        def build_topo(v):\n            visited = set()\n",
             E(("topo-revisit", None))),
    Injector("topo-recursive-children", "closure",
             "        build_topo(self)\n        self.grad = 1.0\n        for v in reversed(topo):\n            v._backward()",
             "        def push(v):\n            v._backward()\n            for child in v._prev:\n                push(child)\n"
             "        self.grad = 1.0\n        push(self)",
             E(("topo-revisit", None))),
    Injector("topo-recursive-children-visited", "closure",
             "        build_topo(self)\n        self.grad = 1.0\n        for v in reversed(topo):\n            v._backward()",
             "        done = set()\n\n        def push(v):\n            if v in done:\n                return\n"
             "            done.add(v)\n            v._backward()\n            for child in v._prev:\n                push(child)\n"
             "        self.grad = 1.0\n        push(self)",
             E(("topo-order", None))),
    Injector("topo-not-reversed", "closure", "for v in reversed(topo):", "for v in topo:",
             E(("topo-order", None))),
    Injector("no-seed", "closure", "        self.grad = 1.0\n        for v in reversed(topo):",
             "        for v in reversed(topo):", E(("grad-seed", None))),
    Injector("grad-starts-at-one", "closure", "        self.grad = 0.0\n        self._backward = lambda: None",
             "        self.grad = 1.0\n        self._backward = lambda: None", E(("grad-seed", None))),
    Injector("no-backward", "closure", "    def backward(self):", "    def _unused(self):",
             E(("no-backward", None))),
    # --- iterative design (own rule per op, unhashable values, backprop()) ---
    Injector("it-accumulate-overwrite", "iterative", "child.grad = child.grad + local * out.grad",
             "child.grad = local * out.grad", E(*(("grad-overwrite", op) for op in
                                                  ("add", "sub", "mul", "truediv", "neg", "pow", "exp", "log",
                                                   "tanh", "relu", "sigmoid")))),
    Injector("it-sub-sign", "iterative", "lambda o: (1, -1)", "lambda o: (1, 1)", E(("wrong-derivative", "sub"))),
    Injector("it-div-wrong", "iterative", "-self.data / other.data ** 2", "self.data / other.data ** 2",
             E(("wrong-derivative", "truediv"))),
    Injector("it-sub-forward", "iterative", "self.data - other.data, (self, other), \"-\"",
             "other.data - self.data, (self, other), \"-\"", E(("forward-wrong", "sub"))),
    Injector("it-no-zero-seed", "iterative", "        self.grad = 1\n", "", E(("grad-seed", None))),
    Injector("it-bfs", "iterative", "order, seen, stack = [], set(), [(self, False)]\n        while stack:\n            node, done = stack.pop()",
             "order, seen, stack = [], set(), [(self, False)]\n        while stack:\n            node, done = stack.pop(0)",
             E(("topo-order", None))),
    # --- tape design (nothing to instrument: diagnosed by op-by-op search and fingerprinting) ---
    Injector("tape-mul-overwrite", "tape", "                    parent.grad += local * node.grad",
             "                    if node._rule[0] == '*':\n                        parent.grad = local * node.grad\n"
             "                    else:\n                        parent.grad += local * node.grad",
             E(("grad-overwrite", "mul"))),
    Injector("tape-tanh-missing-factor", "tape", "                    parent.grad += local * node.grad",
             "                    parent.grad += local * (1 if node._rule[0] == 'tanh' else node.grad)",
             E(("missing-chain-factor", "tanh"))),
    Injector("tape-exp-not-propagated", "tape", 'return Var(e, ("exp", ((self, e),)))',
             'return Var(e, ("exp", ()))', E(("grad-not-propagated", "exp"))),
    Injector("tape-log-wrong", "tape", '("log", ((self, 1 / self.data),))',
             # no closures to observe: named by back-propagating log alone through backward()
             '("log", ((self, 1 / self.data ** 2),))', E(("wrong-derivative", "log"))),
    Injector("tape-no-visited", "tape", "            elif id(node) not in seen:", "            else:",
             E(("topo-revisit", None))),
    Injector("tape-not-reversed", "tape", "for node in reversed(order):", "for node in order:",
             E(("topo-order", None))),
    Injector("tape-no-seed", "tape", "        self.grad = 1.0\n", "", E(("grad-seed", None))),
    # --- ops learners add, under their own names (DESIGNS["learner_ops"]) ---
    Injector("leakyrelu-slope-sign", "learner_ops", "self.grad += (1.0 if self.data > 0 else alpha) * out.grad",
             "self.grad += (1.0 if self.data > 0 else -alpha) * out.grad", E(("wrong-derivative", "leaky_relu"))),
    Injector("cos-sign", "learner_ops", "self.grad += -math.sin(self.data) * out.grad",
             "self.grad += math.sin(self.data) * out.grad", E(("wrong-derivative", "cos"))),
    Injector("vpow-exponent-missing-factor", "learner_ops",
             "k.grad += out.data * math.log(self.data) * out.grad", "k.grad += out.data * math.log(self.data)",
             E(("missing-chain-factor", "vpow"))),
    Injector("gelu-overwrite", "learner_ops", "self.grad += (cdf + self.data * density) * out.grad",
             "self.grad = (cdf + self.data * density) * out.grad", E(("grad-overwrite", "gelu"))),
]
