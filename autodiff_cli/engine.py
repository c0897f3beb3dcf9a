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
and methods (``attach_operations``); this module computes nodes and walks
graphs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .bindings import as_number
from .compiled import speedups
from .errors import DOMAIN, OVERFLOW, AutodiffError
from .ops import FUNCTIONS, OPS, Op
from .ops_math import exact, ieee_div

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
    "forward",
    "graph_leaf",
    "graph_node",
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
    named = [(f"__{d}__", OPS[s], False) for s, d in DUNDERS.items()] if operators else []
    named += [(f"__r{d}__", OPS[s], True) for s, d in DUNDERS.items()] if operators else []
    named += [("__neg__", OPS["neg"], False)] if operators else []
    named += [(name, op, False) for name, op in functions.items()]
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


# --- computing one node --------------------------------------------------------------


def describe(op: Op, args: Sequence[float]) -> str:
    """Spell an operation on concrete numbers the way a person would write it."""
    shown = [exact(a) for a in args]
    if op.symbol and len(args) == 2:
        return f"{shown[0]} {op.symbol} {shown[1]}"
    if op.symbol:
        return f"{op.symbol}{shown[0]}"
    return f"{op.name}({', '.join(shown)})"


def compute(op: Op, args: tuple[float, ...], strict: bool = True) -> float:
    """Apply ``op`` to ``args``; with ``strict``, non-finite results raise AutodiffError.

    Without ``strict`` the result is what IEEE arithmetic gives (inf or nan), for
    callers that asked to see non-finite numbers instead of failing.
    """
    if strict and op.domain is not None:
        why = op.domain(*args)
        if why:
            raise AutodiffError(DOMAIN, why)
    try:
        out = op.forward(*args)
    except OverflowError:
        if strict:
            raise AutodiffError(OVERFLOW, f"{describe(op, args)} overflows float64") from None
        out = _overflowed(op, args)
    except (ValueError, ZeroDivisionError):
        if strict:
            raise AutodiffError(DOMAIN, f"{describe(op, args)} is undefined") from None
        out = _ieee(op, args)
    if strict and out - out != 0.0 and all(a - a == 0.0 for a in args):
        if math.isnan(out):
            raise AutodiffError(DOMAIN, f"{describe(op, args)} is undefined")
        raise AutodiffError(OVERFLOW, f"{describe(op, args)} overflows float64")
    return out


def _overflowed(op: Op, args: tuple[float, ...]) -> float:
    """The signed infinity an overflowing operation tends to."""
    x = args[0]
    if op.name == "sinh" or (op.name == "^" and x < 0.0 and args[1] % 2.0 == 1.0):
        return math.copysign(math.inf, x)
    return math.inf


def _ieee(op: Op, args: tuple[float, ...]) -> float:
    """What IEEE arithmetic gives where Python's math module raises instead."""
    x = args[0]
    if op.name == "/":
        return ieee_div(x, args[1])
    if op.name in ("log", "log2", "log10") and x == 0.0:
        return -math.inf
    if op.name == "atanh" and abs(x) == 1.0:
        return math.copysign(math.inf, x)
    return math.nan


# --- walking graphs ------------------------------------------------------------------


def _count_parents(root: Value) -> dict[Value, int]:
    """How many edges reach each node below ``root`` (itself included, with 0)."""
    parents = {root: 0}
    stack = [root]
    pop, push, get = stack.pop, stack.append, parents.get
    while stack:
        for c in pop()._prev:
            n = get(c)
            if n is None:
                parents[c] = 1
                push(c)
            else:
                parents[c] = n + 1
    return parents


def topological_order(root: Value) -> list[Value]:
    """Every node below ``root``, children before parents, without recursion.

    Kahn's algorithm from the root: a node is placed once all its parents are,
    so the result is deterministic and nothing recurses per node.
    """
    if _speedups is not None:
        return _speedups.topological_order(root)  # type: ignore[no-any-return]  # the same algorithm, in C
    parents = _count_parents(root)
    order: list[Value] = []
    ready = [root]
    pop, push, add = ready.pop, ready.append, order.append
    while ready:
        v = pop()
        add(v)
        for c in v._prev:
            n = parents[c] - 1
            parents[c] = n
            if n == 0:
                push(c)
    order.reverse()
    return order


