"""Hypothesis strategies for expression DAGs over the ops a subject supports.

Operands are picked by index into the nodes built so far, so sharing (``a*b`` used twice),
diamonds, the same value as both operands (``a*a``) and values consumed at different depths all
arise, and shrinking moves toward short chains over the first leaf. Inputs are kept in each op's
domain by construction -- an operand outside it is replaced by the nearest one inside, or the op
by one that is defined there -- so no example is thrown away for its domain.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers as _providers
from hypothesis.internal.constants_ast import Constants

from gradcheck.graph import Graph, Node, apply, leaf
from gradcheck.ops import Op, get_op, in_domain


@contextmanager
def without_local_constants():
    """Generate from the strategies alone. Hypothesis also draws, now and then, numeric literals
    found in the source of every "local" module the process has imported -- gradcheck's own
    (in an editable install), the test files, a notebook's modules. The cases would then depend
    on who calls gradcheck and on what it imported before, so the same subject could get
    another counterexample (or verdict) from the CLI, pytest and a notebook. Hypothesis has no
    setting for this; its internal hook is replaced for the duration, and left alone if it
    ever moves (``test_generation_ignores_the_callers_modules`` then fails).

    Hypothesis also keeps the constants it may draw, per kind of draw, in one cache for the
    whole process, filled by whichever test drew that kind first: after the caller's own
    Hypothesis tests it holds their literals, hook or no hook. gradcheck's generation is given
    a cache of its own for the duration (``test_generation_ignores_earlier_hypothesis_tests``)."""
    original = getattr(_providers, "_get_local_constants", None)
    shared_cache = getattr(_providers, "CONSTANTS_CACHE", None)
    if original is None or shared_cache is None:
        yield
        return
    with _SWAPPING:  # the hook and the cache are the process's: one generation at a time
        global _own_constants
        if _own_constants is None:
            _own_constants = type(shared_cache)(1024)
        _providers._get_local_constants = _no_constants
        _providers.CONSTANTS_CACHE = _own_constants
        try:
            yield
        finally:
            _providers._get_local_constants = original
            _providers.CONSTANTS_CACHE = shared_cache


def _no_constants() -> Constants:
    return Constants()


# What Hypothesis's constants cache holds while gradcheck generates: filled only with no local
# constants, so it is the same in every process. (Made like Hypothesis's own, on first use.)
_own_constants = None
_SWAPPING = threading.RLock()


def _validate(ops: list[str], max_leaves: int, max_ops: int) -> list[Op]:
    if not ops:
        raise ValueError("ops=[] must name at least one op")
    if max_leaves < 1:
        raise ValueError(f"max_leaves={max_leaves} must be at least 1")
    if max_ops < 1:
        raise ValueError(f"max_ops={max_ops} must be at least 1")
    return [get_op(name) for name in ops]


# Leaves are drawn as a sign and a magnitude in [LEAF_MIN, LEAF_MAX]: the ops then take
# values well beyond that range inside the graph.
LEAF_MIN, LEAF_MAX = 1e-3, 3.0


def leaf_values() -> st.SearchStrategy[float]:
    """Any float of magnitude [LEAF_MIN, LEAF_MAX], not a grid: a subject right only at round
    inputs (multiples of 0.01, say) is still caught. Counterexamples stay readable because
    Hypothesis shrinks floats toward integers and short binary fractions (1.0, -1.25, 0.125).
    Plain ``floats(-3, 3)`` would spend a third of its draws on magnitudes like 1e-300, which
    exercise nothing but underflow; the magnitude's lower bound keeps those out."""
    magnitude = st.floats(LEAF_MIN, LEAF_MAX, allow_nan=False, allow_infinity=False)
    return st.tuples(st.booleans(), magnitude).map(lambda t: -t[1] if t[0] else t[1])


