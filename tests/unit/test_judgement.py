"""The judgement layer without a worker: attribution, traversal state, deaths, what explains an
end-to-end failure, the catalogue, reply validation -- each decision from typed values."""

from types import SimpleNamespace

import pytest

from gradcheck.checks import Log, merge_deaths
from gradcheck.checks.attribution import Composition, attribute
from gradcheck.checks.diagnosis import failure_findings
from gradcheck.checks.end_to_end import Counterexample, compare
from gradcheck.checks.fingerprint import Candidate, simulate
from gradcheck.checks.outcomes import (
    EndToEndOutcome,
    RuleOutcome,
    TraversalOutcome,
    TraversalState,
)
from gradcheck.findings import (
    CATALOGUE,
    GROUP_ORDER,
    GROUPS,
    RULE_CODES,
    TRAVERSAL_CODES,
    Finding,
    Stage,
)
from gradcheck.graph import Graph, apply, leaf
from gradcheck.runner import final_traversal_state
from gradcheck.sandbox.replies import GraphRun, RuleProbe
from gradcheck.source import newer_syntax

# Closures as a local-rule probe reports them: mul's own; neg and truediv run mul's plus their own.
MUL = ("Value.__mul__.<locals>._backward", "/submission/v.py", 20)
ADD = ("Value.__add__.<locals>._backward", "/submission/v.py", 10)
POW = ("Value.__pow__.<locals>._backward", "/submission/v.py", 30)
OBSERVED = Composition(observed=True, closures={
    "add": frozenset({ADD}), "mul": frozenset({MUL}), "pow": frozenset({POW}),
    "neg": frozenset({MUL}) | {("Value.__neg__", "/submission/v.py", 40)},
    "truediv": frozenset({MUL, POW}), "sub": frozenset({ADD, MUL})})


def f(code, op=None, **evidence):
    return Finding(code, f"{code} in {op}", op=op, evidence=evidence)


# -- attribution ---------------------------------------------------------------------------------
def test_a_composite_op_s_finding_folds_into_its_primitive_once():
    found = attribute([f("grad-overwrite", "mul"), f("grad-overwrite", "truediv"),
                       f("grad-overwrite", "sub")], OBSERVED)
    assert [(x.code, x.op) for x in found] == [("grad-overwrite", "mul")]
    assert found[0].inherited_by == ["sub", "truediv"]
    assert found[0].message.endswith("Inherited by `sub`, `truediv`.")


@pytest.mark.parametrize("code", ["forward-wrong", "grad-not-propagated", "wrong-derivative", "crash"])
def test_every_family_is_attributed_the_same_way(code):
    found = attribute([f(code, "mul"), f(code, "neg")], OBSERVED)
    assert [(x.code, x.op, x.inherited_by) for x in found] == [(code, "mul", ["neg"])]


def test_a_second_defect_of_the_composite_itself_stays_its_own():
    found = attribute([f("grad-overwrite", "mul"), f("grad-overwrite", "truediv"),
                       f("missing-chain-factor", "truediv")], OBSERVED)
    assert sorted((x.code, x.op) for x in found) == [("grad-overwrite", "mul"),
                                                      ("missing-chain-factor", "truediv")]


def test_a_failing_case_of_a_composite_is_its_primitive_s_defect():
    found = attribute([f("wrong-derivative", "pow"), f("gradient-mismatch", "truediv", case="x / y")],
                      OBSERVED)
    assert [(x.code, x.op) for x in found] == [("wrong-derivative", "pow")]
    assert found[0].evidence["inherited_cases"] == ["x / y"]


def test_an_op_built_from_two_faulty_primitives_is_listed_under_both():
    found = attribute([f("grad-overwrite", "add"), f("grad-overwrite", "mul"), f("grad-overwrite", "sub")],
                      OBSERVED)
    assert {x.op: x.inherited_by for x in found} == {"add": ["sub"], "mul": ["sub"]}


