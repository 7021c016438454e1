"""Fingerprinting: naming a defect from numbers alone, for subjects that cannot be instrumented.

When a subject exposes no per-node closures or inputs (``__slots__``, a tape, a compiled
core), its failing case is replayed on gradcheck's own reference engine once per candidate
defect; the candidate whose gradients match the subject's exactly is the diagnosis. This runs
entirely in the trusted process, on harness code and the subject's reported numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradcheck.graph import Graph

OP_DEFECTS = ("grad-overwrite", "missing-chain-factor", "grad-not-propagated")
TRAVERSAL_DEFECTS = ("topo-revisit", "topo-order", "grad-seed")


@dataclass(frozen=True)
class Candidate:
    code: str
    op: str | None = None


def candidates(graph: Graph) -> list[Candidate]:
    ops = sorted(graph.ops_used)
    return ([Candidate(code, op) for op in ops for code in OP_DEFECTS]
            + [Candidate(code) for code in TRAVERSAL_DEFECTS])


def simulate(graph: Graph, defect: Candidate | None) -> list[float]:
    """Every node's gradient after a micrograd-style backward() with one defect injected."""
    # sympy's compiled partials (and mpmath): imported here, only when a failure is fingerprinted
    from gradcheck.oracles.sympy_oracle import compiled, forward_values

    values = [float(v) for v in forward_values(graph)]
    grads = [0.0] * len(graph.nodes)
    grads[-1] = 0.0 if defect and defect.code == "grad-seed" else 1.0
    for i in _order(graph, defect):
        node = graph.nodes[i]
        if node.is_leaf:
            continue
        _, partials = compiled(node.op, node.k)
        args = [values[a] for a in node.args]
        broken = defect.code if defect and defect.op == node.op else None
        for a, partial in zip(node.args, partials, strict=True):
            local = float(partial(*args))
            if broken == "grad-not-propagated":
                continue
            step = local if broken == "missing-chain-factor" else local * grads[i]
            grads[a] = step if broken == "grad-overwrite" else grads[a] + step
    return grads


def _order(graph: Graph, defect: Candidate | None) -> list[int]:
    """Closure order: reverse topological, or what a broken traversal produces instead."""
    post: list[int] = []
    seen: set[int] = set()
    revisit = defect is not None and defect.code == "topo-revisit"

    def visit(i: int) -> None:
        if i in seen and not revisit:
            return
        seen.add(i)
        for a in graph.nodes[i].args:
            visit(a)
        post.append(i)

    visit(graph.output)
    if defect is not None and defect.code == "topo-order":
        return post  # the list built, never reversed
    return list(reversed(post))


def identify(graph: Graph, actual: list[float | None], tolerance: list[float]) -> list[Candidate]:
    """The candidate defects that reproduce the subject's gradients on every node compared."""
    nodes = graph.ancestors_of_output()
    if any(actual[i] is None or not math.isfinite(actual[i]) for i in nodes):
        return []
    matches = []
    for cand in candidates(graph):
        try:
            grads = simulate(graph, cand)
        except (ArithmeticError, ValueError):
            continue
        if all(abs(grads[i] - actual[i]) <= tolerance[i] for i in nodes):
            matches.append(cand)
    return matches