def expression_dags(ops: list[str], max_leaves: int = 3, max_ops: int = 10,
                    focus: str | None = None) -> st.SearchStrategy[Graph]:
    """DAGs over ``ops``; ``focus`` names one op to use five times as often (the op under test
    when the others are already known to be right)."""
    table = _validate(ops, max_leaves, max_ops)
    if focus is not None and focus not in ops:
        raise ValueError(f"focus={focus!r} must be one of ops={ops!r}")
    weighted = [op for op in table for _ in range(op.weight * (5 if op.name == focus else 1))]
    # Each strategy is made once, not at every draw: shrinking draws a graph for every step it
    # tries, and making the strategies anew (validating them, hashing the weighted op list into
    # a label) was half of drawing one. The same strategies draw the same choices.
    leaves, n_leaves_drawn, n_ops_drawn = leaf_values(), st.integers(1, max_leaves), st.integers(1, max_ops)
    op_drawn = st.sampled_from(weighted)
    constant_of = {op.name: st.sampled_from(op.constants) for op in table if op.takes_constant}
    below = [st.integers(0, n) for n in range(2 * (max_leaves + max_ops))]  # an index in 0..n

    @st.composite
    def dags(draw) -> Graph:
        n_leaves = draw(n_leaves_drawn)
        nodes: list[Node] = [leaf(draw(leaves)) for _ in range(n_leaves)]
        values = [n.value for n in nodes]
        for _ in range(draw(n_ops_drawn)):
            op = draw(op_drawn)
            # First operand: by default the newest node (a chain); second: anywhere (sharing).
            # (half the draws land past the end and mean "newest", so long chains are common)
            back = draw(below[2 * (len(nodes) - 1)])
            first = len(nodes) - 1 - (back if back < len(nodes) else 0)
            second = draw(below[len(nodes) - 1])
            k = draw(constant_of[op.name]) if op.takes_constant else None
            picked = _place(op, [first, second][: op.arity], k, values) or _fallback(table, values)
            if picked is None:
                continue
            node = apply(picked[0].name, *picked[1], k=picked[2])
            nodes.append(node)
            values.append(_value(picked[0], [values[a] for a in picked[1]], picked[2]))
        if all(n.is_leaf for n in nodes):
            reject()  # no op is defined at these leaves (e.g. only log, all leaves negative)
        _fold_dangling(table, nodes, values)
        return Graph(tuple(nodes))

    return dags()


def _fold_dangling(table: list[Op], nodes: list[Node], values: list[float]) -> None:
    """Make the output depend on every op result: a node nothing consumes would be checked for
    nothing (its expected gradient is 0 whatever the subject does). Each dangling result is
    combined into the output with a binary op from the pool, where one is defined there."""
    binary = [op for op in table if op.arity == 2]
    consumed = {a for n in nodes for a in n.args}
    dangling = [i for i, n in enumerate(nodes[:-1]) if not n.is_leaf and i not in consumed]
    for i in dangling:
        out = len(nodes) - 1
        for op in binary:
            if in_domain(op, [values[out], values[i]], None):
                nodes.append(apply(op.name, out, i))
                values.append(_value(op, [values[out], values[i]], None))
                break


def _value(op: Op, operands: list[float], k: float | None) -> float:
    return float(op.value(*operands, *([k] if op.takes_constant else [])))


def _place(op: Op, args: list[int], k, values: list[float]):
    """The drawn operands if the op is defined there, else the closest valid replacement."""
    if in_domain(op, [values[a] for a in args], k):
        return op, args, k
    n = len(values)
    for shift in range(1, n):
        moved = [(a - shift) % n for a in args]
        if in_domain(op, [values[a] for a in moved], k):
            return op, moved, k
    return None


def _fallback(table: list[Op], values: list[float]):
    last = len(values) - 1
    for op in table:
        for k in op.constants or (None,):
            args = [last] * op.arity
            if in_domain(op, [values[a] for a in args], k):
                return op, args, k
    return None
