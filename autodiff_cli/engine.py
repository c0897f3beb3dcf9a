"""The Value engine: a graph of numbers that remembers how it was computed.

A micrograd-style ``Value``, changed where micrograd does not scale:

* a node stores its operation's *name* and an ordered tuple of children, never
  a closure, so a graph has no reference cycles and is freed by reference
  counting alone (micrograd's closures leave every graph to the garbage
  collector, which is most of its running time), and drawing order is the
  same on every run;
* no function recurses per node: the topological sort is iterative, so a chain
  of a million operations is as good as a short one;
* ``backward()`` starts from zero gradients, so calling it twice gives the same
  answer;
* ``backward(create_graph=True)`` builds the gradients as new nodes
  (``gradients.gradient_graph``), so they can be differentiated again.

The math of each operation lives in ``ops.OPS``, and so do Value's operators
and methods (``attach_operations``); this module makes the nodes, and
passes.py computes them and walks graphs (its functions are re-exported
here). With the compiled core a node is a C object (``_nodes.c``) that keeps
the same rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .bindings import as_number
from .compiled import speedups
from .ops import FUNCTIONS, OPS, Op
from .passes import _forward, _pass_back, backpropagate, compute, describe, forward, local_derivatives, topological_order

if TYPE_CHECKING:
    from .value_api import ValueOperations
else:
    ValueOperations = object

Number = float | int

__all__ = [
    "COMPILED",
    "Value",
    "attach_operations",
    "backpropagate",
    "compute",
    "describe",
    "forward",
    "graph_leaf",
    "graph_node",
    "local_derivatives",
    "topological_order",
]

_speedups = speedups()
COMPILED = _speedups is not None
"""True when Value's nodes, forward, backward and the topological sort run in C (``_nodes.c``)."""


class _PureNode:
    """What a node holds, in the pure-Python core; the compiled core's ``_speedups.Node`` holds the same in C.

    The C node stores its numbers as doubles and its children as pointers, and
    runs the same rules: every operation falls back to this module for
    anything but its common, finite cases (see ``_nodes.c``).
    """

    __slots__ = ("_op", "_prev", "data", "grad")

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "") -> None:
        # A number from outside obeys the one rule for values (bindings.as_number):
        # a finite int or float, never a bool, a string or inf.
        self.data = data if type(data) is float and data - data == 0.0 else as_number(data, "a number given to Value")
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _children if type(_children) is tuple else tuple(_children)
        self._op = _op


if TYPE_CHECKING:
    _Node = _PureNode
else:
    _Node = _PureNode if _speedups is None else _speedups.Node


