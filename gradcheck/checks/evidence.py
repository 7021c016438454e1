"""Evidence a person can look at: a failing case as a drawable graph, with what every value's
data and gradient were and should have been."""

from __future__ import annotations

from gradcheck.graph import Graph


def drawable(graph: Graph, data: list, grads: list | None, expected_values: list,
             expected_grads: list | None, grad_ok=None, value_ok=None) -> dict:
    """A JSON-able picture of one case: nodes in construction order, each with its operands,
    and ``bad`` set where the subject's number differs from the oracles'."""
    nodes = []
    for i, node in enumerate(graph.nodes):
        entry = {"name": graph.name(i), "op": node.op, "args": list(node.args), "k": node.k,
                 "statement": graph.statement(i).replace("{cls}", "Value"),
                 "data": data[i] if i < len(data) else None, "expected_data": expected_values[i],
                 "grad": grads[i] if grads is not None and i < len(grads) else None,
                 "expected_grad": expected_grads[i] if expected_grads is not None else None}
        entry["bad_data"] = bool(value_ok is not None and not value_ok(i, entry["data"]))
        entry["bad_grad"] = bool(grad_ok is not None and expected_grads is not None
                                 and not grad_ok(i, entry["grad"]))
        nodes.append(entry)
    return {"nodes": nodes, "output": graph.output}
