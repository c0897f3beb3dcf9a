"""Computing nodes and walking graphs: the forward and backward passes over Values.

``compute`` applies one operation of ops.OPS to numbers and says what is an
error; ``topological_order``, ``forward`` and ``backpropagate`` walk a graph
without recursion. engine.py makes the nodes (and re-exports these names);
with the compiled core, the walks run in C (``_nodes.c``) and hand back to
``_forward`` and ``_pass_back`` here every node that is not a plain, finite
case, so both cores give the same numbers and errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .compiled import speedups
from .errors import DOMAIN, OVERFLOW, AutodiffError
from .ops import OPS, Op
from .ops_math import exact, ieee_div

if TYPE_CHECKING:
    from .engine import Value

__all__ = ["backpropagate", "compute", "describe", "forward", "local_derivatives", "topological_order"]

_speedups = speedups()


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
