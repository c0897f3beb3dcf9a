"""The Value engine: a graph of numbers that remembers how it was computed.

A micrograd-style ``Value`` with three changes that matter at scale:

* a node stores its operation's *name* and an ordered tuple of children, never
  a closure, so a graph has no reference cycles and is freed by reference
  counting alone (micrograd's closures leave every graph to the garbage
  collector, which is most of its running time);
* no function recurses per node: the topological sort is iterative, so a chain
  of a million operations is as good as a short one;
* ``backward()`` starts from zero gradients, so calling it twice gives the same
  answer.

The math of each operation lives in ``ops.OPS``; this module only walks graphs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from .errors import DOMAIN, OVERFLOW, AutodiffError
from .ops import FUNCTIONS, OPS, Op

Number = float | int

__all__ = ["Value", "backpropagate", "forward", "topological_order"]


class Value:
    """A float that records the operation and children that produced it."""

    __slots__ = ("data", "grad", "_prev", "_op")

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _children if type(_children) is tuple else tuple(_children)
        self._op = _op

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # --- arithmetic: numbers may stand on either side -----------------------------

    def __add__(self, other: Value | Number) -> Value:
        return apply("+", self, other)

    def __radd__(self, other: Number) -> Value:
        return apply("+", other, self)

    def __sub__(self, other: Value | Number) -> Value:
        return apply("-", self, other)

    def __rsub__(self, other: Number) -> Value:
        return apply("-", other, self)

    def __mul__(self, other: Value | Number) -> Value:
        return apply("*", self, other)

    def __rmul__(self, other: Number) -> Value:
        return apply("*", other, self)

    def __truediv__(self, other: Value | Number) -> Value:
        return apply("/", self, other)

    def __rtruediv__(self, other: Number) -> Value:
        return apply("/", other, self)

    def __pow__(self, other: Value | Number) -> Value:
        return apply("^", self, other)

    def __rpow__(self, other: Number) -> Value:
        return apply("^", other, self)

    def __neg__(self) -> Value:
        return apply("neg", self)

    def __pos__(self) -> Value:
        return self

    # --- gradients -----------------------------------------------------------------

    def backward(self) -> None:
        """Fill ``grad`` of every node below this one with d(self)/d(node)."""
        backpropagate(topological_order(self))


def _as_value(x: Value | Number) -> Value:
    if type(x) is Value:
        return x
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return Value(x)
    return NotImplemented  # type: ignore[return-value]


def apply(name: str, *args: Value | Number) -> Value:
    """Compute operation ``name`` on ``args`` now and return its node."""
    children = tuple(_as_value(a) for a in args)
    if NotImplemented in children:
        return NotImplemented  # type: ignore[return-value]
    op = OPS[name]
    return Value(compute(op, tuple(c.data for c in children)), children, name)


def _function_method(op: Op) -> object:
    name = op.name
    if op.arity == 1:

        def method(self: Value) -> Value:
            return apply(name, self)

    else:

        def method(self: Value, other: Value | Number) -> Value:  # type: ignore[misc]
            return apply(name, self, other)

    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    method.__doc__ = f"``{name}`` of this value, as a new node (see ops.OPS)."
    return method


# One method per function of the language, straight from the table: adding a
# row to ops.OPS is all it takes to get ``Value.<name>()``.
for _name, _op in FUNCTIONS.items():
    setattr(Value, _name, _function_method(_op))


# --- computing one node --------------------------------------------------------------


def describe(op: Op, args: Sequence[float]) -> str:
    """Spell an operation on concrete numbers the way a person would write it."""
    shown = [f"{a:g}" for a in args]
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
        return math.nan if x == 0.0 or x != x else math.copysign(math.inf, x) * math.copysign(1.0, args[1])
    if op.name in ("log", "log2", "log10") and x == 0.0:
        return -math.inf
    if op.name == "^" and x == 0.0:
        return math.inf
    if op.name == "atanh" and abs(x) == 1.0:
        return math.copysign(math.inf, x)
    return math.nan


# --- walking graphs ------------------------------------------------------------------


def topological_order(root: Value) -> list[Value]:
    """Every node below ``root``, children before parents, without recursion."""
    order: list[Value] = []
    state: dict[Value, bool] = {}  # False: children pushed; True: emitted
    stack = [root]
    push = stack.append
    while stack:
        v = stack[-1]
        done = state.get(v)
        if done is None:
            state[v] = False
            for c in v._prev:
                if c not in state:
                    push(c)
        else:
            stack.pop()
            if not done:
                state[v] = True
                order.append(v)
    return order


def forward(nodes: Sequence[Value], strict: bool = True) -> None:
    """Recompute ``data`` of ``nodes`` (children first) after their leaves changed.

    This is how a compiled program runs again at new inputs without rebuilding
    its graph. A failing node is attached to the error as ``error.node``.
    """
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
    """d(v)/d(child) for each child of ``v``, as numbers (inf or nan where undefined)."""
    op = OPS.get(v._op)
    if op is None or not v._prev:
        return ()
    args = [c.data for c in v._prev]
    try:
        d = op.derivative(*args, v.data)
    except OverflowError:
        return tuple(math.inf for _ in args)
    except (ValueError, ZeroDivisionError):
        return tuple(math.nan for _ in args)
    return d if isinstance(d, tuple) else (d,)


def backpropagate(order: Sequence[Value], root: Value | None = None) -> None:
    """Reset, then accumulate gradients of ``root`` into every node of ``order``.

    ``order`` must list children before parents; ``root`` defaults to its last
    node, and nodes after the root in ``order`` receive nothing. A node
    whose gradient is exactly zero passes nothing on, so a dead branch cannot
    poison the answer with 0 * inf.
    """
    for v in order:
        v.grad = 0.0
    if not order:
        return
    (order[-1] if root is None else root).grad = 1.0
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
                c.grad += g * op.derivative(c.data, v.data)
            else:
                a, b = p
                da, db = op.derivative(a.data, b.data, v.data)
                a.grad += g * da
                b.grad += g * db
        except (OverflowError, ValueError, ZeroDivisionError):
            for c, d in zip(p, local_derivatives(v)):
                c.grad += g * d
