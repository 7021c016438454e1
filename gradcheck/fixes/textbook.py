"""The textbook backward rules, as code written in a learner's own names.

Each op's rule is its local derivative towards each operand (a *slope*), written with ``{a}``/
``{b}`` the op method's operands (``self``, ``other``), ``{k}`` a number it takes (an exponent, a
base), ``{alpha}`` a slope parameter (``leaky_relu(self, alpha=0.01)``), ``{out}`` the result
and ``{g}``/``{d}`` the class's gradient and data attributes. From the slopes come both shapes
learners write: the closure's statements (``self.grad += other.data * out.grad``) and the bare
slopes a design without closures records per node (``lambda o: (1, -1)``, ``(self, 2 * x)``).

Ops not listed (reflected ops whose operand may be a plain number, a max against a number that
is never made a value) get no rewrite: a fix gradcheck cannot write with confidence is better
not proposed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gradcheck.fixes.statement_edits import times_upstream


@dataclass(frozen=True)
class Rule:
    slopes: tuple[str, ...]  # towards each operand, in the method's parameter order
    second: str | None = None  # the method's second parameter: "b" a value, "k" a number, "alpha"
    default: str | None = None  # {alpha} when the method takes no such parameter
    value: str | None = None  # the result from the operands: for {out}.{d} where it has no name


_T = "math.tanh(math.sqrt(2 / math.pi) * ({a}.{d} + 0.044715 * {a}.{d} ** 3))"

RULES: dict[str, Rule] = {
    "add": Rule(("1", "1"), "b"),
    "sub": Rule(("1", "-1"), "b"),
    "mul": Rule(("{b}.{d}", "{a}.{d}"), "b"),
    "truediv": Rule(("1 / {b}.{d}", "-{a}.{d} / {b}.{d} ** 2"), "b"),
    "neg": Rule(("-1",)),
    "radd": Rule(("1",)),
    "rsub": Rule(("-1",)),
    "pow": Rule(("{k} * {a}.{d} ** ({k} - 1)",), "k"),
    "exp": Rule(("{out}.{d}",), value="math.exp({a}.{d})"),
    "log": Rule(("1 / {a}.{d}",)),
    "tanh": Rule(("1 - {out}.{d} ** 2",), value="math.tanh({a}.{d})"),
    "relu": Rule(("{a}.{d} > 0",)),
    "sigmoid": Rule(("{out}.{d} * (1 - {out}.{d})",), value="1 / (1 + math.exp(-{a}.{d}))"),
    "abs": Rule(("1.0 if {a}.{d} > 0 else -1.0",)),
    "sqrt": Rule(("0.5 / {out}.{d}",), value="math.sqrt({a}.{d})"),
    "sin": Rule(("math.cos({a}.{d})",)),
    "cos": Rule(("-math.sin({a}.{d})",)),
    "softplus": Rule(("1 / (1 + math.exp(-{a}.{d}))",)),
    "leaky_relu": Rule(("1.0 if {a}.{d} > 0 else {alpha}",), "alpha", default="0.01"),
    "elu": Rule(("1.0 if {a}.{d} > 0 else {alpha} * math.exp({a}.{d})",), "alpha", default="1.0"),
    "atan": Rule(("1 / (1 + {a}.{d} ** 2)",)),
    "rpow": Rule(("{out}.{d} * math.log({k})",), "k", value="{k} ** {a}.{d}"),
    "vpow": Rule(("{b}.{d} * {a}.{d} ** ({b}.{d} - 1)", "{out}.{d} * math.log({a}.{d})"), "b",
                 value="{a}.{d} ** {b}.{d}"),
    # ties are never judged: either side may take the gradient there
    "maximum": Rule(("{a}.{d} > {b}.{d}", "{a}.{d} <= {b}.{d}"), "b"),
    "maximum_number": Rule(("{a}.{d} > {k}",), "k"),
    "gelu": Rule(("0.5 * (1 + math.erf({a}.{d} / math.sqrt(2)))"
                  " + {a}.{d} * math.exp(-{a}.{d} ** 2 / 2) / math.sqrt(2 * math.pi)",)),
    "gelu_tanh": Rule((f"0.5 * (1 + {_T}) + 0.5 * {{a}}.{{d}} * (1 - {_T} ** 2)"
                       " * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * {a}.{d} ** 2)",)),
}


@dataclass(frozen=True)
class Names:
    """A learner's names for what a rule is written in."""

    operands: tuple[str, ...]  # the op method's parameters: ("self", "other")
    out: str | None  # the result's name; None when the method names none (its value is used)
    grad: str
    data: str