def test_unrelated_ops_are_not_folded():
    found = attribute([f("grad-overwrite", "add"), f("grad-overwrite", "pow")], OBSERVED)
    assert sorted(x.op for x in found) == ["add", "pow"] and not any(x.inherited_by for x in found)


def test_without_observed_structure_only_fingerprinted_defects_follow_usual_compositions():
    unobserved = Composition(observed=False)
    plain = attribute([f("forward-wrong", "mul"), f("forward-wrong", "neg")], unobserved)
    assert sorted(x.op for x in plain) == ["mul", "neg"]
    printed = attribute([f("missing-chain-factor", "mul", identified_by="fingerprint"),
                         f("missing-chain-factor", "neg", identified_by="fingerprint")], unobserved)
    assert [(x.op, x.inherited_by) for x in printed] == [("mul", ["neg"])]
    assert "Probably inherited by `neg`" in printed[0].message


# -- deaths and the traversal state --------------------------------------------------------------
def death_at(stage, code="timeout", op=None):
    return Finding(code, "hung", op=op, evidence={"while": str(stage)}, stage=stage)


def test_a_death_is_reported_once_per_kind_and_op_with_where_else_it_happened():
    merged = merge_deaths([death_at(Stage.TRAVERSAL), death_at(Stage.ROBUSTNESS),
                           death_at(Stage.FORWARD, op="mul")])
    assert [(x.code, x.op, x.stage) for x in merged] == [("timeout", None, Stage.TRAVERSAL),
                                                          ("timeout", "mul", Stage.FORWARD)]
    assert merged[0].evidence["also_while"] == ["robustness"]


@pytest.mark.parametrize("state, findings, expected", [
    (TraversalState.BROKEN, [], TraversalState.BROKEN),
    (TraversalState.CORRECT, [], TraversalState.CORRECT),
    (TraversalState.UNOBSERVED, [], TraversalState.UNOBSERVED),
    (TraversalState.UNOBSERVED, [f("topo-revisit", identified_by="fingerprint")], TraversalState.DEFECTIVE),
    (TraversalState.CORRECT, [f("grad-seed")], TraversalState.DEFECTIVE),  # from the capability probe
    (TraversalState.ABSENT, [f("no-backward")], TraversalState.ABSENT),
    (TraversalState.NOT_RUN, [f("topo-order")], TraversalState.NOT_RUN),
])
def test_the_final_traversal_state(state, findings, expected):
    assert final_traversal_state(TraversalOutcome(state), findings) == expected


def test_a_hung_backward_is_a_broken_traversal_whatever_its_name():
    outcome = TraversalOutcome(TraversalState.BROKEN, [death_at(Stage.TRAVERSAL)])
    assert not outcome.backward_works and not outcome.observed


# -- what explains an end-to-end failure -----------------------------------------------------------
class FakeSession:
    """A subject computed by gradcheck's reference engine with the given defects injected."""

    def __init__(self, defect: Candidate):
        self.defect = defect

    def run(self, graphs, **_):
        return [GraphRun(data=g.float_values(), grads=simulate(g, self.defect)) for g in graphs]


def opaque_subject(defect, consensus):
    caps = SimpleNamespace(class_name="Value", backward="backward", methods={}, method_of=lambda op: op.method)
    return SimpleNamespace(session=FakeSession(defect), consensus=consensus, caps=caps, log=Log(),
                           method_location=lambda method: None)


def test_two_independent_defects_in_an_opaque_subject_are_both_named(consensus):
    """A fingerprinted traversal defect explains a failure only when it reproduces its numbers:
    it must not absorb a failure that another defect (mul's missing out.grad) caused."""
    graph = Graph((leaf(0.7), leaf(-1.3), leaf(1.9), apply("mul", 0, 1), apply("mul", 3, 2)))
    subject = opaque_subject(Candidate("missing-chain-factor", "mul"), consensus)
    expected = consensus.expected(graph)
    run = subject.session.run([graph])[0]
    kind, bad = compare(graph, run, expected, grads=True)
    cx = Counterexample(graph, run, expected, kind, bad, suspect="mul")
    earlier = [Finding("topo-order", "fingerprinted earlier", evidence={"identified_by": "fingerprint"})]
    diagnosis = failure_findings(subject, EndToEndOutcome(failures=[cx]), earlier, RuleOutcome(),
                                 TraversalOutcome(TraversalState.UNOBSERVED))
    assert [(x.code, x.op) for x in diagnosis.findings] == [("missing-chain-factor", "mul")]
    assert "end_to_end" not in earlier[0].evidence


