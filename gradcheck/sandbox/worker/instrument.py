"""Watching the subject's own ``backward()``: every node's closure is wrapped so the order in
which it runs them, and the gradient each node holds at that moment, are recorded.

This is what lets the trusted side judge a traversal (missing, repeated or out-of-order closure
calls) rather than only its final gradients.
"""

from describe import number
from traversal import inputs_of, topological


class TopoRecorder:
    """Wraps every node's closure so the order in which ``backward()`` runs them is seen."""

    def __init__(self, root, cfg):
        self.cfg = cfg
        self.calls = []
        self.nodes = topological(root, cfg)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        for i, node in enumerate(self.nodes):
            original = getattr(node, cfg.closure_attr, None) if cfg.closure_attr else None
            if not callable(original):
                continue
            try:
                setattr(node, cfg.closure_attr, self._wrap(i, node, original))
            except BaseException:
                pass  # __slots__ or a read-only attribute: this node goes unobserved

    def _wrap(self, i, node, original):
        def recorded(*args, **kwargs):
            self.calls.append([i, number(getattr(node, self.cfg.grad_attr, None))])
            return original(*args, **kwargs)
        return recorded

    def structure(self, graph_nodes):
        return {
            "inputs": [[self.index[id(c)] for c in inputs_of(n, self.cfg) if id(c) in self.index]
                       for n in self.nodes],
            "graph_nodes": [self.index.get(id(n)) for n in graph_nodes],
        }
