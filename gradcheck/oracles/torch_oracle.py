"""PyTorch autograd in float64: the reference most learners already trust."""

from __future__ import annotations

from gradcheck.graph import Graph
from gradcheck.ops import get_op
from gradcheck.oracles import Answer


class TorchOracle:
    name = "torch"

    def __init__(self) -> None:
        import torch

        self._torch = torch

    def evaluate(self, graph: Graph) -> Answer:
        torch = self._torch
        tensors = []
        for node in graph.nodes:
            if node.is_leaf:
                t = torch.tensor(node.value, dtype=torch.float64, requires_grad=True)
            else:
                op = get_op(node.op)
                args = [tensors[a] for a in node.args] + ([node.k] if op.takes_constant else [])
                t = op.torch(*args)
                t.retain_grad()
            tensors.append(t)
        tensors[-1].backward()
        grads = [0.0 if t.grad is None else float(t.grad) for t in tensors]
        return Answer(values=[float(t.detach()) for t in tensors], grads=grads)