def slopes(op: str, names: Names, has_math: bool) -> list[str] | None:
    """The local derivative towards each operand, in the learner's names; None when it cannot be
    written for this op with these names (a missing operand, ``math`` not imported)."""
    rule = RULES.get(op)
    if rule is None:
        return None
    texts = list(rule.slopes)
    if names.out is None:
        if rule.value is None and any("{out}" in s for s in texts):
            return None
        texts = [s.replace("{out}.{d}", _tight(rule.value or "")) for s in texts]
    if not has_math and any("math." in s for s in texts):
        return None
    fill = {"a": names.operands[0] if names.operands else "", "out": names.out or "",
            "g": names.grad, "d": names.data}
    if rule.second == "alpha":
        fill["alpha"] = names.operands[1] if len(names.operands) > 1 else rule.default
    elif rule.second is not None:
        if len(names.operands) < 2:
            return None
        fill[rule.second] = names.operands[1]
    if not fill["a"]:
        return None
    return [_fill(s, fill) for s in texts]


def _fill(template: str, fill: dict[str, str]) -> str:
    # twice: a result's value put in for ``{out}.{d}`` holds fields of its own
    once = template.format(**fill)
    return once.format(**fill) if "{" in once else once


def rule_lines(op: str, names: Names, has_math: bool) -> list[str] | None:
    """The closure's statements (unindented), one per operand: ``+=`` the slope times the
    result's gradient (``-=`` where the slope is a negated product), or None."""
    found = slopes(op, names, has_math) if names.out else None
    if found is None:
        return None
    return [_accumulating(target, slope, names) for target, slope in zip(names.operands, found, strict=False)]


def _accumulating(target: str, slope: str, names: Names) -> str:
    upstream = f"{names.out}.{names.grad}"
    if slope in ("1", "-1"):
        return f"{target}.{names.grad} {'+' if slope == '1' else '-'}= {upstream}"
    sign, slope = ("-", slope[1:]) if slope.startswith("-") and _is_tight(slope[1:]) else ("+", slope)
    statement = times_upstream(names.grad, names.out or "")(f"{target}.{names.grad} {sign}= {slope}\n")
    return statement.rstrip("\n")


_TIGHT = (ast.Attribute, ast.Name, ast.Call, ast.Constant, ast.Subscript)


def _is_tight(expr: str) -> bool:
    """Whether ``-expr`` reads as the negation of all of ``expr`` (a product, a call, a name)."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, _TIGHT) or (isinstance(node, ast.BinOp)
                                        and isinstance(node.op, ast.Mult | ast.Div | ast.Pow))


def _tight(template: str) -> str:
    return template if _is_tight(template.replace("{", "").replace("}", "")) else f"({template})"


def backward_method(name: str, me: str, inputs: str, closure: str, grad: str) -> list[str]:
    """A whole ``backward()`` in the lecture's shape (unindented, 4-space body): one visited set
    for the walk, each node added before its inputs are visited, the output seeded with 1, the
    closures run consumers first. Nodes are kept by ``id`` so that a class comparing values by
    their data still walks every node."""
    return [
        f"def {name}({me}):",
        "    topo, visited = [], set()",
        "",
        "    def build_topo(v):",
        "        if id(v) not in visited:",
        "            visited.add(id(v))",
        f"            for child in v.{inputs}:",
        "                build_topo(child)",
        "            topo.append(v)",
        f"    build_topo({me})",
        f"    {me}.{grad} = 1.0",
        "    for v in reversed(topo):",
        f"        v.{closure}()",
    ]
