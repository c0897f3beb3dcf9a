"""Derivatives simplified as a person would before printing them (``autodiff diff``).

A graph is rewritten bottom-up into sums of terms, each an exact rational
coefficient times a product of powers of atoms (inputs, and calls such as
``exp(...)`` whose arguments are simplified the same way). Constants fold
exactly, like terms collect (``2*(2*x) + 3*x^2`` is ``3*x^2 + 4*x``), powers
of the same atom collect (``x*x`` is ``x^2``), and signs and constant factors
move to the front. Products of sums are not expanded, so nothing grows; a
sum that is used more than once stays one node, printed as a statement.
The rewrite is a loop over the graph in order, and merges the smaller of two
sums or products into the larger one it may change, so a long sum costs
about its length, not its length squared.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from fractions import Fraction
from typing import Any

from .engine import Value, topological_order
from .errors import OVERFLOW, AutodiffError
from .gradients import GraphBuilder, Term

__all__ = ["simplify"]

Mono = dict[Value, Fraction]  # atom -> exponent
ZERO, ONE, MINUS_ONE = Fraction(0), Fraction(1), Fraction(-1)  # made once: Fraction() is slow
_ROUND = 1 << 128  # a coefficient's denominator past this is rounded to the nearest float


class _Form:
    """c + sum of coef*mono: ``terms`` maps a monomial's key to [coef, mono]; ``frozen`` forms are shared."""

    __slots__ = ("const", "frozen", "terms")

    def __init__(self, const: Fraction, terms: dict[Any, list[Any]]) -> None:
        self.const = const
        self.terms = terms
        self.frozen = False