def test_a_fingerprinted_traversal_defect_explains_the_failures_it_reproduces(consensus):
    graph = Graph((leaf(0.7), leaf(-1.3), apply("mul", 0, 1), apply("add", 2, 0)))
    subject = opaque_subject(Candidate("topo-order"), consensus)
    expected = consensus.expected(graph)
    run = subject.session.run([graph])[0]
    cx = Counterexample(graph, run, expected, *compare(graph, run, expected, grads=True))
    earlier = [Finding("topo-order", "fingerprinted earlier", evidence={"identified_by": "fingerprint"})]
    diagnosis = failure_findings(subject, EndToEndOutcome(failures=[cx]), earlier, RuleOutcome(),
                                 TraversalOutcome(TraversalState.UNOBSERVED))
    assert diagnosis.findings == [] and "end_to_end" in earlier[0].evidence


# -- the catalogue -------------------------------------------------------------------------------
def test_every_code_is_shown_in_exactly_one_group():
    shown = [code for _, codes in GROUPS for code in codes]
    assert sorted(shown) == sorted(CATALOGUE)
    assert [title for title, _ in GROUPS] == list(GROUP_ORDER)


def test_a_code_without_a_known_group_cannot_be_declared():
    from gradcheck.findings import Code

    with pytest.raises(ValueError):
        Code("error", "miscellaneous", "a code nobody would see")


def test_codes_whose_messages_are_built_from_the_catalogue_have_its_words():
    for code in RULE_CODES | TRAVERSAL_CODES:
        assert CATALOGUE[code].defect and CATALOGUE[code].fix, code


def test_a_finding_s_fix_comes_from_the_catalogue():
    assert Finding("grad-overwrite", "m", op="add").fix == CATALOGUE["grad-overwrite"].fix


# -- replies -------------------------------------------------------------------------------------
def test_a_malformed_probe_reply_is_no_observation():
    probe = RuleProbe.parse({"grads": ["0.3", True], "closures": ["x", {"qualname": "f", "line": "3"}],
                             "data": [1]}, arity=2)
    assert probe.grads == (None, None) and probe.data is None
    assert probe.closures == frozenset({("f", None, None)})
    assert RuleProbe.parse(None, 1).error.type == "MalformedReply"


def test_a_setup_error_keeps_its_stage():
    probe = RuleProbe.parse({"error": {"type": "TypeError", "message": "m", "stage": "setup"}}, 1)
    assert probe.error.stage == "setup"


# -- messages that must not mislead --------------------------------------------------------------
@pytest.mark.parametrize("line, newer", [
    ('print(f"{d["k"]}")', True),
    ("def f[T](x): return x", True),
    ("type Number = float", True),
    ("x = = 2", False),
    ("self.grad += out.grad *", False),
    ("print(f\"{d['k']}\")", False),
])
def test_only_real_newer_syntax_is_called_newer(line, newer):
    assert (newer_syntax(line) is not None) is newer


# -- traversal judgement from recorded closure calls ---------------------------------------------
# a, b leaves; c = a * b; d = c + a: c is used by d, and a by both c and d
DIAMOND = Graph((leaf(0.6), leaf(-1.2), apply("mul", 0, 1), apply("add", 2, 0)))


def traversal_subject(consensus):
    caps = SimpleNamespace(class_name="Value", backward="backprop", closure_attr="_backward", methods={},
                           method_of=lambda op: op.method)
    return SimpleNamespace(caps=caps, consensus=consensus, log=Log(), method_location=lambda m: None)


