"""Building graphs with the submission's class and running them: whole graphs (``run``) and one
op at a time with preset gradients (``local_rule``, SPEC Checks 3).

Only observations leave here -- values, gradients, exception types, which closures ran -- never
a comparison with an expected number: the trusted side judges them.
"""

from describe import describe_exception, node_number, number
from instrument import TopoRecorder
from traversal import harness_backward


class Config:
    """The subject's API as decided by the trusted side (names only, no judgement)."""

    def __init__(self, cls, req):
        self.cls = cls
        self.data_attr = req.get("data_attr", "data")
        self.grad_attr = req.get("grad_attr", "grad")
        self.inputs_attr = req.get("inputs_attr")
        self.closure_attr = req.get("closure_attr")
        self.backward = req.get("backward")
        self.want_grads = req.get("grads", True)
        self.instrument = req.get("instrument", False)
        self.numbers = req.get("numbers", True)  # False: only whether it raised, and where


# Each op's expression made into a function once: a graph repeats a handful of expressions (a
# robustness chain is 3000 of the same one), and compiling and evaluating an expression per node
# -- with an audit event each time -- was most of the cost of building it.
_APPLY = {}


def _apply(expr, arity):
    key = (expr, arity)
    fn = _APPLY.get(key)
    if fn is None:
        names = ["v%d" % i for i in range(arity)]
        fn = _APPLY[key] = eval("lambda %s: %s" % (", ".join(names), expr.format(*names)), {})
    return fn


def build(cls, graph):
    if isinstance(graph, dict):
        return _chain(cls, graph)
    nodes = []
    for spec in graph:
        if "leaf" in spec:
            nodes.append(cls(spec["leaf"]))
        else:
            args = spec["args"]
            nodes.append(_apply(spec["expr"], len(args))(*[nodes[a] for a in args]))
    return nodes


def _chain(cls, spec):
    """A chain described rather than listed (the robustness check's): two leaves a and b, then
    ``depth`` times n = expr(previous, b). Thousands of nodes of wire took longer to encode and
    decode than the subject took to run them."""
    nodes = [cls(value) for value in spec["leaves"]]
    step = _apply(spec["expr"], 2)
    for _ in range(spec["depth"]):
        nodes.append(step(nodes[-1], nodes[1]))
    return nodes


def run(cls, req):
    """The "run" request: each graph built, then its forward values and, when asked, the
    gradients after a backward pass (the subject's own, or the harness's)."""
    cfg = Config(cls, req)
    return {"results": [_run_graph(cfg, g) for g in req["graphs"]]}


def _run_graph(cfg, graph):
    result = {}
    try:
        nodes = build(cfg.cls, graph)
    except BaseException as exc:
        result["error"] = dict(describe_exception(exc), stage="forward")
        return result
    if cfg.numbers:
        result["data"] = [node_number(n, cfg.data_attr) for n in nodes]
    if not cfg.want_grads:
        return result
    recorder = None
    if cfg.instrument:
        recorder = TopoRecorder(nodes[-1], cfg)
        result["structure"] = recorder.structure(nodes)
    try:
        if cfg.backward:
            getattr(nodes[-1], cfg.backward)()
        else:
            harness_backward(nodes[-1], cfg)
    except BaseException as exc:
        result["error"] = dict(describe_exception(exc), stage="backward")
    if recorder is not None:
        result["calls"] = recorder.calls
    if cfg.numbers:
        result["grads"] = [number(getattr(n, cfg.grad_attr, None)) for n in nodes]
    return result


def local_rule(cls, req):
    """One op in isolation: preset input and upstream gradients, then run only the
    closures of the op's own sub-graph, walked by the harness (SPEC, Checks 3)."""
    cfg = Config(cls, req)
    results = []
    for case in req["cases"]:
        res = {}
        try:
            leaves = [cfg.cls(v) for v in case["inputs"]]
            out = _apply(case["expr"], len(leaves))(*leaves)
            res["data"] = number(getattr(out, cfg.data_attr, None))
            for leaf, g in zip(leaves, case["input_grads"]):
                setattr(leaf, cfg.grad_attr, g)
            setattr(out, cfg.grad_attr, case["upstream"])
        except BaseException as exc:  # the probe could not be set up: not a verdict
            res["error"] = dict(describe_exception(exc), stage="setup")
            results.append(res)
            continue
        ran = []
        try:
            harness_backward(out, cfg, stop=leaves, ran=ran)
        except BaseException as exc:
            res["error"] = dict(describe_exception(exc), stage="backward")
        res["closures"] = ran
        res["grads"] = [number(getattr(leaf, cfg.grad_attr, None)) for leaf in leaves]
        results.append(res)
    return {"results": results}
