"""gradcheck's own walk over a subject's graph: which nodes an op was computed from, their
post-order, and a backward pass that runs the subject's closures in that order.

Used where the subject's own ``backward()`` must not decide the order: a local rule probes one
op's closures alone, and a subject without ``backward()`` is walked by this harness. The walk is
by identity (``id``), since a subject's values may be unhashable or compare in odd ways.
"""

import numbers
import types

from describe import code_id


def get_path(obj, path):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def as_items(value):
    """The nodes held by an inputs attribute, without hashing or comparing them."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.keys())
    if isinstance(value, (tuple, list, set, frozenset)):
        return list(value)
    try:
        return list(iter(value))
    except BaseException:
        return []


def inputs_of(node, cfg):
    """The nodes a node was computed from. Entries that are not nodes (``pow``'s number exponent
    kept beside its base, characters of a string) are left out, as the learner's own traversal
    leaves them out: gradcheck never walks into them or writes a gradient to them."""
    if not cfg.inputs_attr:
        return []
    try:
        items = as_items(get_path(node, cfg.inputs_attr))
    except AttributeError:
        return []
    # (by what they are not, rather than "instances of the class": a design whose ops build
    # nodes of a base or sibling class keeps them)
    return [item for item in items
            if item is not None and not isinstance(item, (numbers.Number, str, bytes))]


def topological(root, cfg, stop=()):
    """Post-order of the nodes under root, by identity (values may be unhashable)."""
    stop_ids = {id(s) for s in stop}
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if id(node) not in stop_ids:
            for child in inputs_of(node, cfg):
                if id(child) not in seen:
                    stack.append((child, False))
    return order


def harness_backward(root, cfg, stop=None, ran=None):
    """gradcheck's own traversal: used for local rules (``stop`` = the op's inputs, gradients
    preset by the caller) and when the subject has no ``backward()`` (seeds the output with 1).
    Appends the closures it runs to ``ran``, in order, as it goes."""
    ran = [] if ran is None else ran
    if stop is None:
        stop = ()
        setattr(root, cfg.grad_attr, 1.0)
    stop_ids = {id(s) for s in stop}
    order = topological(root, cfg, stop)
    if stop:  # an op probed alone: its internal nodes start from zero, whatever __init__ did
        for node in order:
            if id(node) not in stop_ids and node is not root:
                setattr(node, cfg.grad_attr, 0.0)
    for node in reversed(order):
        if id(node) in stop_ids:
            continue
        closure = getattr(node, cfg.closure_attr, None) if cfg.closure_attr else None
        if callable(closure):
            ran.append(code_id(closure))
            run_closure(closure, node)
    return ran


def run_closure(closure, node):
    """Call a node's closure as the subject's own backward() would: with no argument, or with
    the node itself when the closure takes exactly one (``def back(result)``, called as
    ``node._backward(node)``)."""
    if required_positional(closure) == 1:
        return closure(node)
    return closure()


def required_positional(fn, drop_first=False):
    """How many positional parameters ``fn`` requires, as ``inspect.signature`` counts them
    (``drop_first``: leaving out the first parameter, a method's ``self``).

    A plain function, or a method of one, is read from its code object: this runs for every
    closure of every node walked, and importing ``inspect`` alone was a fifth of a worker's
    start. Anything else -- a decorated function (``__wrapped__``), a ``functools.partial``, a
    callable object -- is left to ``inspect``, which knows them all."""
    dropped = 1 if drop_first else 0
    plain = fn
    if type(plain) is types.MethodType:  # bound: its first parameter is already given
        plain, dropped = plain.__func__, dropped + 1
    if type(plain) is types.FunctionType and "__wrapped__" not in plain.__dict__ \
            and "__signature__" not in plain.__dict__:
        # the positional parameters come first, those without a default before those with one
        return max(0, plain.__code__.co_argcount - len(plain.__defaults__ or ()) - dropped)
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    return sum(1 for p in params[1 if drop_first else 0:] if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
