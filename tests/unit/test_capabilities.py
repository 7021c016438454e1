from gradcheck.capabilities import choose_class, decide

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
        "inputs_paths": ["came_from"],
        "callables": {},
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