class _Simplifier:
    def __init__(self, builder: GraphBuilder, rank: dict[Value, int]) -> None:
        self.builder = builder
        self.rank = rank  # atoms in the order they are met: the order they print in

    # --- forms --------------------------------------------------------------------------

    def number(self, c: Fraction) -> _Form:
        return _Form(c, {})

    def atom(self, node: Value) -> _Form:
        if node not in self.rank:
            self.rank[node] = len(self.rank)
        return self.monomial(ONE, {node: ONE})

    def monomial(self, coef: Fraction, mono: Mono) -> _Form:
        if coef == 0:
            return self.number(ZERO)
        if not mono:
            return self.number(coef)
        return _Form(ZERO, {None: [coef, mono]})  # keyed when it joins a sum

    def key(self, mono: Mono) -> tuple[tuple[int, Fraction], ...]:
        return tuple(sorted((self.rank[a], e) for a, e in mono.items()))

    @staticmethod
    def single(f: _Form) -> tuple[Fraction, Mono] | None:
        """The form as coef*mono when it is one term (or a number: an empty mono)."""
        if not f.terms:
            return f.const, {}
        if f.const == 0 and len(f.terms) == 1:
            coef, mono = next(iter(f.terms.values()))
            return coef, mono
        return None

    @staticmethod
    def own(f: _Form) -> _Form:
        """``f`` to change in place: a copy when it is shared."""
        if not f.frozen:
            return f
        return _Form(f.const, {k: [c, dict(m)] for k, (c, m) in f.terms.items()})

    def keyed(self, f: _Form) -> _Form:
        """``f`` with its monomial's key: a product's key is made only once it joins a sum."""
        if None in f.terms:
            coef, mono = f.terms[None]
            f = _Form(f.const, {self.key(mono): [coef, mono]})
        return f

    def add(self, x: _Form, y: _Form, sign: int = 1) -> _Form:
        if sign < 0:
            y = self.scale(y, MINUS_ONE)
        frozen = x.frozen, y.frozen
        x, y = self.keyed(x), self.keyed(y)
        x.frozen, y.frozen = frozen
        if len(x.terms) < len(y.terms) or (x.frozen and not y.frozen):
            x, y = y, x
        out = self.own(x)
        out.const = _exact(out.const + y.const)
        for k, (c, m) in y.terms.items():
            old = out.terms.get(k)
            if old is None:
                out.terms[k] = [c, m if not y.frozen else dict(m)]
            else:
                total = _exact(old[0] + c)
                if total == 0:
                    del out.terms[k]
                else:
                    old[0] = total
        return self.identity(out)

    def identity(self, f: _Form) -> _Form:
        """The identities a person applies to a short sum: 1 - sigmoid(u), cos^2 - sin^2, sinh^2 + cosh^2."""
        if len(f.terms) == 1 and f.const == 1:
            coef, mono = next(iter(f.terms.values()))
            (a, e), *rest = mono.items()
            if coef == -1 and e == 1 and not rest and a._op == "sigmoid":
                return self.atom(self.builder.apply("sigmoid", self.builder.apply("neg", self.builder.term(a._prev[0]))).node)
        if len(f.terms) != 2 or f.const != 0:
            return f
        squares = {}
        for coef, mono in f.terms.values():
            if len(mono) != 1:
                return f
            ((a, e),) = mono.items()
            if e != 2 or a._op not in _DOUBLE:
                return f
            squares[a._op] = (coef, a._prev[0])
        for (one, other), (double, sign) in _DOUBLE_ANGLE.items():
            if one in squares and other in squares and squares[one][1] is squares[other][1]:
                c, u = squares[one]
                if squares[other][0] == sign * c:
                    twice = self.builder.apply("*", 2.0, self.builder.term(u))
                    return self.scale(self.atom(self.builder.apply(double, twice).node), c)
        return f

    def scale(self, f: _Form, c: Fraction) -> _Form:
        if c == 0:
            return self.number(ZERO)
        if c == 1:
            return f
        out = self.own(f)
        out.const = _exact(out.const * c)
        for term in out.terms.values():
            term[0] = _exact(term[0] * c)
        return out

    def mul(self, x: _Form, y: _Form) -> _Form:
        sx, sy = self.single(x), self.single(y)
        if sx is not None and not sx[1]:
            return self.scale(y, sx[0])
        if sy is not None and not sy[1]:
            return self.scale(x, sy[0])
        # Sums are not expanded: a sum in a product is one factor.
        cx, mx = sx if sx is not None else self.factor_of(x)
        cy, my = sy if sy is not None else self.factor_of(y)
        if len(mx) < len(my) or (x.frozen and not y.frozen):
            mx, my = my, mx
        mono = dict(mx) if x.frozen or y.frozen or sx is None or sy is None else mx
        for a, e in my.items():
            total = mono.get(a, ZERO) + e
            if total == 0:
                mono.pop(a, None)
            else:
                mono[a] = total
        return self.monomial(_exact(cx * cy), mono)

    def factor_of(self, f: _Form) -> tuple[Fraction, Mono]:
        """A sum as a factor, its common constant factor in front: 2*x^2 + 2*y^2 is 2*(x^2 + y^2)."""
        coefs = [c for c, _ in f.terms.values()] + ([f.const] if f.const else [])
        content = ONE
        if all(c.denominator <= 1000 and c.numerator <= 1_000_000_000 for c in coefs):
            content = Fraction(math.gcd(*(c.numerator for c in coefs)), math.lcm(*(c.denominator for c in coefs)))
            if content != 1:
                f = self.scale(self.own(f), 1 / content)
        return content, self.mono_of(f)

    def mono_of(self, f: _Form) -> Mono:
        node = self.node(f)
        if node not in self.rank:
            self.rank[node] = len(self.rank)
        return {node: ONE}

    def power(self, base: _Form, exponent: _Form) -> _Form:
        se = self.single(exponent)
        if se is None or se[1]:
            return self.atom(self.builder.apply("^", self.term(base), self.term(exponent)).node)
        e = se[0]
        if e == 0:
            return self.number(ONE)  # x^0 is 1, the language's convention
        sb = self.single(base)
        if sb is not None and e.denominator == 1 and (sb[0] != 0 or e > 0):
            # (c*x^a)^k = c^k*x^(a*k) for an integer k, for every x where the left side exists.
            return self.monomial(_exact(sb[0] ** int(e)), {a: p * e for a, p in sb[1].items()})
        if sb is None:
            return self.monomial(ONE, {a: e for a in self.mono_of(base)})  # (x + 1)^-1: a factor
        if sb[0] == 1 and len(sb[1]) == 1 and next(iter(sb[1].values())) == 1:
            return self.monomial(ONE, {a: e for a in sb[1]})
        return self.atom(self.builder.apply("^", self.term(base), _float(e)).node)

    # --- back to nodes ----------------------------------------------------------------

    def term(self, f: _Form) -> Term:
        return self.builder.term(self.node(f))

    def node(self, f: _Form) -> Value:
        b = self.builder
        terms = sorted(f.terms.values(), key=lambda t: _order(self.rank, t[1]))
        out: Term | None = None
        for coef, mono in terms:
            t = self.product(coef, mono)
            out = t if out is None else b.apply("+", out, t)
        if f.const != 0 or out is None:
            c = b.number(_float(f.const))
            out = c if out is None else b.apply("+", out, c)
        return out.node

    def product(self, coef: Fraction, mono: Mono) -> Term:
        """coef*mono as numerator/denominator, the sign in front: -3*x^2/(2*y)."""
        b = self.builder
        size = abs(coef)
        p: float = size.numerator
        q = size.denominator
        if q > 1000 or p > 1_000_000_000:  # not a short fraction: the float it rounds to
            p, q = _float(size), 1
        up = None if p == 1 else b.number(p)
        down = None if q == 1 else b.number(q)
        for a in sorted(mono, key=lambda a: self.rank[a]):
            e = mono[a]
            factor = b.term(a) if abs(e) == 1 else b.apply("^", b.term(a), _float(abs(e)))
            if e > 0:
                up = factor if up is None else b.apply("*", up, factor)
            else:
                down = factor if down is None else b.apply("*", down, factor)
        out = up if up is not None else b.number(1.0)
        if down is not None:
            out = b.apply("/", out, down)
        return b.apply("neg", out) if coef < 0 else out


