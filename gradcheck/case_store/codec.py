"""Graphs and oracle answers as JSON values, for the case store.

JSON keeps a float64 exactly (Python writes the shortest repr that reads back to the same
number), so an answer read from the store is bit-for-bit the answer the oracles gave.
"""

from __future__ import annotations

from gradcheck.graph import Graph, Node
from gradcheck.oracles.consensus import Expected


def graph_to_json(graph: Graph) -> list:
    return [[n.op, list(n.args), n.k, n.value] for n in graph.nodes]


def graph_from_json(data: list) -> Graph:
    return Graph(tuple(Node(op=op, args=tuple(args), k=k, value=value) for op, args, k, value in data))


def answer_to_json(expected: Expected | None, reason: str) -> dict:
    if expected is None:
        return {"discarded": reason}
    return {"values": expected.values, "grads": expected.grads,
            "value_tol": expected.value_tol, "grad_tol": expected.grad_tol}


def answer_from_json(data: dict) -> tuple[Expected | None, str]:
    if "discarded" in data:
        return None, data["discarded"]
    return Expected(values=data["values"], grads=data["grads"], value_tol=data["value_tol"],
                    grad_tol=data["grad_tol"]), ""
