"""Learner patterns found by reading public micrograd implementations (issue 11), each as a small
subject (tests/subjects/learners.py) with the exact set of error and warning findings a careful
reader lists. A pattern enters EXPECTED when gradcheck names it exactly; the others are listed in
the issue's closing note, not hidden here."""

import pytest

from gradcheck.findings import CATALOGUE, ERROR
from gradcheck.runner import Options, check_path

from conftest import REFERENCE
from subjects.learners import FOLDERS, NOTEBOOKS, SOURCES

CORRECT = frozenset()
EXPECTED: dict[str, frozenset] = {
    "s01_closure_called_at_build": frozenset({("closure-called-at-build", "mul")}),
    # the `=` in the closure that was called at build time is read from its source
    "s02_closure_called_hides_overwrite": frozenset({("closure-called-at-build", "mul"),
                                                     ("grad-overwrite", "mul")}),
    # `math` never imported: the NameError, and the `=` that it would hide
    "s03_math_missing_hides_overwrite": frozenset({("forward-wrong", "tanh"), ("grad-overwrite", "tanh")}),
    # sub raises inside neg's `self * -1` (no number coercion): reported once, on neg
    "s04_no_coercion_breaks_composites": frozenset({("forward-wrong", "neg"), ("forward-wrong", "radd")}),
    "s05_grad_used_for_data": frozenset({("wrong-derivative", "mul")}),
    "s06_power_for_times": frozenset({("power-for-product", "mul")}),
    "s07_children_not_a_tuple": frozenset({("forward-wrong", "relu")}),
    # warnings only: the class works, but lacks the three methods written inside backward()
    "s08_methods_nested_in_backward": frozenset({("misplaced-method", "neg"), ("misplaced-method", "sub"),
                                                 ("misplaced-method", "radd")}),
    "s09_rsub_parameters_swapped": frozenset({("forward-wrong", "rsub")}),
    "s10_op_returns_none": frozenset({("forward-wrong", "relu")}),
    "s11_unusual_names_correct": CORRECT,  # grad `grade`, driver `back`: found by behaviour
    "s12a_local_slopes_correct": CORRECT,  # no per-node closures: local slopes kept per node
    # the same design with pow's slope wrong: named by back-propagating pow alone
    "s12b_local_slopes_wrong_pow": frozenset({("wrong-derivative", "pow")}),
    # the node appended once per child: run twice, and before its other child's subtree is done
    "s13_topo_append_inside_loop": frozenset({("topo-revisit", None), ("topo-order", None)}),
    "s14_no_seed": frozenset({("grad-seed", None)}),
    "s15_per_node_recursion": frozenset({("per-node-recursion", None)}),
    "s19_marimo_cells": CORRECT,  # the class a marimo cell returns
    "s18_stub_not_implemented": CORRECT,  # its NotImplementedError stubs are not written yet
    "s20_spelled_out_accumulate": frozenset({("grad-overwrite", "add")}),
    # `other * out.grad` for `other.data * out.grad`: with __radd__, mul leaves a Value in a grad
    "s27_grad_becomes_a_value": frozenset({("grad-not-number", "mul")}),
    # `Value(t, "tanh")`: the op's name lands in the children slot, whose characters are no nodes
    "s28_op_name_in_children_slot": frozenset({("no-inputs-recorded", "tanh")}),
    # `-self.data`: neg returns a float; sub and rsub, built on it, fail through it
    "s29_neg_returns_a_float": frozenset({("forward-wrong", "neg")}),
    # each closure ends by calling its inputs' `_backward()`; backward() only starts the root's
    "s30_closures_call_their_inputs_closures": frozenset({("per-node-recursion", None)}),
    "s16_op_records_no_inputs": frozenset({("no-inputs-recorded", "relu")}),
    "s17_equality_by_value": frozenset({("node-identity", None)}),  # its mismatches not repeated
    "s21_closure_on_other_attribute": frozenset({("closure-not-attached", "tanh")}),
    "s22_pow_rejects_int_exponent": frozenset({("forward-wrong", "pow")}),
    "s23_log_divides_by_output": frozenset({("wrong-derivative", "log")}),
    "s24_exp_dunder_and_value_exponent": CORRECT,  # exp as `__exp__`, `x ** y` with both values
    "s25_extra_activations": CORRECT,  # leaky_relu, softplus, gelu in its tanh form
    "s26_numpy_scalar_data": CORRECT,
    # notebooks: the engine, then an exercise's cut-down (and still wrong) `Value` in a later cell
    "s31_exercise_variant_defined_last": CORRECT,
    "s32_later_definition_fixes_a_bug": CORRECT,  # the same ops again, the bug fixed: the later
    "s33_max_elu_arctan": CORRECT,  # `x.max(y)`, `x.max(0.5)`, `elu(alpha=1.0)`, `arctan`
    "s34_elu_slope_from_output": frozenset({("wrong-derivative", "elu")}),
    # `__eq__` without `__hash__`: once, at `__eq__`, not a TypeError per op or in backward()
    "s35_eq_without_hash_children_set": frozenset({("eq-without-hash", None)}),
    "s36_eq_without_hash_hides_overwrite": frozenset({("eq-without-hash", None), ("grad-overwrite", "mul")}),
    # learner patterns, round 2
    "s37_closure_takes_its_node": CORRECT,  # `node._backward(node)`: each closure takes its node
    "s38_dataclass_node_unhashable": frozenset({("eq-without-hash", None)}),  # a plain @dataclass
    "s39_closure_stored_on_operand": frozenset({("closure-not-attached", "add"),
                                                ("closure-not-attached", "mul")}),
    "s40_backward_stubs": CORRECT,  # closures that raise NotImplementedError: not written yet
    "s41_grad_starts_as_none": CORRECT,  # `self.grad = None` until a gradient arrives
    "s42_starter_with_add_only": CORRECT,  # `+` alone, wrapping numbers
    # a folder: micrograd/engine.py imports `micrograd.walk` and `.coerce`
    "s43_own_package_named_micrograd": CORRECT,
    "s44_library_cell_then_own_class": CORRECT,  # the library's Value first, then their own
    # both of pow's defects, and truediv (built on pow) listed under them, not a third finding
    "s45_two_defects_in_a_primitive": frozenset({("grad-overwrite", "pow"), ("missing-chain-factor", "pow")}),
}