_DOUBLE = {"cos", "sin", "cosh", "sinh"}
# c*one(u)^2 + sign*c*other(u)^2 is c*double(2*u): cos^2 - sin^2 = cos(2u), cosh^2 + sinh^2 = cosh(2u).
_DOUBLE_ANGLE = {("cos", "sin"): ("cos", -1), ("cosh", "sinh"): ("cosh", 1)}


def _order(rank: dict[Value, int], mono: Mono) -> tuple[object, ...]:
    """Higher powers first (3*x^2 + 4*x + 1), then atoms in the order they were met."""
    degree = sum(e for e in mono.values() if e > 0)
    return (-degree, sorted((rank[a], -e) for a, e in mono.items()))


def _exact(c: Fraction) -> Fraction:
    """``c``, rounded to the nearest float once its denominator grows long (a chain of 1/3s)."""
    if c.denominator <= _ROUND:
        return c
    return Fraction(_float(c))


def _float(c: Fraction) -> float:
    try:
        return float(c)
    except OverflowError:
        raise AutodiffError(OVERFLOW, "a constant of the derivative overflows float64") from None


def simplify(
    root: Value, builder: GraphBuilder, keep: Collection[Value], inputs: list[Value], opaque: Collection[Value] = ()
) -> tuple[Value, dict[Value, Value]]:
    """``root`` rewritten by ``builder`` in the simplest form found, and each ``keep`` node's new node.

    ``keep`` nodes (those the program names) stay one node each; ``inputs``
    lists the inputs in the order their factors print. Nodes made by
    ``builder`` are shared, so repeated subexpressions come out as one node.
    ``opaque`` nodes are left as they are, inside too: formulas scaled so that
    no step overflows, which collecting powers would undo (x/m/m is not x/m^2).
    """
    s = _Simplifier(builder, {v: i for i, v in enumerate(inputs)})
    order = topological_order(root)
    uses: dict[Value, int] = {}
    for v in order:
        for c in v._prev:
            uses[c] = uses.get(c, 0) + 1
    forms: dict[Value, _Form] = {}
    kept: dict[Value, Value] = {}
    for v in order:
        if v in opaque:
            f = s.atom(v)
        elif not v._prev:
            t = builder.term(v)
            f = s.number(Fraction(t.const)) if t.const is not None else s.atom(v)
        else:
            f = _apply(s, v._op, [forms[c] for c in v._prev])
            if v in keep or (uses.get(v, 0) > 1 and s.single(f) is None):
                node = s.node(f)  # a shared sum stays one node: a statement, not a copy
                kept[v] = node
                f = s.atom(node) if node._prev else f
        f.frozen = f.frozen or uses.get(v, 0) > 1
        forms[v] = f
    return s.node(forms[root]), kept


def _apply(s: _Simplifier, op: str, args: list[_Form]) -> _Form:
    if op == "+":
        return s.add(args[0], args[1])
    if op == "-":
        return s.add(args[0], args[1], -1)
    if op == "neg":
        return s.scale(args[0], MINUS_ONE)
    if op == "*":
        return s.mul(args[0], args[1])
    if op == "/":
        return s.mul(args[0], s.power(args[1], s.number(MINUS_ONE)))
    if op == "^":
        return s.power(args[0], args[1])
    if op == "exp":
        for k, (c, m) in args[0].terms.items():
            if c == 1 and len(m) == 1:
                ((a, e),) = m.items()
                if e == 1 and a._op == "log":  # exp(log(u) + v) is u*exp(v), where log(u) exists
                    rest = s.own(args[0])
                    del rest.terms[k]
                    return s.mul(s.atom(a._prev[0]), _apply(s, "exp", [rest]))
    return s.atom(s.builder.apply(op, *(s.term(a) for a in args)).node)