class Value(_Node, ValueOperations):
    """A float that records the operation and children that produced it.

    ``Value(data, _children=(), _op="")``: ``data`` obeys the rule for values
    (a finite int or float); ``_op`` names a row of ops.OPS. Its operators and
    one method per function of the language come from ops.OPS
    (``attach_operations``, or the compiled core's own); value_api.py declares
    them for type checkers. Numbers may stand on either side.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def _repr_svg_(self) -> str:
        """The graph below this value as SVG, each node with its value and gradient: what Jupyter shows.

        Drawing is render's job, two layers up, and the engine must stay
        usable without it; so this is the one import that runs upward, late:
        inside the method, made only when a notebook asks for the picture
        (``import autodiff_cli`` loads no render module), and declared by name
        in tests/test_layers.py (LATE), which fails on any other. The other
        ways were worse: a hook the render package registers is never
        registered in a notebook that imports only Value, and a name looked up
        with importlib would hide the dependency from the layer test.
        """
        from .render.svg import to_svg

        return to_svg(self)

    def __pos__(self) -> Value:
        return self

    def backward(self, create_graph: bool = False) -> None:
        """Fill ``grad`` of every node below this one with d(self)/d(node).

        Gradients start from zero on every call, so calling it twice gives the
        same answer. With ``create_graph`` each ``grad`` is a Value, the last
        node of a graph that computes it, so ``x.grad.backward()`` gives second
        derivatives. Like first-order gradients, its numbers may be inf or nan
        where a derivative does not exist. The graph holds no branch taken on
        numbers (relu's slope is a node too), so after leaves change,
        ``forward`` over it gives the gradient at the new point.
        """
        order = topological_order(self)
        if not create_graph:
            backpropagate(order)
            return
        from .gradients import gradient_graph  # the builder needs this module: import it only when asked

        grads = gradient_graph(order, self)
        for v in order:
            g = grads.get(v)
            v.grad = Value(0.0) if g is None else g  # type: ignore[assignment]  # float in the common case


# --- operators and methods from the table ------------------------------------------------

DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "^": "pow"}
"""Each operator's Python method name, without the underscores (``__add__``, ``__radd__``)."""


def attach_operations(
    cls: type, make: Callable[[Op, bool], Callable[..., Any]], functions: Mapping[str, Op], operators: bool = True
) -> None:
    """Give ``cls`` Python's operators and a method per entry of ``functions``, each ``make(op, reflected)``.

    Value and the gradient builder's Term both get their arithmetic here, so
    a row added to ops.OPS reaches both, and neither spells an operator by hand.
    ``operators=False`` leaves the operators to a base class that has them
    (the compiled node's are C slots, which a Python ``__add__`` would hide).
    """
    named = [(name, op, False) for name, op in functions.items()]
    if operators:
        named += [(f"__{d}__", OPS[s], False) for s, d in DUNDERS.items()]
        named += [(f"__r{d}__", OPS[s], True) for s, d in DUNDERS.items()]
        named.append(("__neg__", OPS["neg"], False))
    for name, op, reflected in named:
        method = make(op, reflected)
        method.__name__ = name
        method.__qualname__ = f"{cls.__name__}.{name}"
        method.__doc__ = f"``{op.name}`` as a new node{' (reflected)' if reflected else ''}; see ops.OPS."
        setattr(cls, name, method)


def _as_value(x: object) -> Value | None:
    """``x`` as a leaf if Python counts it a number (then the rule for values decides), else None."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return Value(x)
    return None


def _value_method(op: Op, reflected: bool) -> Callable[..., Value]:
    return _unary_method(op) if op.arity == 1 else _binary_method(op, reflected)


def _unary_method(op: Op) -> Callable[[Value], Value]:
    name, f, domain = op.name, op.forward, op.domain

    def method(self: Value) -> Value:
        x = self.data
        if domain is None:
            try:
                out = f(x)
            except (OverflowError, ValueError, ZeroDivisionError):
                out = compute(op, (x,))
            if out - out != 0.0:
                out = compute(op, (x,))
        else:
            out = compute(op, (x,))
        return Value(out, (self,), name)

    return method


def _binary_method(op: Op, reflected: bool = False) -> Callable[[Value, Value | Number], Value]:
    """``a <op> b`` (or, reflected, ``b <op> a``) with the hot path inlined: no domain, finite result."""
    name, f, domain = op.name, op.forward, op.domain

    def method(self: Value, other: Value | Number) -> Value:
        if type(other) is not Value:
            other = _as_value(other)  # type: ignore[assignment]
            if other is None:
                return NotImplemented
        left, right = (other, self) if reflected else (self, other)
        x = left.data  # type: ignore[union-attr]
        y = right.data  # type: ignore[union-attr]
        if domain is None:
            try:
                out = f(x, y)
            except (OverflowError, ValueError, ZeroDivisionError):
                out = compute(op, (x, y))
            if out - out != 0.0:
                out = compute(op, (x, y))
        else:
            out = compute(op, (x, y))
        return Value(out, (left, right), name)  # type: ignore[arg-type]

    return method


# One method per function of the language, straight from the table: adding a
# row to ops.OPS is all it takes to get ``Value.<name>()``. The compiled node
# makes them in C from the same row (``_speedups.method``), at the end of this module.
if _speedups is None:
    attach_operations(Value, _value_method, FUNCTIONS)


_AS_WRITTEN = dict(OPS)
"""ops.OPS as ops.py wrote it: only these rows may be run by the compiled core's kernels (_nodes.c)."""


def refresh_ops() -> None:
    """Make the compiled core read ops.OPS again, after code replaced a row (a test planting a wrong derivative).

    The pure core looks rows up as it runs; the compiled one reads the table
    once, at import, and runs its own kernels for the rows ops.py wrote. A
    replaced row loses its kernel, so the replacement is what runs.
    """
    if _speedups is not None:
        written = _AS_WRITTEN.get
        rows = [(o.name, o, o.arity, o.forward, o.derivative, o.domain is not None, o is written(o.name)) for o in OPS.values()]
        _speedups.setup(Value, rows, compute, _as_value, as_number, _forward, _pass_back)


graph_node: Callable[[tuple[Value, ...], str], Value] = functools.partial(Value, 0.0)
"""``graph_node(children, op)`` is ``Value(0.0, children, op)``: how the parser makes each operation's node
(its value comes with the first forward); the compiled core's costs a third of the call."""

graph_leaf: Callable[[float], Value] = Value
"""``graph_leaf(x)`` is ``Value(x)``: the parser's numbers and inputs (the compiled core's skips the type call)."""

if _speedups is not None:
    graph_node = _speedups.node
    graph_leaf = _speedups.leaf
    # The C nodes take their math from the table and hand back to these functions whatever is not a plain,
    # finite case, so both cores give the same numbers and the same errors (tests/test_nodes.py).
    refresh_ops()
    _method = _speedups.method
    attach_operations(Value, lambda op, _reflected: _method(op.name), FUNCTIONS, operators=False)
