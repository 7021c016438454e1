"""The generator must really produce the shapes SPEC asks for, not just random trees."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.checks.generate import expression_dags
from gradcheck.ops import OPS, get_op, in_domain

ALL = [op.name for op in OPS]


def shape(graph):
    consumers = graph.consumers()
    used_twice = any(len(c) > 1 for c in consumers.values())
    same_operands = any(len(n.args) == 2 and n.args[0] == n.args[1] for n in graph.nodes)
    depth = [0] * len(graph.nodes)
    for i, n in enumerate(graph.nodes):
        depth[i] = 1 + max((depth[a] for a in n.args), default=-1)
    different_depths = any(len({depth[c] for c in cs}) > 1 for cs in consumers.values() if len(cs) > 1)
    return {"shared": used_twice, "a*a": same_operands, "mixed-depth": different_depths,
            "chain>=6": max(depth) >= 6}


@settings(max_examples=300)
@given(expression_dags(ALL))
def test_every_generated_node_is_inside_its_domain(graph):
    values = graph.float_values()
    for node in graph.nodes:
        if not node.is_leaf:
            assert in_domain(get_op(node.op), [values[a] for a in node.args], node.k)


def test_shapes_are_common():
    """Each shape SPEC asks for appears in at least 5% of the graphs the generator draws."""
    features: Counter = Counter()

    @settings(max_examples=300, database=None)
    @given(expression_dags(ALL))
    def draw(graph):
        features.update(k for k, v in shape(graph).items() if v)
        features["total"] += 1

    draw()
    total = features["total"]
    assert total >= 100, features
    for feature in ("shared", "a*a", "mixed-depth", "chain>=6"):
        assert features[feature] / total >= 0.05, (feature, features)


@given(st.data())
def test_only_the_requested_ops_appear(data):
    ops = data.draw(st.lists(st.sampled_from(ALL), min_size=1, max_size=4, unique=True))
    graph = data.draw(expression_dags(ops))
    assert graph.ops_used <= set(ops)