def observed_run(calls):
    return GraphRun(data=DIAMOND.float_values(), grads=None, calls=calls,
                    inputs=[[], [], [0, 1], [2, 0]], graph_nodes=[0, 1, 2, 3])


@pytest.mark.parametrize("calls, codes", [
    ([(3, 1.0), (2, 1.0)], set()),
    ([(3, 1.0), (2, 1.0), (2, 1.0)], {"topo-revisit"}),
    ([(2, 0.0), (3, 1.0)], {"topo-order"}),
    ([(3, 1.0)], {"topo-incomplete"}),
    ([(3, 0.0), (2, 0.0)], {"grad-seed"}),
])
def test_traversal_defects_are_named_from_the_recorded_calls(calls, codes, consensus):
    from gradcheck.checks.traversal import judge_walk

    found = judge_walk(traversal_subject(consensus), DIAMOND, observed_run(calls))
    assert {x.code for x in found} == codes
    assert all("`backprop()`" in x.message for x in found)  # the subject's own name, in words only


# -- fingerprinting --------------------------------------------------------------------------------
@pytest.mark.parametrize("defect", [Candidate("grad-overwrite", "mul"), Candidate("missing-chain-factor", "tanh"),
                                    Candidate("grad-not-propagated", "add"), Candidate("topo-order"),
                                    Candidate("topo-revisit"), Candidate("grad-seed")])
def test_each_defect_is_identified_from_the_numbers_it_produces(defect):
    from gradcheck.checks.fingerprint import identify

    # shared nodes, depth and an upstream gradient other than 1 make each defect visible
    graph = Graph((leaf(0.7), leaf(-1.3), apply("mul", 0, 1), apply("tanh", 2), apply("add", 3, 2),
                   apply("mul", 4, 0)))
    grads = simulate(graph, defect)
    assert grads != simulate(graph, None)
    found = identify(graph, grads, [1e-9] * len(graph.nodes))
    assert defect in found
    assert all(simulate(graph, other) == grads or max(abs(a - b) for a, b in zip(simulate(graph, other), grads,
                                                                             strict=True)) <= 1e-9
               for other in found)  # anything else named reproduces the same numbers


# -- consensus tolerances --------------------------------------------------------------------------
def test_a_subject_is_compared_at_a_tight_tolerance_and_float32_at_a_wider_one(consensus):
    from gradcheck.oracles.consensus import precision_scale

    graph = Graph((leaf(0.7), leaf(-1.3), apply("mul", 0, 1), apply("tanh", 2)))
    expected = consensus.expected(graph)
    exact = expected.grads[0]
    assert expected.grad_ok(0, exact * (1 + 1e-9))
    assert not expected.grad_ok(0, exact * (1 + 1e-4))
    assert not expected.grad_ok(0, None) and not expected.grad_ok(0, float("nan"))
    assert precision_scale(8) == 1.0 and precision_scale(None) == 1.0
    assert precision_scale(4) == 100.0 and precision_scale(2) == 1e4


def test_a_spelled_out_accumulation_is_not_an_overwrite():
    from gradcheck.source import grad_statements

    source = ("def f(self, other):\n"
              "    def push():\n"
              "        self.grad = self.grad + out.grad\n"
              "        other.grad = out.grad\n"
              "        other.grad += 1\n")
    found = grad_statements(source, 2, "grad")
    assert [(s.line, s.assigns, s.target) for s in found] == [(3, False, "self"), (4, True, "other"),
                                                              (5, False, "other")]


