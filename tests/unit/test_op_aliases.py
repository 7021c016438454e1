"""Ops under the names learners give them, and ops a method alone does not confirm.

Which method implements an op is decided per subject (capabilities), and every expression built
for that subject -- the worker's graphs, the local-rule probes, the snippets shown to the
learner -- calls that method. A few ops are confirmed by running them once at load: a `__pow__`
that takes only number exponents is not `vpow`, a leaky_relu with another slope is not ours, and
the value of `gelu()` says which GELU a subject computes.
"""

from gradcheck.capabilities import decide, probe_wires, settle_probes
from gradcheck.checks.local_rules import _case
from gradcheck.graph import Graph, apply, leaf
from gradcheck.ops import OPS, get_op
from gradcheck.sandbox.replies import GraphRun, SubjectError

FACTS = {"name": "Value", "number_attrs": ["data"], "ops": ["__add__", "__mul__"]}


def method(required_args: int = 0) -> dict:
    return {"kind": "function", "required_args": required_args}


def caps_with(**attrs):
    class_attrs = {"__add__": method(1), "__mul__": method(1), **attrs}
    return decide(FACTS, {"class_attrs": class_attrs, "leaf_vars": {"data": 0.75, "grad": 0.0}})


def test_a_learners_spelling_is_the_method_used():
    caps = caps_with(__exp__=method(), ReLU=method(), Tanh=method(), leakyrelu=method())
    assert {op: caps.op_methods[op] for op in ("exp", "relu", "tanh", "leaky_relu")} == {
        "exp": "__exp__", "relu": "ReLU", "tanh": "Tanh", "leaky_relu": "leakyrelu"}
    assert caps.ops["exp"] and caps.ops["relu"] and not caps.ops["sigmoid"]


def test_any_capitalisation_of_an_op_called_by_name_is_found():
    caps = caps_with(reLu=method(), TANH=method(), __Add__=method(1))
    assert caps.op_methods["relu"] == "reLu" and caps.op_methods["tanh"] == "TANH"
    # dunders are Python's own names: only the exact one is the operator
    assert caps_with(__ADD__=method(1)).op_methods["add"] == "__add__"
    # a listed name wins over another capitalisation
    assert caps_with(Relu=method(), reLu=method()).op_methods["relu"] == "Relu"


def test_the_usual_name_wins_over_an_alias():
    assert caps_with(exp=method(), __exp__=method()).op_methods["exp"] == "exp"


def test_a_method_that_needs_arguments_is_not_the_op():
    caps = caps_with(leaky_relu=method(required_args=1))
    assert not caps.ops["leaky_relu"]
    assert "needs 1 argument" in caps.absence(get_op("leaky_relu"))
    # an argument with a default is fine: `leaky_relu(self, alpha=0.01)`
    assert caps_with(leaky_relu=method(required_args=0)).ops["leaky_relu"]


def test_every_expression_calls_the_learners_method():
    g = Graph((leaf(0.5), apply("exp", 0), apply("relu", 1)))
    names = {"exp": "__exp__", "relu": "ReLU"}
    assert [n.get("expr") for n in g.to_wire(names)] == [None, "{0}.__exp__()", "{0}.ReLU()"]
    assert "n2 = n1.ReLU()" in g.snippet("Value", methods=names).splitlines()
    assert g.describe(names).endswith("n1 = a.__exp__(); n2 = n1.ReLU()")
    assert _case(Graph((leaf(0.5), apply("exp", 0))), names)["expr"] == "{0}.__exp__()"
    # without a subject's names, the op table's
    assert [n.get("expr") for n in g.to_wire()] == [None, "{0}.exp()", "{0}.relu()"]


def ran(value: float | None = None, error: SubjectError | None = None) -> GraphRun:
    return GraphRun(data=[1.3, value], error=error)


def test_pow_that_takes_only_numbers_is_not_vpow():
    caps = caps_with(__pow__=method(1))
    assert set(probe_wires(caps)) == {"vpow"}
    assert probe_wires(caps)["vpow"][-1]["expr"] == "{0} ** {1}"
    settle_probes(caps, {"vpow": ran(error=SubjectError("AssertionError", "only number powers"))})
    assert caps.ops["pow"] and not caps.ops["vpow"]
    assert "raises AssertionError" in caps.absence(get_op("vpow"))
    assert "vpow" not in caps.supported_ops


def test_pow_that_takes_values_is_vpow():
    caps = caps_with(__pow__=method(1))
    settle_probes(caps, {"vpow": ran(1.3 ** 0.7)})
    assert caps.ops["vpow"] and caps.op_methods["vpow"] == "__pow__"


def test_a_probe_that_killed_the_worker_keeps_the_op_out():
    caps = caps_with(__pow__=method(1))
    settle_probes(caps, {"vpow": None})
    assert not caps.ops["vpow"]


