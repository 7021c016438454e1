"""Seed 001 (../shared/seeds/001_583420c7cd8652e0.txt), the final Value class, transcribed faithfully.

Known defects:
- `tanh`'s `_backward` omits the `* out.grad` factor (missing-chain-factor);
- `backward()` creates `visited` inside the recursive `build_topo` and never adds to it, so a
  node reachable by several paths is visited, and its `_backward` run, more than once (topo-revisit);
- no number coercion; only `+`, `*` and `tanh` exist.
"""
import math


class Value:
    def __init__(self,data,_children=(),_op='',label=''):#using tuple because tuple is immutable.
        self.data=data
        self.grad=0 #derivative of final variable wrt this variable
        #ofc not applicable for leaf nodes which correspond to input.
        #just find prod of the adjacent node if its a * label, else it will be 1.
        self._prev=_children
        self._op=_op
        self.label=label
        self._backward=lambda:None # this is the backward function which will be determined at runtime for each Value object. 
        #by the way we implement it, it would be only for derived nodes and not leaf nodes.
    def __repr__(self):
        return f"Value(data:{self.data})"
    def __add__(self,other):
        out=Value(self.data+other.data,(self,other),'+')
        def _backward(): # this fills in the derivatives of children
            self.grad+=out.grad #using += in case same node is used more than once, eg: b=a+a or (d=a+b and c=a*b) and we don't override the definition and instead
            #sum up the derivatives of all the instances of the node
            other.grad+=out.grad #adding in
        out._backward=_backward
        return out
    def __mul__(self,other):
        out=Value(self.data*other.data,(self,other),'*')
        def _backward():
            self.grad+=other.data*out.grad
            other.grad+=self.data*out.grad
        out._backward=_backward
        return out
    def tanh(self):
        x=self.data
        res = (math.exp(2*x)-1)/(math.exp(2*x)+1)
        out =Value(res,(self,),_op='tanh')
        def _backward():
            self.grad+=1-(out.data**2)
        out._backward=_backward
        return out
    def backward(self):
        self.grad=1
        topo=[]
        def build_topo(node):
            visited=set()
            for child in node._prev:
                if child not in visited:
                    build_topo(child)
            topo.append(node)
        build_topo(self)
        for node in reversed(topo):
            node._backward()

a=Value(5,label='a')
b=Value(3,label='b')
c=a+b
c.label='c'
d=Value(10,label='d')
e=c*d
e.label='e'
e.backward()
print(a.grad)
print(b.grad)
print(c.grad)
print(d.grad)
print(e.grad)
