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

__all__ = ["STATEMENT", "Drawable", "GraphView", "Node", "constants", "fold_constants", "graph_view", "named_values", "top_terms"]


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


# --- views for the pictures of bigger programs (issue 22) ----------------------------------------

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4}
_SYMMETRIC = frozenset({"+", "*", "min", "max"})

STATEMENT = "statement"
"""The op of a node of the named-values view: its label is its defining expression."""


def constants(view: GraphView) -> set[Node]:
    """Nodes that are numbers of the program or made of them only: no input or name below them (not the result)."""
    out: set[Node] = set()
    for v in view.order:
        if v not in view.called and v is not view.result and all(c in out for c in v.inputs):
            out.add(v)  # a leaf with no name is a number of the program
    return out


def fold_constants(view: GraphView, digits: int, hole: str = "·") -> GraphView:
    """The view with each constant folded into its user's label (``^2``, ``/2``, ``*0.5``, ``1-·``).

    A constant subexpression (``sqrt(2)``) is one number, shown with ``digits``
    significant digits, so numbers take no column or wire of their own;
    ``hole`` stands for the operand that is drawn (``_`` in plain ASCII).
    """
    folded = constants(view)
    if not folded:
        return view
    made: dict[Node, Node] = {}
    for v in view.order:
        if v in folded:
            continue
        kept = tuple(made[c] for c in v.inputs if c not in folded)
        label, infix = v.label, v.infix
        if len(kept) != len(v.inputs):
            label, infix = _folded_label(v, folded, digits, hole), False
        made[v] = Node(v.value, v.grad, kept, v.op, label, infix)
    for v in view.called:  # names that do not feed the result
        if v not in made:
            made[v] = Node(v.value, v.grad, (), v.op, v.label, v.infix)
    inputs = {name: made[v] for name, v in view.inputs.items()}
    names = {name: made[v] for name, v in view.names.items()}
    order = [made[v] for v in view.order if v in made]
    return GraphView(view.source, made[view.result], order, inputs, names)


def _folded_label(v: Node, folded: set[Node], digits: int, hole: str) -> str:
    parts = [_number(c.value, digits, v.infix) if c in folded else hole for c in v.inputs]
    if not v.infix:
        return f"{v.label}({', '.join(parts)})"
    if len(parts) == 1:
        return v.label + parts[0]
    if parts[1] == hole and v.label in _SYMMETRIC:
        return v.label + parts[0]  # 2*x: [*2]
    if parts[0] == hole:
        return v.label + parts[1]  # x^2: [^2]
    return f"{parts[0]}{v.label}{parts[1]}"  # 1 - x: [1-·]


def _number(x: float, digits: int, infix: bool) -> str:
    from .numbers import format_number

    text = format_number(x, digits)
    return f"({text})" if infix and text.startswith("-") else text


def named_values(view: GraphView, digits: int, budget: int = 40, more: str = "…") -> GraphView:
    """The graph of named values: inputs, named statements and the result, each read from the ones it uses.

    A node's label is its defining expression, written with the names of the
    values it reads and cut to ``budget`` characters (``more`` marks the cut); its value and gradient
    are those of the statement. What the expression computes in between is
    not a node of this view.
    """
    return _grouped(view, set(view.called), dict(view.names), digits, budget, more)


def top_terms(view: GraphView, digits: int, budget: int = 40, more: str = "…") -> GraphView:
    """A program without statements grouped as a person would: its top-level terms, called #1, #2, ...

    The terms are the operands of the sums at the top of the result (of its
    products, when it is not a sum); ``#`` starts a comment in the language,
    so these names are never a program's own.
    """
    ops = ("+", "-", "neg")
    terms: list[Node] = []
    for chain in (ops, (*ops, "*", "/")):
        terms = []
        stack = [view.result]
        while stack:
            v = stack.pop()
            if v.op in chain and v.inputs:
                stack.extend(reversed(v.inputs))
            elif v.inputs and v not in view.called and v not in terms:
                terms.append(v)
        if len(terms) >= 2:
            break
    names = dict(view.names)
    names.update((f"#{k}", v) for k, v in enumerate(terms, 1) if v is not view.result)
    return _grouped(view, set(view.called) | set(terms), names, digits, budget, more)


def _grouped(view: GraphView, named: set[Node], names: dict[str, Node], digits: int, budget: int, more: str) -> GraphView:
    key = named | {view.result} | set(view.inputs.values())
    called = _called(view.inputs, names)
    made: dict[Node, Node] = {}
    for v in view.order:
        if v not in key:
            continue
        if v in view.inputs.values() or not v.inputs:
            made[v] = Node(v.value, v.grad, (), "", "", False)
            continue
        reads = tuple(made[k] for k in _frontier(v, key) if k in made)
        text = _expression(v, called, key, digits, budget, more)
        made[v] = Node(v.value, v.grad, reads, STATEMENT, text, False)
    inputs = {name: made[v] for name, v in view.inputs.items() if v in made}
    kept = {name: made[v] for name, v in names.items() if v in made}
    order = [made[v] for v in view.order if v in made]
    return GraphView(view.source, made[view.result], order, inputs, kept)


def _frontier(v: Node, key: set[Node]) -> list[Node]:
    """The named values ``v``'s expression reads, in the order it reads them."""
    out: dict[Node, None] = {}
    seen: set[Node] = set()
    stack = list(reversed(v.inputs))
    while stack:
        c = stack.pop()
        if c in key:
            out[c] = None
        elif c not in seen:
            seen.add(c)
            stack.extend(reversed(c.inputs))
    return list(out)


def _expression(v: Node, called: dict[Node, str], key: set[Node], digits: int, budget: int, more: str) -> str:
    """``v``'s operation written out down to the named values it reads, at most ``budget`` characters."""
    out: list[str] = []
    room = [budget + 1]

    def put(text: str) -> None:
        if room[0] > 0:
            out.append(text[: room[0]])
            room[0] -= len(text)

    def write(n: Node, top: bool, outer: int, right: bool, depth: int) -> None:
        if room[0] <= 0:
            return
        if not top and n in key:
            put(called[n].split("=")[0])
            return
        if not n.inputs:
            put(_number(n.value, digits, True))
            return
        if depth > 40:
            put(more)
            return
        prec = _PRECEDENCE.get(n.op) if n.infix else None
        if prec is None:
            put(n.label + "(")
            for k, c in enumerate(n.inputs):
                if k:
                    put(", ")
                write(c, False, 0, False, depth + 1)
            put(")")
            return
        wrap = prec < outer or (prec == outer and (right or n.op == "^"))
        put("(" if wrap else "")
        if len(n.inputs) == 1:
            put(n.label)
            write(n.inputs[0], False, prec, False, depth + 1)
        else:
            write(n.inputs[0], False, prec + (n.op == "^"), False, depth + 1)
            put(n.label)
            write(n.inputs[1], False, prec, True, depth + 1)
        put(")" if wrap else "")

    write(v, True, 0, False, 0)
    text = "".join(out)
    return text if len(text) <= budget else text[: max(0, budget - len(more))] + more