# Where a finding must point: the statement a learner has to fix, (code, op) -> source line.
LINES = {
    "s05_grad_used_for_data": {("wrong-derivative", "mul"): "self.grad += other.grad * product.grad"},
    "s06_power_for_times": {("power-for-product", "mul"): "other.grad += self.data ** product.grad"},
    # `self.grad = self.grad + ...` accumulates; the overwrite is the other input's line
    "s20_spelled_out_accumulate": {("grad-overwrite", "add"): "other.grad = total.grad"},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, consensus):
    folder = tmp_path_factory.mktemp("learners")
    out = {}
    for name in EXPECTED:
        out[name] = check_path(str(write_subject(folder, name)), Options(), consensus)
    return out


def write_subject(folder, name: str, files: dict[str, str] | None = None):
    """The subject as the file, notebook or folder a learner hands in."""
    if name in FOLDERS or files is not None:
        root = folder / name
        for rel, text in (files or FOLDERS[name]).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return root
    path = folder / f"{name}.ipynb" if name in NOTEBOOKS else folder / f"{name}.py"
    path.write_text(notebook(NOTEBOOKS[name]) if name in NOTEBOOKS else SOURCES[name])
    return path


def notebook(cells: list[tuple[str, str]]) -> str:
    import nbformat

    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    return nbformat.writes(nbformat.v4.new_notebook(cells=[make[kind](text) for kind, text in cells]))


