"""Three independent oracles with one interface, chosen by name.

Each oracle takes a ``Graph`` and returns an ``Answer``: every node's value and the derivative
of the output with respect to every node (0 for nodes the output does not depend on). torch and
sympy are imported only when their oracle is first used.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Protocol

from gradcheck.graph import Graph


@dataclass(frozen=True)
class Answer:
    values: list[float]
    grads: list[float]


class Oracle(Protocol):
    name: str

    def evaluate(self, graph: Graph) -> Answer: ...


_REGISTRY = {
    "torch": ("gradcheck.oracles.torch_oracle", "TorchOracle"),
    "sympy": ("gradcheck.oracles.sympy_oracle", "SympyOracle"),
    "fd": ("gradcheck.oracles.finite_difference", "FiniteDifferenceOracle"),
}

ORACLE_NAMES = tuple(_REGISTRY)


def get_oracle(name: str) -> Oracle:
    try:
        module, cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown oracle {name!r}; choose from {', '.join(_REGISTRY)}") from None
    return getattr(import_module(module), cls)()