def forward(nodes: Sequence[Value], strict: bool = True) -> None:
    """Recompute ``data`` of ``nodes`` (children first) after their leaves changed.

    This is how a compiled program runs again at new inputs without rebuilding
    its graph. A failing node is attached to the error as ``error.node``.
    """
    if strict and _speedups is not None:
        _speedups.forward(nodes)  # the loop below, in C; it hands this one any node it cannot settle
        return
    _forward(nodes, strict)


def _forward(nodes: Sequence[Value], strict: bool) -> None:
    ops = OPS
    v = None
    try:
        for v in nodes:
            op = ops[v._op]
            p = v._prev
            if op.domain is None and strict:
                # The common case, inlined: no domain to check, so only overflow.
                out = op.forward(p[0].data, p[1].data) if len(p) == 2 else op.forward(p[0].data)
                if out - out != 0.0:
                    out = compute(op, tuple(c.data for c in p), strict)
            else:
                out = compute(op, tuple(c.data for c in p), strict)
            v.data = out
    except AutodiffError as err:
        err.node = v  # type: ignore[attr-defined]
        raise
    except (OverflowError, ValueError, ZeroDivisionError):
        try:
            compute(OPS[v._op], tuple(c.data for c in v._prev), True)  # type: ignore[union-attr]
        except AutodiffError as err:
            err.node = v  # type: ignore[attr-defined]
            raise
        raise


def local_derivatives(v: Value) -> tuple[float, ...]:
    """d(v)/d(child) for each child of ``v``, as numbers (inf or nan where undefined).

    A nan value (under --allow-nonfinite) is undefined, and so are slopes
    through it, whatever number the formula gives: where the operation is
    undefined at defined arguments (log(-1), 0/0, inf - inf) every slope is
    nan (log's 1/x would say -1); otherwise the slope into each undefined
    argument is (0*log(-1) would pass 0 on to log, and hide it).
    """
    op = OPS.get(v._op)
    if op is None or not v._prev:
        return ()
    args = [c.data for c in v._prev]
    out = v.data
    try:
        d = op.derivative(*args, out)
    except OverflowError:
        return tuple(math.inf for _ in args)
    except (ValueError, ZeroDivisionError):
        return tuple(math.nan for _ in args)
    d = d if isinstance(d, tuple) else (d,)
    if out != out:
        defined = all(a == a for a in args)
        d = tuple(math.nan if defined or a != a else slope for a, slope in zip(args, d, strict=True))
    return d


def backpropagate(order: Sequence[Value], root: Value | None = None, careful: bool = False) -> None:
    """Reset, then accumulate gradients of ``root`` into every node of ``order``.

    ``order`` must list children before parents; ``root`` defaults to its last
    node, and nodes after the root in ``order`` receive nothing. A node
    whose gradient is exactly zero passes nothing on, so a dead branch cannot
    poison the answer with 0 * inf. ``careful`` is for values that may be inf
    or nan (``forward(strict=False)``): every node goes through
    ``local_derivatives``, which knows a slope is undefined where its
    operation is; the fast loop trusts finite values.
    """
    if not careful and _speedups is not None:
        _speedups.backpropagate(order, root)  # the fast loop below, in C; it hands _pass_back what it cannot do
        return
    for v in order:
        v.grad = 0.0
    if not order:
        return
    (order[-1] if root is None else root).grad = 1.0
    if careful:
        for v in reversed(order):
            g = v.grad
            if g != 0.0 and v._op:
                for c, d in zip(v._prev, local_derivatives(v), strict=True):
                    c.grad += g * d
        return
    ops = OPS
    for v in reversed(order):
        g = v.grad
        if g == 0.0 or not v._op:
            continue
        op = ops.get(v._op)
        if op is None:
            continue
        p = v._prev
        try:
            if len(p) == 1:
                c = p[0]
                c.grad += g * op.derivative(c.data, v.data)  # type: ignore[operator]
            else:
                a, b = p
                da, db = op.derivative(a.data, b.data, v.data)  # type: ignore[misc]
                a.grad += g * da  # type: ignore[has-type]
                b.grad += g * db  # type: ignore[has-type]
        except (OverflowError, ValueError, ZeroDivisionError):
            _pass_back(v, g)


def _pass_back(v: Value, g: float) -> None:
    """Add ``g`` times each local derivative of ``v`` to its children: where a derivative's formula raised."""
    for c, d in zip(v._prev, local_derivatives(v), strict=True):
        c.grad += g * d


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
