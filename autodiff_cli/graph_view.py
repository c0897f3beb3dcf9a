"""A run graph as render draws it: plain nodes with a value, a gradient, an operation and operands.

render/ draws pictures (the DAG, the display's tables, DOT and Mermaid) of a
program that has just run. It reads them from this description rather than
from the engine's Values, the parser's Graph or the ops table, so that the
drawing code depends on what a picture shows, not on how the engine keeps it.
Nothing here prints or imports rich.
"""

from __future__ import annotations

from array import array
from typing import TypeAlias

from .engine import Value, topological_order
from .graph import Graph
from .ops import OPS

__all__ = ["Drawable", "GraphView", "Node", "graph_view"]


class Node:
    """One value of the graph: what it holds after the run, and the operation that made it.

    Compared and hashed by identity, like the engine's Values: a node used
    twice is one node with two users.
    """

    __slots__ = ("grad", "infix", "inputs", "label", "op", "value")

    def __init__(self, value: float, grad: float, inputs: tuple[Node, ...], op: str, label: str, infix: bool) -> None:
        self.value = value
        self.grad = grad  # d result / d node
        self.inputs = inputs  # operands in order, a node twice when it is used twice (x*x)
        self.op = op  # key of the ops table, "" for an input, a constant or a number
        self.label = label  # how the operation is written: its symbol (+) or its name (tanh)
        self.infix = infix  # whether the operation is written between its operands


class GraphView:
    """The whole picture: the program, its result, and the nodes people know by name."""

    __slots__ = ("called", "inputs", "names", "order", "result", "source")

    def __init__(self, source: str, result: Node, order: list[Node], inputs: dict[str, Node], names: dict[str, Node]) -> None:
        self.source = source
        self.result = result
        self.order = order  # every node below the result, operands before their users
        self.inputs = inputs  # names read before assignment, in order of first use
        self.names = names  # every name assigned, bound to its last value
        self.called = _called(inputs, names)  # what each named node is called: "a", or "c=d"


Drawable: TypeAlias = "Graph | GraphView | Value"
"""What a picture is drawn from: a parsed graph after a run, its view, or a Value after ``backward()``."""


def graph_view(graph: Drawable) -> GraphView:
    """The view of a graph that has been run (``Program.run``, ``Value.backward``); a view is returned as it is."""
    if isinstance(graph, GraphView):
        return graph
    if isinstance(graph, Value):  # built with Value arithmetic (a notebook): no program, so nothing has a name
        graph = Graph("", [], array("i"), {}, {}, [], {}, graph)
    made: dict[Value, Node] = {}
    order = [_node(v, made) for v in topological_order(graph.result)]
    for root in (*graph.inputs.values(), *graph.names.values()):  # a name need not feed the result ("y = x; 2")
        for v in topological_order(root) if root not in made else ():
            if v not in made:
                _node(v, made)
    inputs = {name: made[v] for name, v in graph.inputs.items()}
    names = {name: made[v] for name, v in graph.names.items()}
    return GraphView(graph.source, made[graph.result], order, inputs, names)


def _node(v: Value, made: dict[Value, Node]) -> Node:
    """The node of ``v``, whose operands already have theirs."""
    op = OPS.get(v._op)
    label = (op.symbol or op.name) if op is not None else v._op
    node = Node(v.data, v.grad, tuple(made[c] for c in v._prev), v._op, label, bool(op and op.symbol))
    made[v] = node
    return node


def _called(inputs: dict[str, Node], names: dict[str, Node]) -> dict[Node, str]:
    out: dict[Node, list[str]] = {}
    for name, v in inputs.items():
        out.setdefault(v, []).append(name)
    for name, v in names.items():
        called = out.setdefault(v, [])
        if name not in called:
            called.append(name)
    return {v: "=".join(called) for v, called in out.items()}
