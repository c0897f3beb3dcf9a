"""The Value engine: a graph of numbers that remembers how it was computed.

A micrograd-style ``Value`` with three changes that matter at scale:

* a node stores its operation's *name* and an ordered tuple of children, never
  a closure, so a graph has no reference cycles and is freed by reference
  counting alone (micrograd's closures leave every graph to the garbage
  collector, which is most of its running time);
* no function recurses per node: the topological sort is iterative, so a chain
  of a million operations is as good as a short one;
* ``backward()`` starts from zero gradients, so calling it twice gives the same
  answer;
* ``backward(create_graph=True)`` builds the gradients as new nodes (from the
  ``graph`` column of the ops table), so they can be differentiated again.

The math of each operation lives in ``ops.OPS``; this module only walks graphs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from .bindings import as_number
from .errors import DOMAIN, OVERFLOW, AutodiffError
from .ops import FUNCTIONS, OPS, Op, exact, ieee_div

Number = float | int

__all__ = ["GraphBuilder", "Term", "Value", "backpropagate", "forward", "gradient_graph", "topological_order"]


class Value:
    """A float that records the operation and children that produced it."""

    __slots__ = ("_op", "_prev", "data", "grad")

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "") -> None:
        # A number from outside obeys the one rule for values (bindings.as_number):
        # a finite int or float, never a bool, a string or inf.
        self.data = data if type(data) is float and data - data == 0.0 else as_number(data, "a number given to Value")
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _children if type(_children) is tuple else tuple(_children)
        self._op = _op

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # Arithmetic operators are attached below from ops.OPS (numbers may stand on
    # either side); ``+a`` is ``a`` itself.

    def __pos__(self) -> Value:
        return self

    # --- gradients -----------------------------------------------------------------

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
        grads = gradient_graph(order, self)
        for v in order:
            g = grads.get(v)
            v.grad = Value(0.0) if g is None else g


def _as_value(x: object) -> Value | None:
    """``x`` as a leaf if Python counts it a number (then the rule for values decides), else None."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return Value(x)
    return None


def apply(name: str, *args: Value | Number) -> Value:
    """Compute operation ``name`` on ``args`` now and return its node."""
    children = tuple(_as_value(a) for a in args)
    if None in children:
        raise TypeError(f"{name} needs numbers or Values, got {', '.join(type(a).__name__ for a in args)}")
    op = OPS[name]
    return Value(compute(op, tuple(c.data for c in children)), children, name)  # type: ignore[union-attr]


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
        x = left.data
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
        return Value(out, (left, right), name)

    return method


def _named(method: Callable[..., Value], name: str, doc: str) -> Callable[..., Value]:
    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    method.__doc__ = doc
    return method


_DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "^": "pow"}
for _symbol, _dunder in _DUNDERS.items():
    setattr(Value, f"__{_dunder}__", _named(_binary_method(OPS[_symbol]), f"__{_dunder}__", f"self {_symbol} other"))
    setattr(Value, f"__r{_dunder}__", _named(_binary_method(OPS[_symbol], True), f"__r{_dunder}__", f"other {_symbol} self"))
Value.__neg__ = _named(_unary_method(OPS["neg"]), "__neg__", "-self")  # type: ignore[method-assign]

# One method per function of the language, straight from the table: adding a
# row to ops.OPS is all it takes to get ``Value.<name>()``.
for _name, _op in FUNCTIONS.items():
    _method = _unary_method(_op) if _op.arity == 1 else _binary_method(_op)
    setattr(Value, _name, _named(_method, _name, f"``{_name}`` of this value, as a new node (see ops.OPS)."))


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
                c.grad += g * op.derivative(c.data, v.data)
            else:
                a, b = p
                da, db = op.derivative(a.data, b.data, v.data)
                a.grad += g * da
                b.grad += g * db
        except (OverflowError, ValueError, ZeroDivisionError):
            for c, d in zip(p, local_derivatives(v), strict=True):
                c.grad += g * d


# --- gradients as graphs ---------------------------------------------------------------


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

    def __add__(self, other: Term | Number) -> Term:
        return self.builder.apply("+", self, other)

    def __radd__(self, other: Number) -> Term:
        return self.builder.apply("+", other, self)

    def __sub__(self, other: Term | Number) -> Term:
        return self.builder.apply("-", self, other)

    def __rsub__(self, other: Number) -> Term:
        return self.builder.apply("-", other, self)

    def __mul__(self, other: Term | Number) -> Term:
        return self.builder.apply("*", self, other)

    def __rmul__(self, other: Number) -> Term:
        return self.builder.apply("*", other, self)

    def __truediv__(self, other: Term | Number) -> Term:
        return self.builder.apply("/", self, other)

    def __rtruediv__(self, other: Number) -> Term:
        return self.builder.apply("/", other, self)

    def __pow__(self, other: Term | Number) -> Term:
        return self.builder.apply("^", self, other)

    def __rpow__(self, other: Number) -> Term:
        return self.builder.apply("^", other, self)

    def __neg__(self) -> Term:
        return self.builder.apply("neg", self)

    def __pos__(self) -> Term:
        return self


def _term_method(name: str) -> Callable[..., Term]:
    def method(self: Term, *others: Term | Number) -> Term:
        return self.builder.apply(name, self, *others)

    method.__name__ = name
    return method


# Every named operation, internal ones included, as a method: x.cosh(), x.below(y).
for _name, _op in OPS.items():
    if _op.symbol is None:
        setattr(Term, _name, _term_method(_name))


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


def _simplify_mul(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if x.const == 0.0 or y.const == 0.0:
        return b.number(0.0)
    if x.const == 1.0:
        return y
    if y.const == 1.0:
        return x
    if _negative(x):
        return b.apply("neg", b.apply("*", -x.const, y))  # type: ignore[operator]
    if _negative(y):
        return b.apply("neg", b.apply("*", x, -y.const))  # type: ignore[operator]
    if _is_neg(x):
        return b.apply("neg", b.apply("*", b.operand(x), y))
    if _is_neg(y):
        return b.apply("neg", b.apply("*", x, b.operand(y)))
    return None


def _simplify_div(b: GraphBuilder, x: Term, y: Term) -> Term | None:
    if y.const == 1.0:
        return x
    if x.const == 0.0:
        return b.number(0.0)
    if _negative(x):
        return b.apply("neg", b.apply("/", -x.const, y))  # type: ignore[operator]
    if _negative(y):
        return b.apply("neg", b.apply("/", x, -y.const))  # type: ignore[operator]
    if _is_neg(x):
        return b.apply("neg", b.apply("/", b.operand(x), y))
    if _is_neg(y):
        return b.apply("neg", b.apply("/", x, b.operand(y)))
    return None


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
                    part = g * d
                    if part.const != 0.0:
                        old = grads.get(c)
                        grads[c] = part if old is None else old + part
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
