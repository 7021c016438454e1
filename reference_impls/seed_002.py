"""Seed 002 (../shared/seeds/002_48afd30891ed0fd8.txt), transcribed faithfully.

Known defects:
- `+` and `*` assign gradients (`=`) instead of accumulating (`+=`) (grad-overwrite);
- `-` builds its result with no `_backward`, so no gradient flows through subtraction
  (grad-not-propagated);
- `backward()` prints the topological order and every node;
- no number coercion; only `+`, `-` and `*` exist.
"""


class Value:
    def __init__(self,data, _children = (), _op = '', label=None):
        self.data = data
        self.label = label
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None
        
    def __repr__(self):
        return f"Value({self.label}, {self.data})"
    
    def __add__(self, other):

        result = Value(self.data + other.data, (self, other), '+')
        
        def _backward():
            self.grad = 1.0 * result.grad
            other.grad = 1.0 * result.grad
            
        result._backward = _backward
        
        return result 

    def __sub__(self,other):
        result = Value(self.data - other.data)
        result._prev = [self, other]
        result._op = '-'
        return result
    
    def __mul__(self,other):
        result = Value(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad = other.data * result.grad
            other.grad = self.data * result.grad
            
            
        result._backward = _backward
        return result

    def backward(self):
        topo = []
        visited = set()
        self.grad = 1
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        topo = list(reversed(topo))
        
        
        print('gg', topo)
        for i in topo:
            print(i)
            i._backward()
