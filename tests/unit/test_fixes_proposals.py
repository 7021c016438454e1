"""Fix proposals and verification decisions, in-process (no worker): the edit each finding code
gets in the learner's own names, edits composed into one patch, zero edits on correct code, and a
fix whose verification fails never shown as verified (the check is a stand-in here)."""

import json

import pytest

from gradcheck.findings import Finding, Location
from gradcheck.fixes import statement_edits as change
from gradcheck.fixes.locate import Code
from gradcheck.fixes.patch import apply, combinable, patched_notebook
from gradcheck.fixes.proposal import Context, Names
from gradcheck.fixes.propose import PROPOSERS, propose
from gradcheck.fixes.verify import fixes_for
from gradcheck.loader import read_submission
from gradcheck.result import Result

from conftest import REFERENCE
from subjects.injectors import DESIGNS, REGISTRY

CAPS = {"class_name": "Value", "grad_attr": "grad", "data_attr": "data", "closure_attr": "_backward",
        "inputs_attr": "_prev", "backward": "backward", "initial_grad": 0.0,
        "op_methods": {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "pow": "__pow__", "exp": "exp",
                       "log": "log", "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "abs": "__abs__"}}
FILE = "subject.py"


def finding(code, op=None, line=None, text=None):
    return Finding(code, "m", op=op, location=Location(FILE, line) if line else None)


def patched(source, *findings, caps=CAPS):
    """The source with the proposals for these findings applied, and the proposals."""
    ctx = Context(Code({None: source}), Names.from_capabilities(caps))
    proposals = propose(list(findings), ctx, FILE)
    edits = [e for p in proposals for e in p.edits]
    return apply({None: source}, edits)[None], proposals


def line_of(source, text):
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


SEED_002 = (REFERENCE / "seed_002.py").read_text()
SEED_001 = (REFERENCE / "seed_001.py").read_text()
CORRECT = DESIGNS["closure"]


def injected(name):
    return next(i for i in REGISTRY if i.name == name).source()


def test_overwrite_becomes_accumulate_for_every_input_in_the_closure_and_keeps_names_and_spacing():
    caps = dict(CAPS, op_methods={"add": "__add__", "sub": "__sub__", "mul": "__mul__"})
    out, (p,) = patched(SEED_002, finding("grad-overwrite", "mul", line_of(SEED_002, "self.grad = other.data")),
                        caps=caps)
    assert "            self.grad += other.data * result.grad\n" in out
    assert "            other.grad += self.data * result.grad\n" in out
    assert "self.grad = 1.0 * result.grad" in out  # add's closure is another finding's
    assert not p.rewrite
    assert len(out.splitlines()) == len(SEED_002.splitlines())


def test_an_op_without_a_closure_gets_the_textbook_rule_in_its_own_names_said_to_be_a_rewrite():
    caps = dict(CAPS, op_methods={"add": "__add__", "sub": "__sub__", "mul": "__mul__"})
    out, (p,) = patched(SEED_002, finding("grad-not-propagated", "sub", line_of(SEED_002, "def __sub__")), caps=caps)
    assert p.rewrite
    assert ("        def _backward():\n            self.grad += result.grad\n            other.grad -= result.grad\n"
            "        result._backward = _backward\n        return result\n") in out


def test_an_overwrite_that_also_lacks_the_upstream_factor_gets_both_edits_on_one_statement():
    source = injected("sigmoid-overwrite-missing")
    line = line_of(source, "self.grad = s * (1 - s)")
    out, proposals = patched(source, finding("grad-overwrite", "sigmoid", line),
                             finding("missing-chain-factor", "sigmoid", line))
    assert len(proposals) == 2
    assert "            self.grad += s * (1 - s) * out.grad\n" in out


@pytest.mark.parametrize("before, after", [
    ("x.grad+=1-(out.data**2)", "x.grad+=(1-(out.data**2)) * out.grad"),
    ("x.grad += 1 - t ** 2", "x.grad += (1 - t ** 2) * out.grad"),
    ("x.grad += self.data", "x.grad += self.data * out.grad"),
    ("x.grad += a / b", "x.grad += a / b * out.grad"),
    ("x.grad += out.data * out.grad", "x.grad += out.data * out.grad"),  # already there: unchanged
])
def test_upstream_factor_is_appended_with_parentheses_only_where_needed(before, after):
    assert change.times_upstream("grad", "out")("    " + before + "\n") == "    " + after + "\n"


@pytest.mark.parametrize("fn, before, after", [
    (change.accumulate("grad"), "self.grad=other.data * o.grad  # why", "self.grad+=other.data * o.grad  # why"),
    (change.accumulate("grad"), "self.grad += x", "self.grad += x"),
    (change.product_for_power("grad", "product"), "other.grad += self.data ** product.grad",
     "other.grad += self.data * product.grad"),
    (change.stored_not_called("_backward"), "product._backward = push()", "product._backward = push"),
    (change.retarget_attribute("backward", "_backward"), "result.backward = push", "result._backward = push"),
    (change.reversed_loop, "for node in topo:", "for node in reversed(topo):"),
])
def test_statement_edits_touch_only_what_they_fix_and_are_idempotent(fn, before, after):
    once = fn("        " + before + "\n")
    assert once == "        " + after + "\n"
    assert fn(once) == once


def test_the_learners_names_are_used_for_the_upstream_gradient():
    from subjects.learners import SOURCES

    source = SOURCES["s06_power_for_times"]
    out, _ = patched(source, finding("power-for-product", "mul", line_of(source, "** product.grad")))
    assert "other.grad += self.data * product.grad" in out
    source = SOURCES["s01_closure_called_at_build"]
    out, _ = patched(source, finding("closure-called-at-build", "mul", line_of(source, "def __mul__")))
    assert "        product._backward = push\n" in out


def test_the_visited_set_is_made_once_and_filled_before_recursing():
    out, (p,) = patched(SEED_001, finding("topo-revisit", None, line_of(SEED_001, "def backward")))
    assert not p.rewrite
    assert ("        topo=[]\n        visited=set()\n        def build_topo(node):\n"
            "            for child in node._prev:\n                if child not in visited:\n"
            "                    visited.add(child)\n                    build_topo(child)\n") in out


@pytest.mark.parametrize("name, wanted", [
    ("topo-not-reversed", "        for v in reversed(topo):\n"),
    ("no-seed", "        self.grad = 1.0\n        for v in reversed(topo):\n"),
    ("grad-starts-at-one", "        self.grad = 0.0\n        self._backward = lambda: None\n"),
    ("topo-visited-per-call", "        visited = set()\n        def build_topo(v):\n            if v not in visited:\n"),
])
def test_walk_defects_get_the_small_edit(name, wanted):
    source = injected(name)
    code = next(iter(next(i for i in REGISTRY if i.name == name).expect))[0]
    caps = dict(CAPS, initial_grad=1.0) if name == "grad-starts-at-one" else CAPS
    out, (p,) = patched(source, finding(code, None, line_of(source, "def backward")), caps=caps)
    assert wanted in out and not p.rewrite


def test_a_walk_of_another_shape_is_rewritten_and_said_so():
    source = injected("topo-recursive-children")
    out, (p,) = patched(source, finding("topo-revisit", None, line_of(source, "def backward")))
    assert p.rewrite and "        for v in reversed(topo):\n            v._backward()\n" in out
    assert "push(" not in out


CORRECT_SOURCES = {"correct_full": CORRECT, "correct_iterative": DESIGNS["iterative"],
                   "correct_tape": DESIGNS["tape"]}
# the edits that repair a shape rather than write the textbook code in: on correct code, whatever
# finding they are handed, they find nothing of their shape to change
SMALL_EDITS = ("grad-overwrite", "missing-chain-factor", "power-for-product", "closure-called-at-build",
               "closure-not-attached", "no-inputs-recorded", "forward-wrong", "grad-seed")


@pytest.mark.parametrize("name", sorted(CORRECT_SOURCES))
def test_correct_code_gets_no_small_edit_whatever_finding_it_is_handed(name):
    source = CORRECT_SOURCES[name]
    findings = [finding(code, op) for code in SMALL_EDITS for op in CAPS["op_methods"]]
    findings += [finding(code, op, line) for code in SMALL_EDITS for op in CAPS["op_methods"]
                 for line in range(1, len(source.splitlines()) + 1, 3)]
    out, proposals = patched(source, *findings)
    assert out == source and proposals == []


def test_warnings_and_notes_get_no_fix_and_cost_no_check():
    source = (REFERENCE / "correct_full.py").read_text()
    result = Result(subject="c", capabilities=CAPS, findings=[
        Finding("recursion-limit", "deep", location=Location(str(REFERENCE / "correct_full.py"), 1)),
        Finding("unsupported-op", "absent", op="gelu")])
    submission = read_submission(REFERENCE / "correct_full.py")
    assert source
    fixes = fixes_for(result, submission, check=lambda _: pytest.fail("no check is due"))
    assert fixes.per_finding == [] and fixes.patch_diff == "" and fixes.checks_run == 0


def _seed_002_result():
    path = REFERENCE / "seed_002.py"
    caps = dict(CAPS, op_methods={"add": "__add__", "sub": "__sub__", "mul": "__mul__"})
    findings = [Finding("grad-overwrite", "m", op=op, location=Location(str(path), line_of(SEED_002, text)))
                for op, text in (("add", "self.grad = 1.0"), ("mul", "self.grad = other.data"))]
    return Result(subject=str(path), capabilities=caps, findings=findings), read_submission(path)


def test_a_fix_whose_finding_remains_is_not_verified_and_not_in_the_patch():
    result, submission = _seed_002_result()
    checked = []

    def check(patched):
        checked.append(patched)
        return Result(subject="copy", capabilities=CAPS, findings=[Finding("grad-overwrite", "m", op="mul")])
    fixes = fixes_for(result, submission, check)
    verified = {(f["op"], f["verified"]) for f in fixes.per_finding}
    assert verified == {("add", True), ("mul", False)}
    assert "self.grad += 1.0 * result.grad" in fixes.patch_diff
    assert "other.data * result.grad" not in fixes.patch_diff
    # the patch offered (add's fix alone) was checked as it is
    assert len(checked) == 2 and "+=" not in checked[-1].units[0].code.split("def __mul__")[1].split("return")[0]


def test_a_fix_that_brings_a_new_error_is_never_verified():
    result, submission = _seed_002_result()

    def check(patched):
        return Result(subject="copy", capabilities=CAPS, findings=[Finding("topo-order", "m")])
    fixes = fixes_for(result, submission, check)
    assert [f["verified"] for f in fixes.per_finding] == [False, False]
    assert fixes.patch_diff == "" and fixes.patch_verdict is None
    shown = Result(subject="s", findings=result.findings, fixes=fixes.per_finding, patch=fixes.to_json())
    doc = shown.to_json()
    assert [f["fix"]["verified"] for f in doc["findings"]] == [False, False]
    from io import StringIO

    from rich.console import Console

    from gradcheck.report import render_subject_page
    from gradcheck.terminal import print_results

    out = StringIO()
    print_results([shown], Console(file=out, width=120))
    assert "not verified" in out.getvalue() and "+=" not in out.getvalue()
    assert "fix-diff" not in render_subject_page(shown)


def test_edits_inside_a_rewritten_method_are_left_to_the_rewrite():
    source = injected("topo-visited-per-call")
    ctx = Context(Code({None: source}), Names.from_capabilities(CAPS))
    outer = PROPOSERS["topo-incomplete"](finding("topo-incomplete"), ctx)
    inner = PROPOSERS["topo-revisit"](finding("topo-revisit"), ctx)
    assert outer is not None and inner is not None
    assert combinable([outer.edits, inner.edits]) == [(0, -1), (1, 0)]


def test_a_patched_notebook_changes_only_the_edited_cell():
    raw = (REFERENCE / "seed_001.ipynb").read_text()
    before = json.loads(raw)
    cell = next(i for i, c in enumerate(before["cells"], 1) if "def backward" in "".join(c["source"]))
    source = "".join(before["cells"][cell - 1]["source"])
    after = json.loads(patched_notebook(raw, {cell: source.replace("topo=[]", "topo = []")}))
    changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"], strict=True), 1) if a != b]
    assert changed == [cell]
    assert {k: v for k, v in after.items() if k != "cells"} == {k: v for k, v in before.items() if k != "cells"}


def test_grading_shows_fixes_only_when_the_rubric_says_so(tmp_path):
    from gradcheck.errors import UsageError
    from gradcheck.grading.rubric import load_rubric

    assert not load_rubric("part1").show_fixes and not load_rubric("full").show_fixes
    rubric = tmp_path / "r.toml"
    rubric.write_text('required_ops = ["add"]\nshow_fixes = true\n[points]\nlocal_rule = 1\n')
    assert load_rubric(str(rubric)).show_fixes
    rubric.write_text('required_ops = ["add"]\nshow_fixes = "yes"\n[points]\nlocal_rule = 1\n')
    with pytest.raises(UsageError, match="show_fixes must be true or false"):
        load_rubric(str(rubric))


LEARNER_CAPS = dict(CAPS, op_methods={"leaky_relu": "leakyrelu", "vpow": "__pow__", "pow": "__pow__",
                                      "gelu": "gelu", "cos": "cos"})


@pytest.mark.parametrize("name, code, op, at, wanted", [
    ("leakyrelu-slope-sign", "wrong-derivative", "leaky_relu", "else -alpha",
     "            self.grad += (1.0 if self.data > 0 else alpha) * out.grad\n"),
    ("cos-sign", "wrong-derivative", "cos", "math.sin(self.data) * out.grad",
     "            self.grad -= math.sin(self.data) * out.grad\n"),
    # the value exponent's closure sits in an `if` of the `__pow__` it shares with `x ** 2`
    ("vpow-exponent-missing-factor", "missing-chain-factor", "vpow", "k.grad += out.data",
     "                k.grad += out.data * math.log(self.data) * out.grad\n"),
])
def test_ops_learners_add_get_the_textbook_rule_in_their_own_parameter_names(name, code, op, at, wanted):
    source = injected(name)
    out, (p,) = patched(source, finding(code, op, line_of(source, at)), caps=LEARNER_CAPS)
    assert wanted in out
    assert out.count("\n") == source.count("\n")  # the rest of the file untouched


def test_the_value_exponents_rule_is_written_into_its_own_closure_not_the_numbers():
    source = injected("vpow-exponent-missing-factor")
    out, (p,) = patched(source, finding("wrong-derivative", "vpow", line_of(source, "k.grad += out.data")),
                        caps=LEARNER_CAPS)
    assert p.rewrite
    assert ("                self.grad += k.data * self.data ** (k.data - 1) * out.grad\n"
            "                k.grad += out.data * math.log(self.data) * out.grad\n") in out
    assert "            self.grad += k * self.data ** (k - 1) * out.grad\n" in out  # the number's, as it was


def test_elu_atan_and_max_rules_use_the_learners_alpha_and_operands():
    from subjects.learners import SOURCES

    source = SOURCES["s34_elu_slope_from_output"]
    caps = dict(CAPS, op_methods={"elu": "elu", "atan": "arctan", "maximum": "max", "maximum_number": "max"})
    out, (p,) = patched(source, finding("wrong-derivative", "elu", line_of(source, "slope = 1.0")), caps=caps)
    assert "            self.grad += (1.0 if self.data > 0 else alpha * math.exp(self.data)) * out.grad\n" in out
    assert "slope =" not in out
    broken = source.replace("out.grad / (1 + self.data ** 2)", "out.grad / (1 - self.data ** 2)")
    out, _ = patched(broken, finding("wrong-derivative", "atan", line_of(broken, "1 - self.data ** 2")), caps=caps)
    assert "            self.grad += 1 / (1 + self.data ** 2) * out.grad\n" in out
    # `x.max(0.5)` through a method that makes the number a value: the two-value rule
    out, _ = patched(source, finding("wrong-derivative", "maximum_number", line_of(source, "if bigger:")), caps=caps)
    assert ("            self.grad += (self.data > other.data) * out.grad\n"
            "            other.grad += (self.data <= other.data) * out.grad\n") in out


ITERATIVE = DESIGNS["iterative"]
ITERATIVE_CAPS = dict(CAPS, class_name="Scalar", inputs_attr="_children", backward="backprop", op_methods={
    op: f"__{op}__" for op in ("add", "sub", "mul", "truediv", "neg", "pow")} | {
    op: op for op in ("exp", "log", "tanh", "sigmoid")})


def test_a_rule_passed_to_a_shared_helper_is_fixed_where_the_op_passes_it_not_in_the_helper():
    source = injected("it-div-wrong")
    # the finding points into `_make`'s closure, which runs every op's rule
    out, (p,) = patched(source, finding("wrong-derivative", "truediv", line_of(source, "child.grad = child.grad")),
                        caps=ITERATIVE_CAPS)
    assert p.rewrite
    assert "lambda o: (1 / other.data, -self.data / other.data ** 2))\n" in out
    assert out.replace("-self.data / other", "self.data / other") == source


def test_slopes_recorded_beside_the_inputs_or_as_pairs_get_the_textbook_slope():
    from subjects.learners import SOURCES

    source = SOURCES["s12b_local_slopes_wrong_pow"]
    caps = dict(CAPS, closure_attr=None, inputs_attr="_inputs", op_methods={"pow": "__pow__", "exp": "exp"})
    out, _ = patched(source, finding("wrong-derivative", "pow", line_of(source, "def __pow__")), caps=caps)
    assert "        return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))\n" in out
    tape_caps = dict(CAPS, class_name="Var", closure_attr=None, inputs_attr=None,
                     op_methods={"log": "log", "exp": "exp", "mul": "__mul__"})
    source = injected("tape-log-wrong")
    out, _ = patched(source, finding("wrong-derivative", "log", line_of(source, "def log")), caps=tape_caps)
    assert '("log", ((self, 1 / self.data),))' in out
    # no pairs at all, where every other op records them: the op's pair written in
    source = injected("tape-exp-not-propagated")
    out, _ = patched(source, finding("grad-not-propagated", "exp", line_of(source, "def exp")), caps=tape_caps)
    assert '("exp", ((self, math.exp(self.data)),))' in out
    source = injected("tape-mul-overwrite")
    out, (p,) = patched(source, finding("grad-overwrite", "mul", line_of(source, "def __mul__")), caps=tape_caps)
    assert "                        parent.grad += local * node.grad\n" in out and not p.rewrite


def test_textbook_slopes_handed_to_correct_code_written_the_textbook_way_change_nothing():
    findings = [finding("wrong-derivative", op, line_of(ITERATIVE, f"def {name}("))
                for op, name in ITERATIVE_CAPS["op_methods"].items()]
    out, proposals = patched(ITERATIVE, *findings, caps=ITERATIVE_CAPS)
    assert out == ITERATIVE and proposals == []


def test_closures_that_run_their_inputs_closures_lose_those_calls_when_backward_walks():
    from subjects.learners import SOURCES

    source = SOURCES["s30_closures_call_their_inputs_closures"]
    found = Finding("per-node-recursion", "m", location=Location(FILE, line_of(source, "self._backward()")),
                    evidence={"in_closures": True})
    out, (p,) = patched(source, found)
    assert p.rewrite and "other._backward()" not in out and out.count("._backward()") == 1
    assert "        for v in reversed(topo):\n            v._backward()\n" in out
    assert "            self.grad += (1 - t * t) * out.grad\n        out._backward = _backward\n" in out


def test_a_patch_for_a_file_named_by_its_absolute_path_applies_in_the_files_folder(tmp_path):
    import shutil
    import subprocess

    from gradcheck.fixes.output import write_patch

    path = tmp_path / "seed_002.py"
    path.write_text(SEED_002)
    findings = [Finding("grad-overwrite", "m", op="mul", location=Location(str(path), line_of(SEED_002, "self.grad = other")))]
    caps = dict(CAPS, op_methods={"mul": "__mul__"})
    result = Result(subject=str(path), capabilities=caps, findings=findings)
    fixes = fixes_for(result, read_submission(path), check=lambda _: Result(subject="copy", capabilities=caps))
    assert fixes.patch_diff.startswith("--- a/seed_002.py\n+++ b/seed_002.py\n")
    result.fixes, result.patch = fixes.per_finding, fixes.to_json()
    said = write_patch(tmp_path / "fix.diff", [result])
    assert f"apply it in {tmp_path}" in said
    if shutil.which("git") is None:
        pytest.skip("git apply is needed to apply the patch")
    subprocess.run(["git", "apply", "fix.diff"], cwd=tmp_path, check=True, capture_output=True)
    assert path.read_text() == SEED_002.replace("self.grad = other.data", "self.grad += other.data").replace(
        "other.grad = self.data", "other.grad += self.data")


def test_a_closure_stored_on_an_operand_is_stored_on_the_result_under_its_own_name():
    from subjects.learners import SOURCES

    source = SOURCES["s39_closure_stored_on_operand"]
    out, proposals = patched(source, finding("closure-not-attached", "add", line_of(source, "self._backward = push")))
    assert len(proposals) == 1 and "        total._backward = push\n" in out
    assert out.count("self._backward = push") == source.count("self._backward = push") - 1