def test_an_op_that_only_runs_its_primitive_s_closure_folds_into_it():
    """``__radd__ = self + other`` runs exactly add's closure: the table says which is the
    primitive; two ops with equal closures and no such relation stay apart."""
    same = Composition(observed=True, closures={"add": frozenset({ADD}), "radd": frozenset({ADD}),
                                                "mul": frozenset({MUL}), "pow": frozenset({MUL})})
    found = attribute([f("grad-overwrite", "add"), f("grad-overwrite", "radd")], same)
    assert [(x.op, x.inherited_by) for x in found] == [("add", ["radd"])]
    apart = attribute([f("grad-overwrite", "mul"), f("grad-overwrite", "pow")], same)
    assert sorted(x.op for x in apart) == ["mul", "pow"]


@pytest.mark.parametrize("body, recurses", [
    ("    self._backward()\n    for p in self._prev:\n        p.backward(root=False)\n", True),
    ("    self._backward()\n    for p in self._prev:\n        self.backward()\n", False),
    ("    for v in reversed(topo):\n        v._backward()\n", False),
])
def test_a_backward_that_calls_its_inputs_backward_is_recognised(body, recurses):
    from gradcheck.source import calls_itself_on_others

    source = "def backward(self, root=True):\n" + body
    assert calls_itself_on_others(source, 1, "backward") is recurses


def test_a_crash_at_the_same_statement_folds_into_the_usual_primitive():
    raised = ["/submission/v.py", 22, "AttributeError"]
    unobserved = Composition(observed=False)
    found = attribute([f("forward-wrong", "neg", raised_at=raised), f("forward-wrong", "sub", raised_at=raised),
                       f("forward-wrong", "radd", raised_at=["/submission/v.py", 9, "AttributeError"])],
                      unobserved)
    assert sorted((x.op, tuple(x.inherited_by)) for x in found) == [("neg", ("sub",)), ("radd", ())]
    elsewhere = attribute([f("forward-wrong", "neg", raised_at=raised),
                           f("forward-wrong", "sub", raised_at=["/submission/v.py", 30, "TypeError"])], unobserved)
    assert sorted(x.op for x in elsewhere) == ["neg", "sub"]


def test_a_name_error_s_missing_name_is_kept_only_when_it_is_a_name():
    from gradcheck.sandbox.replies import SubjectError

    assert SubjectError.parse({"type": "NameError", "message": "m", "name": "math"}).name == "math"
    assert SubjectError.parse({"type": "NameError", "message": "m", "name": "os; rm"}).name is None
    assert SubjectError.parse({"type": "NameError", "message": "m", "name": 3}).name is None


class ScaledSession:
    """A closure-less subject whose every leaf gradient is the true one times ``factor``."""

    def __init__(self, consensus, factor):
        self.consensus, self.factor = consensus, factor

    def run(self, graphs, **_):
        out = []
        for g in graphs:
            grads = self.consensus.expected(g).grads
            out.append(GraphRun(data=g.float_values(), grads=[x * self.factor for x in grads[:-1]] + [1.0]))
        return out


@pytest.mark.parametrize("factor, code", [(2.0, "wrong-derivative"), (0.0, "grad-not-propagated")])
def test_an_op_back_propagated_alone_shows_its_local_derivative(factor, code, consensus):
    from gradcheck.checks.diagnosis import _alone

    subject = opaque_subject(None, consensus)
    subject.session = ScaledSession(consensus, factor)
    found = _alone(subject, "pow", {"case": "x ** 2"})
    assert (found.code, found.op, found.evidence["identified_by"]) == (code, "pow", "single-op graph")
    subject.session = ScaledSession(consensus, 1.0)
    assert _alone(subject, "pow", {"case": "x ** 2"}) is None


def test_one_generic_closure_shared_by_unrelated_ops_says_nothing_about_composition():
    generic = frozenset({("Value._backward", "/submission/v.py", 50)})
    shared = Composition(observed=True, closures={"add": generic, "mul": generic, "neg": generic})
    found = attribute([f("grad-overwrite", "mul"), f("grad-overwrite", "neg"), f("grad-overwrite", "add")], shared)
    assert sorted(x.op for x in found) == ["add", "mul", "neg"]


