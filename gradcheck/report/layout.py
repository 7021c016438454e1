"""Computation-graph pictures without a Graphviz binary: networkx layers the DAG (values and
the ops between them, left to right as in the lecture's ``draw_dot``), and we turn the layout
into SVG coordinates for the template. networkx is pure Python, maintained, already solves
layering (``topological_generations``) and needs nothing installed on the viewer's machine."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from gradcheck.ops import OPS_BY_NAME

RECORD_W, RECORD_H = 300, 46
OP_R = 18
COL_W_VALUE, COL_W_OP = RECORD_W + 40, 2 * OP_R + 50
ROW_H = RECORD_H + 34
MARGIN = 20


@dataclass
class Box:
    x: float
    y: float
    node: dict  # the evidence entry (values) or {"op": ..., "label": ...} (ops)
    kind: str  # "value" or "op"


@dataclass
class Picture:
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list)
    edges: list[tuple[float, float, float, float]] = field(default_factory=list)


def op_label(node: dict) -> str:
    op = OPS_BY_NAME.get(node["op"])
    label = op.label if op else str(node["op"])
    if node.get("k") is not None and op is not None and op.expr.startswith("{0}"):
        label += f"{node['k']:g}"  # a constant on the right: x ** 2 (on the left it is an operand)
    return label


def layout(graph: dict) -> Picture:
    g = nx.DiGraph()
    nodes = graph["nodes"]
    for i, node in enumerate(nodes):
        g.add_node(("v", i))
        if node["op"] is not None:
            g.add_node(("o", i))
            g.add_edge(("o", i), ("v", i))
            for a in set(node["args"]):
                g.add_edge(("v", a), ("o", i))
    layers = list(nx.topological_generations(g))
    # x from the layer's position (value columns wider than op columns), y by order in layer
    x_of, x = {}, MARGIN
    for depth, layer in enumerate(layers):
        width = COL_W_VALUE if any(k == "v" for k, _ in layer) else COL_W_OP
        x_of[depth] = (x, width)
        x += width
    pos = {}
    tallest = max(len(layer) for layer in layers)
    for depth, layer in enumerate(layers):
        offset = (tallest - len(layer)) * ROW_H / 2
        for row, key in enumerate(sorted(layer, key=lambda k: (k[1], k[0]))):
            left, _ = x_of[depth]
            pos[key] = (left, MARGIN + offset + row * ROW_H)
    pic = Picture(width=x + MARGIN, height=MARGIN * 2 + tallest * ROW_H)
    for key, (px, py) in pos.items():
        kind, i = key
        if kind == "v":
            pic.boxes.append(Box(px, py, nodes[i], "value"))
        else:
            pic.boxes.append(Box(px + OP_R, py + RECORD_H / 2, {"label": op_label(nodes[i])}, "op"))
    for src, dst in g.edges:
        pic.edges.append((*_port(src, pos, out=True), *_port(dst, pos, out=False)))
    return pic


def _port(key, pos, out: bool) -> tuple[float, float]:
    x, y = pos[key]
    if key[0] == "v":
        return (x + RECORD_W if out else x, y + RECORD_H / 2)
    return (x + (2 * OP_R if out else 0), y + RECORD_H / 2)
