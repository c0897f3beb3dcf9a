"""Gradients as graphs: derivatives built as new nodes, simplified as they are made.

``gradient_graph`` walks a program backwards like ``engine.backpropagate``,
but instead of numbers it builds, from the ``graph`` column of ops.OPS, the
nodes that compute each gradient, so that a derivative can be printed as a
program (``diff``), recomputed at new inputs (``plot``) or differentiated
again (``hessian``, ``Value.backward(create_graph=True)``). ``GraphBuilder``
keeps those graphs small: constants fold, identities vanish, repeated
subexpressions are shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from .engine import Number, Value, attach_operations, compute, forward
from .errors import AutodiffError
from .ops import OPS, Op

__all__ = ["GraphBuilder", "Term", "gradient_graph"]


class Term:
    """A node of a graph under construction: its arithmetic builds simplified nodes.

    The ``graph`` derivatives of the ops table are written with operators and
    method calls; handed Terms, they build nodes without computing them.
    ``const`` is the node's number when it is a known constant, else None.
    """

    __slots__ = ("builder", "const", "node")

    def __init__(self, node: Value, const: float | None, builder: GraphBuilder) -> None:
        self.node = node
        self.const = const
        self.builder = builder

    def __repr__(self) -> str:
        return f"Term({self.node._op or self.const!r})"

    def __pos__(self) -> Term:
        return self


def _term_method(op: Op, reflected: bool) -> Callable[..., Term]:
    name = op.name
    if reflected:

        def reflected_method(self: Term, other: Term | Number) -> Term:
            return self.builder.apply(name, other, self)

        return reflected_method

    def method(self: Term, *others: Term | Number) -> Term:
        return self.builder.apply(name, self, *others)

    return method


# Python's operators and every named operation, internal ones included, as a
# method: x.cosh(), x.below(y). The graph column of ops.OPS is written with them.
attach_operations(Term, _term_method, {name: op for name, op in OPS.items() if op.symbol is None})


class GraphBuilder:
    """Makes nodes without computing them, simplifying as it goes.

    Constants fold; x*1, x+0, x/1, x^1 and -(-x) disappear; a minus sign moves
    out of products and into sums (a + -b is a - b); asking twice for the same operation on the same nodes gives the
    same node, so repeated subexpressions are shared. All of that is exact in
    float64. Two rules drop a term, as backpropagation does: 0*x is 0 (a zero
    gradient passes nothing on) and x^0 is 1 (the language's convention).
    """

    def __init__(self, known: Callable[[Value], bool]) -> None:
        self.known = known  # is this existing node a constant whose data can be folded?
        self.nodes: list[Value] = []  # the new operations, children before parents
        self.origin: dict[Value, Value | None] = {}  # new operation -> the node being differentiated
        self.current: Value | None = None
        self._terms: dict[Value, Term] = {}
        self._shared: dict[tuple[object, ...], Term] = {}

    def term(self, v: Value) -> Term:
        """The Term of an existing node."""
        t = self._terms.get(v)
        if t is None:
            t = self._terms[v] = Term(v, v.data if self.known(v) else None, self)
        return t

    def number(self, c: float) -> Term:
        """A constant leaf, one per distinct number."""
        c = float(c)
        key = (c, math.copysign(1.0, c))
        t = self._shared.get(key)
        if t is None:
            v = Value(c)
            t = self._shared[key] = self._terms[v] = Term(v, c, self)
        return t

    def operand(self, t: Term, i: int = 0) -> Term:
        """The Term of child ``i`` of ``t``'s node."""
        return self.term(t.node._prev[i])

    def apply(self, name: str, *args: Term | Number) -> Term:
        """The node for operation ``name`` on ``args``, simplified."""
        terms = tuple(a if isinstance(a, Term) else self.number(a) for a in args)
        consts = tuple(t.const for t in terms)
        if None not in consts:
            return self.number(compute(OPS[name], consts))  # type: ignore[arg-type]
        rule = _SIMPLIFY.get(name)
        if rule is not None:
            simpler = rule(self, *terms)
            if simpler is not None:
                return simpler
        key = (name, *(id(t.node) for t in terms))
        t = self._shared.get(key)
        if t is None:
            v = Value(0.0, tuple(t.node for t in terms), name)
            self.nodes.append(v)
            self.origin[v] = self.current
            t = self._shared[key] = self._terms[v] = Term(v, None, self)
        return t


def _is_neg(t: Term) -> bool:
    return t.node._op == "neg"


def _negative(t: Term) -> bool:
    return t.const is not None and t.const < 0.0


def _simplify_add(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if x.const == 0.0:
        return y
    if y.const == 0.0:
        return x
    if _negative(y):
        return b.apply("-", x, -y.const)  # type: ignore[operator]
    if _is_neg(y):
        return b.apply("-", x, b.operand(y))
    if _is_neg(x):
        return b.apply("-", y, b.operand(x))
    return None


def _simplify_sub(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if y.const == 0.0:
        return x
    if x.const == 0.0:
        return b.apply("neg", y)
    if _negative(y):
        return b.apply("+", x, -y.const)  # type: ignore[operator]
    if _is_neg(y):
        return b.apply("+", x, b.operand(y))
    if _is_neg(x):
        return b.apply("neg", b.apply("+", b.operand(x), y))
    return None


def _pull_sign(b: GraphBuilder, op: str, x: Term, y: Term) -> Term | None:
    """(-x) op y and x op (-y) as -(x op y), for * and /: the minus moves out, where another can cancel it."""
    if _negative(x):
        return b.apply("neg", b.apply(op, -x.const, y))  # type: ignore[operator]
    if _negative(y):
        return b.apply("neg", b.apply(op, x, -y.const))  # type: ignore[operator]
    if _is_neg(x):
        return b.apply("neg", b.apply(op, b.operand(x), y))
    if _is_neg(y):
        return b.apply("neg", b.apply(op, x, b.operand(y)))
    return None


def _simplify_mul(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if x.const == 0.0 or y.const == 0.0:
        return b.number(0.0)
    if x.const == 1.0:
        return y
    if y.const == 1.0:
        return x
    return _pull_sign(b, "*", x, y)


def _simplify_div(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if y.const == 1.0:
        return x
    if x.const == 0.0:
        return b.number(0.0)
    return _pull_sign(b, "/", x, y)


def _simplify_neg(b: GraphBuilder, x: Term) -> Term | None:
    if _is_neg(x):
        return b.operand(x)
    if x.node._op == "-":
        return b.apply("-", b.operand(x, 1), b.operand(x, 0))
    return None


def _simplify_pow(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if y.const == 1.0:
        return x
    if y.const == 0.0:
        return b.number(1.0)
    return None


_SIMPLIFY: dict[str, Callable[..., Term | None]] = {
    "+": _simplify_add,
    "-": _simplify_sub,
    "*": _simplify_mul,
    "/": _simplify_div,
    "neg": _simplify_neg,
    "^": _simplify_pow,
}


def gradient_graph(
    order: Sequence[Value],
    root: Value | None = None,
    wrt: Iterable[Value] | None = None,
    *,
    symbols: Iterable[Value] = (),
    compute_data: bool = True,
    origins: dict[Value, Value] | None = None,
) -> dict[Value, Value]:
    """d(root)/d(node) as new nodes, for every node of ``order`` that ``wrt`` reaches.

    ``order`` lists children before parents; ``wrt`` are the leaves to
    differentiate for (default: every leaf of ``order``). Other nodes count as
    constants, and fold into numbers, unless they depend on a leaf of
    ``symbols`` (leaves that stay names without being differentiated). With
    ``compute_data``, the new nodes are computed, inf or nan where a derivative
    does not exist, like ``backpropagate``; a failure to fold constants raises
    AutodiffError with ``node`` the node whose derivative was being built.
    A node ``root`` does not depend on gets no entry. ``origins``, if given,
    receives for each new operation the node whose derivative made it.
    """
    if not order:
        return {}
    root = order[-1] if root is None else root
    varying: set[Value] = set(v for v in order if not v._prev) if wrt is None else set(wrt)
    opaque = varying | set(symbols)
    for v in order:
        p = v._prev
        if p and v not in opaque:
            if any(c in opaque for c in p):
                opaque.add(v)
            if any(c in varying for c in p):
                varying.add(v)
    builder = GraphBuilder(lambda v: v not in opaque)
    grads: dict[Value, Term] = {}
    if root in varying:
        grads[root] = builder.number(1.0)
    for v in reversed(order):
        g = grads.get(v)
        if g is None or not v._prev:
            continue
        builder.current = v
        term = builder.term
        try:
            local = OPS[v._op].graph(*(term(c) for c in v._prev), term(v))  # type: ignore[misc]
            for c, d in zip(v._prev, local if isinstance(local, tuple) else (local,), strict=True):
                if c in varying:
                    part = builder.apply("*", g, d)  # d: a Term or a number
                    if part.const != 0.0:
                        old = grads.get(c)
                        grads[c] = part if old is None else builder.apply("+", old, part)
        except AutodiffError as err:
            err.node = v  # type: ignore[attr-defined]
            raise
    result = {v: t.node for v, t in grads.items()}
    if origins is not None:
        origins.update(builder.origin)  # type: ignore[arg-type]
    if compute_data:
        forward(_needed(builder.nodes, result.values()), strict=False)
    return result


def _needed(new: list[Value], roots: Iterable[Value]) -> list[Value]:
    """The nodes of ``new`` (in order) that ``roots`` reach: the others were dropped by simplification."""
    fresh = set(new)
    reached: set[Value] = set()
    stack = [r for r in roots if r in fresh]
    while stack:
        v = stack.pop()
        if v in reached:
            continue
        reached.add(v)
        stack.extend(c for c in v._prev if c in fresh and c not in reached)
    return [v for v in new if v in reached]