def serious(result) -> frozenset:
    return frozenset((f.code, f.op) for f in result.findings if f.severity in ("error", "warning"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_pattern_is_named_exactly(name, results):
    assert serious(results[name]) == EXPECTED[name], [f.message for f in results[name].findings]
    only_warnings = all(CATALOGUE[code].severity != ERROR for code, _ in EXPECTED[name])
    assert (results[name].verdict == "pass") == only_warnings


def test_every_expected_subject_exists():
    assert set(EXPECTED) <= set(SOURCES) | set(NOTEBOOKS) | set(FOLDERS)


@pytest.mark.parametrize("name", sorted(LINES))
def test_the_finding_points_at_the_statement_to_fix(name, results):
    where = {(f.code, f.op): f.location.text for f in results[name].findings if f.location is not None}
    for key, text in LINES[name].items():
        assert where.get(key) == text, (key, where)


def test_a_gradient_read_for_data_is_said_so(results):
    finding = next(f for f in results["s05_grad_used_for_data"].findings if f.code == "wrong-derivative")
    assert finding.evidence["slip"] == "grad-for-data"


# Ops a learner adds or spells their own way are checked, not merely tolerated: every cell of
# theirs is judged and passes (absent would mean the op went unseen).
CHECKED_OPS = {
    "s24_exp_dunder_and_value_exponent": {"exp": "__exp__", "vpow": "__pow__", "pow": "__pow__"},
    "s25_extra_activations": {"leaky_relu": "leaky_relu", "softplus": "softplus", "gelu_tanh": "gelu"},
    "s33_max_elu_arctan": {"maximum": "max", "maximum_number": "max", "elu": "elu", "atan": "arctan"},
}


@pytest.mark.parametrize("name", sorted(CHECKED_OPS))
def test_learners_own_ops_are_checked_under_their_names(name, results):
    result = results[name]
    for op, method in CHECKED_OPS[name].items():
        assert result.coverage[op] == {"forward": ("pass", ""), "local rule": ("pass", ""),
                                       "end-to-end": ("pass", "")}, (op, result.coverage[op])
        assert result.capabilities["op_methods"][op] == method
    assert not {f.op for f in result.findings if f.code == "unsupported-op"} & set(CHECKED_OPS[name])


# Structure findings (checks/structure.py) point at the statement that wires the result wrong.
STRUCTURE_LINES = {
    "s01_closure_called_at_build": {("closure-called-at-build", "mul"): "product._backward = push()"},
    "s02_closure_called_hides_overwrite": {("grad-overwrite", "mul"): "self.grad = other.data * product.grad"},
    "s16_op_records_no_inputs": {("no-inputs-recorded", "relu"): "clipped = Value(max(0.0, self.data))"},
    "s17_equality_by_value": {("node-identity", None): "def __eq__(self, other):"},
    "s21_closure_on_other_attribute": {("closure-not-attached", "tanh"): "result.backward = push"},
    "s35_eq_without_hash_children_set": {("eq-without-hash", None): "def __eq__(self, other):"},
    "s36_eq_without_hash_hides_overwrite": {("eq-without-hash", None): "def __eq__(self, other):",
                                            ("grad-overwrite", "mul"): "self.grad = other.data * out.grad"},
    "s38_dataclass_node_unhashable": {("eq-without-hash", None): "class Value:"},
    "s39_closure_stored_on_operand": {("closure-not-attached", "add"): "self._backward = push",
                                      ("closure-not-attached", "mul"): "self._backward = push"},
}


@pytest.mark.parametrize("name", sorted(STRUCTURE_LINES))
def test_a_structure_finding_points_at_the_wiring(name, results):
    where = {(f.code, f.op): f.location.text for f in results[name].findings if f.location is not None}
    for key, text in STRUCTURE_LINES[name].items():
        assert where.get(key) == text, (key, where)


def test_methods_written_inside_backward_are_named_at_their_def(results):
    where = {f.op: (f.location.line, f.location.text) for f in results["s08_methods_nested_in_backward"].findings
             if f.code == "misplaced-method"}
    assert where == {"neg": (49, "def __neg__(self):"), "sub": (52, "def __sub__(self, other):"),
                     "radd": (55, "def __radd__(self, other):")}


def test_a_backward_stub_is_not_written_yet_rather_than_wrong(results):
    result = results["s40_backward_stubs"]
    stubs = {f.op for f in result.findings if f.code == "unsupported-op" and f.evidence.get("stub")}
    assert stubs == {"mul", "tanh"}
    assert result.coverage["mul"]["local rule"][0] != "pass" and result.coverage["add"]["local rule"][0] == "pass"


def test_a_stub_is_not_implemented_rather_than_wrong(results):
    result = results["s18_stub_not_implemented"]
    stubs = {f.op for f in result.findings if f.code == "unsupported-op" and f.evidence.get("stub")}
    assert stubs == {"tanh", "exp"}
    assert {result.coverage[op]["forward"][0] for op in stubs} == {"absent"}


def test_a_composite_that_crashes_inside_its_primitive_is_listed_under_it(results):
    neg = next(f for f in results["s04_no_coercion_breaks_composites"].findings if f.op == "neg")
    assert neg.inherited_by == ["sub"]


def test_a_defect_in_an_op_under_the_learner_s_own_name_is_named_so(tmp_path, consensus):
    source = SOURCES["s24_exp_dunder_and_value_exponent"]
    broken = source.replace("self.grad += e * result.grad", "self.grad = e * result.grad")
    assert broken != source
    path = tmp_path / "exp_dunder.py"
    path.write_text(broken)
    result = check_path(str(path), Options(), consensus)
    found = [f for f in result.findings if f.severity == "error"]
    assert [(f.code, f.op) for f in found] == [("grad-overwrite", "exp")]
    assert "`__exp__`" in found[0].message and found[0].location.text == "self.grad = e * result.grad"


def test_ops_built_on_a_primitive_that_returns_no_node_are_listed_under_it(results):
    neg = next(f for f in results["s29_neg_returns_a_float"].findings if f.op == "neg")
    assert neg.inherited_by == ["rsub", "sub"] and neg.evidence["returned"] == "float"


def test_every_op_calling_its_closure_at_build_time_is_named_op_by_op(tmp_path, consensus):
    """No op's result holds a closure, so there is no majority to find the attribute by: each
    primitive is named, the composites are listed under them, and the walk is not blamed."""
    source = (REFERENCE / "correct_full.py").read_text()
    broken = source.replace("out._backward = _backward\n", "out._backward = _backward()\n")
    assert broken.count("out._backward = _backward()\n") == 9
    path = tmp_path / "all_called.py"
    path.write_text(broken)
    result = check_path(str(path), Options(), consensus)
    found = {(f.code, f.op) for f in result.findings if f.severity == "error"}
    primitives = {"add", "mul", "tanh", "pow", "exp", "log", "relu", "sigmoid", "abs"}
    assert found == {("closure-called-at-build", op) for op in primitives}
    assert result.traversal == "unobserved"


def test_an_exercise_s_smaller_class_defined_last_is_not_the_one_checked(results):
    result = results["s31_exercise_variant_defined_last"]
    skipped = [f for f in result.findings if f.code == "definition-skipped"]
    assert [(f.evidence["checked"], f.evidence["skipped"], f.location.cell) for f in skipped] == [
        ("cell 3", ["cell 6"], 3)]
    # the engine's ops were checked, not the exercise's two
    assert {op for op in ("tanh", "pow", "sub") if result.coverage[op]["end-to-end"][0] == "pass"} == {
        "tanh", "pow", "sub"}


def test_a_later_definition_as_full_as_the_first_is_the_one_checked(results):
    result = results["s32_later_definition_fixes_a_bug"]
    assert not [f for f in result.findings if f.code == "definition-skipped"]
    assert "Value is defined 2 times (cell 2, cell 4): the last one (cell 4) was checked" in result.notes


def test_a_class_without_mul_is_not_said_to_leave_numbers_unwrapped(results):
    codes = {f.code for f in results["s42_starter_with_add_only"].findings}
    assert "unsupported-op" in codes and "no-number-coercion" not in codes


def test_a_package_named_like_a_library_cannot_reach_the_library(tmp_path, consensus):
    """The learner's own `micrograd` package is allowed; the installed library of that name
    stays unreadable, even to code that takes the package off the import path to import it."""
    files = dict(FOLDERS["s43_own_package_named_micrograd"])
    files["micrograd/engine.py"] = (
        "import sys\n"
        "sys.path[:] = [p for p in sys.path if 'submission' not in p]\n"
        "for key in [k for k in sys.modules if k.split('.')[0] == 'micrograd']:\n"
        "    del sys.modules[key]\n"
        "from micrograd.engine import Value as Library\n\n\n"
        "class Value(Library):\n"
        "    pass\n")
    result = check_path(str(write_subject(tmp_path, "smuggler", files)), Options(), consensus)
    assert result.verdict != "pass"
    assert "tampering" in {f.code for f in result.findings}, [(f.code, f.message) for f in result.findings]


def test_a_package_s_own_helpers_are_used_not_only_tolerated(results):
    result = results["s43_own_package_named_micrograd"]
    assert result.capabilities["number_coercion"] is True  # `.coerce.wrap` was imported and ran
    assert not result.notes, result.notes  # no import failed while loading


def test_an_op_built_on_a_primitive_with_two_defects_is_listed_under_both(results):
    pow_findings = [f for f in results["s45_two_defects_in_a_primitive"].findings if f.op == "pow"]
    assert [f.inherited_by for f in pow_findings] == [["truediv"], ["truediv"]]