def test_a_primitive_that_returns_no_node_explains_its_composites_symptoms():
    unobserved = Composition(observed=False)
    found = attribute([f("forward-wrong", "neg", returned="float"), f("no-inputs-recorded", "sub"),
                       f("forward-wrong", "rsub"), f("forward-wrong", "exp")], unobserved)
    assert sorted((x.op, tuple(x.inherited_by)) for x in found) == [("exp", ()), ("neg", ("rsub", "sub"))]


def test_a_primitive_whose_result_has_no_closure_explains_its_composites_passing_nothing():
    found = attribute([f("closure-called-at-build", "mul"), f("grad-not-propagated", "neg"),
                       f("grad-not-propagated", "tanh")], Composition(observed=True, closures={}))
    assert sorted((x.code, x.op, tuple(x.inherited_by)) for x in found) == [
        ("closure-called-at-build", "mul", ("neg",)), ("grad-not-propagated", "tanh", ())]



def test_a_closure_that_calls_its_inputs_closures_is_recognised():
    from gradcheck.source import calls_itself_on_others

    source = ("def __add__(self, other):\n"
              "    def _backward():\n"
              "        self.grad += out.grad\n"
              "        self._backward()\n"
              "    def quiet():\n"
              "        self.grad += out.grad\n")
    assert calls_itself_on_others(source, 2, "_backward")
    assert not calls_itself_on_others(source, 5, "_backward")


class WatchedSession:
    """A subject whose walk runs the root's closure twice on any graph it is watched on."""

    def __init__(self, consensus):
        self.consensus = consensus

    def run(self, graphs, instrument=False, **_):
        g = graphs[0]
        n = len(g.nodes)
        grads = [2 * x for x in self.consensus.expected(g).grads]
        calls = [(n - 1, 1.0), (n - 1, 1.0)] + [(i, 1.0) for i in range(n - 2, -1, -1) if not g.nodes[i].is_leaf]
        inputs = [list(node.args) for node in g.nodes]
        return [GraphRun(data=g.float_values(), grads=grads, calls=calls if instrument else [],
                         inputs=inputs if instrument else [], graph_nodes=list(range(n)) if instrument else [])]


def test_a_walk_seen_wrong_on_the_failing_case_is_named_even_when_the_traversal_check_saw_it_right(consensus):
    graph = Graph((leaf(0.7), leaf(-1.3), apply("mul", 0, 1)))
    subject = traversal_subject(consensus)
    subject.session = WatchedSession(consensus)
    expected = consensus.expected(graph)
    run = subject.session.run([graph])[0]
    cx = Counterexample(graph, run, expected, *compare(graph, run, expected, grads=True))
    rules = RuleOutcome(observed=True, closures={"mul": frozenset({MUL})})
    diagnosis = failure_findings(subject, EndToEndOutcome(failures=[cx]), [], rules,
                                 TraversalOutcome(TraversalState.CORRECT))
    assert [(x.code, x.op) for x in diagnosis.findings] == [("topo-revisit", None)]
    assert diagnosis.failed == frozenset()


def test_a_result_read_back_keeps_its_findings_advice_and_fixes():
    """Grading saves results as JSON and reads them back: the catalogue's advice ("advice") and
    a verified fix ("fix") are separate keys, and a result without fixes reads back too."""
    from gradcheck.result import Result

    plain = Result(subject="s", findings=[Finding("grad-overwrite", "m", op="add")])
    doc = plain.to_json()
    assert doc["findings"][0]["advice"] == CATALOGUE["grad-overwrite"].fix
    assert doc["findings"][0]["fix"] is None
    assert Result.from_json(doc).to_json() == doc

    fixed = Result(subject="s", findings=[Finding("grad-overwrite", "m", op="add")],
                   fixes=[{"code": "grad-overwrite", "op": "add", "diff": "-=\n+=", "verified": True}],
                   patch={"diff": "d"})
    doc = fixed.to_json()
    assert doc["findings"][0]["fix"] == {"diff": "-=\n+=", "verified": True}
    assert Result.from_json(doc).to_json() == doc