def test_gelu_is_checked_in_the_form_the_subject_computes():
    tanh_form, exact = get_op("gelu_tanh").value(2.6), get_op("gelu").value(2.6)
    assert abs(tanh_form - exact) > 1e-4  # far beyond any tolerance: one form only is checked
    caps = caps_with(gelu=method())
    assert set(probe_wires(caps)) == {"gelu_tanh"}
    settle_probes(caps, {"gelu_tanh": ran(tanh_form)})
    assert caps.ops["gelu_tanh"] and not caps.ops["gelu"]
    assert caps.op_methods["gelu_tanh"] == "gelu"
    caps = caps_with(gelu=method())
    settle_probes(caps, {"gelu_tanh": ran(exact)})
    assert caps.ops["gelu"] and not caps.ops["gelu_tanh"]
    # a gelu giving neither is judged (and reported) against the exact form
    caps = caps_with(GELU=method())
    settle_probes(caps, {"gelu_tanh": ran(error=SubjectError("NameError", "name 'math' is not defined"))})
    assert caps.ops["gelu"] and caps.op_methods["gelu"] == "GELU" and not caps.ops["gelu_tanh"]


def test_leaky_relu_with_another_slope_is_not_checked():
    caps = caps_with(leaky_relu=method())
    settle_probes(caps, {"leaky_relu": ran(-1.3 * 0.2)})
    assert not caps.ops["leaky_relu"] and "-0.013" in caps.absence(get_op("leaky_relu"))
    caps = caps_with(leaky_relu=method())
    settle_probes(caps, {"leaky_relu": ran(-1.3 * 0.01)})
    assert caps.ops["leaky_relu"]


def test_new_ops_are_optional_in_every_rubric():
    from gradcheck.grading.rubric import load_rubric

    lecture = {"add", "radd", "sub", "rsub", "mul", "rmul", "neg", "truediv", "rtruediv", "pow",
               "exp", "log", "tanh", "relu", "sigmoid"}
    for name in ("full", "part1"):
        assert set(load_rubric(name).required_ops) <= lecture
    assert {op.name for op in OPS} - lecture >= {"sqrt", "sin", "cos", "leaky_relu", "softplus",
                                                 "gelu", "gelu_tanh", "rpow", "vpow", "elu", "atan",
                                                 "maximum", "maximum_number"}


def test_max_takes_its_argument_and_serves_values_and_numbers():
    caps = caps_with(max=method(required_args=1))
    assert caps.op_methods["maximum"] == caps.op_methods["maximum_number"] == "max"
    # each kind of argument is tried once: a max written for numbers only is not `maximum`
    wires = probe_wires(caps)
    assert [wires[op][-1]["expr"] for op in ("maximum", "maximum_number")] == ["{0}.max({1})", "{0}.max(0.5)"]
    settle_probes(caps, {"maximum": ran(error=SubjectError("AttributeError", "'Value' has no 'real'")),
                         "maximum_number": ran(1.3)})
    assert not caps.ops["maximum"] and caps.ops["maximum_number"]
    # a max that needs two arguments cannot be `x.max(y)`, and says so
    caps = caps_with(maximum=method(required_args=2))
    assert not caps.ops["maximum"] and "`x.maximum(y)` cannot be called" in caps.absence(get_op("maximum"))


def test_elu_with_another_alpha_is_not_checked():
    caps = caps_with(ELU=method())
    settle_probes(caps, {"elu": ran(0.5 * get_op("elu").value(-1.3))})
    assert not caps.ops["elu"]
    caps = caps_with(ELU=method())
    settle_probes(caps, {"elu": ran(get_op("elu").value(-1.3))})
    assert caps.ops["elu"] and caps.op_methods["elu"] == "ELU"


def test_a_learners_spelling_indented_inside_another_method_is_misplaced():
    """`ReLU` and `__exp__` written one level too deep, inside backward(): named at their def
    (the class then lacks relu and exp), with the call that fails spelled the learner's way."""
    from pathlib import Path

    from gradcheck.capabilities import Capabilities
    from gradcheck.checks.source_scan import misplaced_method_findings
    from gradcheck.loader import Submission, Unit

    code = ("class Value:\n"
            "    def __init__(self, data):\n"
            "        self.data = data\n"
            "    def backward(self):\n"
            "        def ReLU(self):\n"
            "            return self\n"
            "        def __exp__(self):\n"
            "            return self\n"
            "        def Tanh(self):\n"  # tanh is there under its usual name: not missing
            "            return self\n"
            "    def tanh(self):\n"
            "        return self\n")
    sub = Submission(path=Path("x.py"), kind="file", files={"x.py": code.encode()},
                     units=[Unit(label="x.py", filename="/submission/x.py", code=code)])
    caps = Capabilities(class_name="Value", ops={op.name: op.name == "tanh" for op in OPS},
                        methods={"__init__": {"file": "/submission/x.py", "line": 2}})
    found = misplaced_method_findings(sub, caps)
    assert [(f.op, f.location.line) for f in found] == [("relu", 5), ("exp", 7)]
    assert "`a.ReLU()` fails" in found[0].message


def test_a_grad_that_starts_as_none_is_the_gradient():
    """PyTorch's way (`self.grad = None` until a gradient arrives) is not a forward-only class."""
    caps = decide(FACTS, {"class_attrs": {"__add__": method(1), "__mul__": method(1), "backward": method()},
                          "leaf_vars": {"data": 0.75, "grad": "NoneType"}})
    assert caps.grad_attr == "grad" and caps.initial_grad is None and caps.backward == "backward"
    # a number wins over a None, whatever the names' order
    caps = decide(FACTS, {"class_attrs": {}, "leaf_vars": {"data": 0.75, "grad": "NoneType", "g": 0.0}})
    assert caps.grad_attr == "g"
