from gradcheck.capabilities import choose_class, decide, driver_question, settle_by_behaviour
from gradcheck.sandbox.replies import DriverProbe

VALUEISH = {"number_attrs": ["data"], "ops": ["__add__", "__mul__"]}


def test_value_is_preferred_over_other_valueish_classes():
    classes = [{"name": "Node", **VALUEISH}, {"name": "Value", **VALUEISH}, {"name": "MLP", "ops": []}]
    facts, problem = choose_class(classes, None)
    assert facts["name"] == "Value" and problem == ""


def test_two_unnamed_candidates_are_ambiguous():
    facts, problem = choose_class([{"name": "A", **VALUEISH}, {"name": "B", **VALUEISH}], None)
    assert facts is None and "--class" in problem and "A, B" in problem


def test_wanted_class_must_exist():
    facts, problem = choose_class([{"name": "Value", **VALUEISH}], "Tensor")
    assert facts is None and "no class named 'Tensor'" in problem


def test_imported_class_is_explained():
    facts, problem = choose_class([{"name": "Value", "imported_from": "micrograd.engine"}], None)
    assert facts is None and "imported from `micrograd.engine`" in problem


def test_decide_finds_renamed_parts():
    inspected = {
        "class_attrs": {"backprop": {"kind": "function", "required_args": 0, "file": "f", "line": 3},
                        "__add__": {"kind": "function", "required_args": 1, "file": "f", "line": 5},
                        "_backward": {"kind": "function", "required_args": 0, "file": "f", "line": 9}},
        "leaf_vars": {"x": 0.75, "grad": 0.0, "came_from": "list"},
        "probes": [{"op": "add", "inputs_paths": ["came_from"], "callables": {}}],
    }
    caps = decide({"name": "Scalar", "number_attrs": ["x"]}, inspected)
    assert (caps.data_attr, caps.grad_attr, caps.inputs_attr) == ("x", "grad", "came_from")
    assert caps.closure_attr == "_backward"  # a method dispatching on the op
    assert caps.backward == "backprop"
    assert caps.ops["add"] and not caps.ops["mul"]


def test_explicit_backward_name_wins_and_must_exist():
    inspected = {"class_attrs": {"backward": {"kind": "function", "required_args": 0}}}
    assert decide({"name": "V"}, inspected, backward_name="run").backward is None
    assert decide({"name": "V"}, inspected, backward_name="backward").backward == "backward"


def test_a_value_that_cannot_be_built_says_why():
    classes = [{"name": "Value", "ops": ["__add__"], "construct_error": {"type": "TypeError",
                                                                         "message": "unhashable type: 'Value'"}}]
    facts, problem = choose_class(classes, None)
    assert facts is None and problem.startswith("Value(0.75) raised TypeError: unhashable type")


CLOSURE = {"qualname": "Value.__add__.<locals>._backward", "file": "f", "line": 7}
LEAF_ATTRS = {"__add__": {"kind": "function", "required_args": 1, "file": "f", "line": 5},
              "__mul__": {"kind": "function", "required_args": 1, "file": "f", "line": 9},
              "tanh": {"kind": "function", "required_args": 0, "file": "f", "line": 13}}


def _probe(op, closure=True, inputs=("_prev",)):
    return {"op": op, "vars": {"data": 0.5, "_backward": "function" if closure else "NoneType"},
            "callables": {"_backward": CLOSURE} if closure else {}, "inputs_paths": list(inputs),
            "reaches": list(inputs)}


def test_one_broken_op_does_not_hide_the_closure_or_the_inputs_attribute():
    # mul stores None as its closure and relu records no inputs: the other ops' results decide
    inspected = {"class_attrs": dict(LEAF_ATTRS, backward={"kind": "function", "required_args": 0}),
                 "leaf_vars": {"data": 0.75, "grad": 0.0},
                 "probes": [_probe("mul", closure=False), _probe("add"), _probe("tanh"),
                            _probe("relu", inputs=())]}
    caps = decide({"name": "Value", "number_attrs": ["data"]}, inspected)
    assert (caps.closure_attr, caps.inputs_attr) == ("_backward", "_prev")


def _unusual_names():
    """A class with its grad in `grade` and its backward() called `back` (learner pattern P1)."""
    attrs = dict(LEAF_ATTRS, back={"kind": "function", "required_args": 0, "file": "f", "line": 20},
                 zero={"kind": "function", "required_args": 0, "file": "f", "line": 30})
    inspected = {"class_attrs": attrs, "leaf_vars": {"value": 0.75, "grade": 0.0, "_bck": "function"},
                 "probes": [_probe("mul"), _probe("add")]}
    return decide({"name": "Scalar", "number_attrs": ["value"]}, inspected), inspected


def test_unusual_grad_and_backward_names_are_asked_about_by_behaviour():
    caps, inspected = _unusual_names()
    assert caps.grad_attr is None and caps.backward is None
    question = driver_question(caps, inspected, None)
    assert question["numeric"] == ["grade"]
    assert question["drivers"] == ["back", "zero"]  # op methods (tanh) are never called
    assert question["driver_expr"] == "{0} * {1}"


def test_behaviour_names_the_grad_and_the_driver():
    caps, inspected = _unusual_names()
    settle_by_behaviour(caps, inspected, [
        DriverProbe("zero", out_after={"value": -0.9375, "grade": 0.0}),  # changes nothing
        DriverProbe("back", out_after={"value": -0.9375, "grade": 1.0},
                    operand_changed=frozenset({"grade"}))])
    assert (caps.grad_attr, caps.backward, caps.initial_grad) == ("grade", "back", 0.0)


def test_a_method_that_does_not_seed_the_result_names_nothing():
    caps, inspected = _unusual_names()
    settle_by_behaviour(caps, inspected, [
        DriverProbe("back", out_after={"grade": 0.0}, operand_changed=frozenset({"grade"})),
        DriverProbe("zero", error="RecursionError")])
    assert caps.grad_attr is None and caps.backward is None


def test_usual_names_ask_nothing():
    inspected = {"class_attrs": dict(LEAF_ATTRS, backward={"kind": "function", "required_args": 0}),
                 "leaf_vars": {"data": 0.75, "grad": 0.0}, "probes": [_probe("mul"), _probe("add")]}
    caps = decide({"name": "Value", "number_attrs": ["data"]}, inspected)
    assert (caps.grad_attr, caps.backward) == ("grad", "backward")
    assert driver_question(caps, inspected, None) is None

