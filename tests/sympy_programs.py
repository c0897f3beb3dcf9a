"""Random programs in the language, each paired with the same function in SymPy.

A Hypothesis strategy for the higher-order tests: SymPy differentiates the
twin expression exactly and evaluates it with 30 digits, an oracle that
shares no code with autodiff. Arguments of functions with a restricted domain
are wrapped to stay inside it (log(0.5 + u^2), asin(0.9*tanh(u))); the places
where a function is not smooth (relu, abs, min, max) are returned as
``kinks``, so a test can keep away from them.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp
from hypothesis import strategies as st

VARIABLES = ("a", "b", "c")
SYMBOLS = {name: sp.Symbol(name, real=True) for name in VARIABLES}
DIGITS = 30


@dataclass(frozen=True)
class Case:
    """A program's text and its SymPy twin."""

    text: str
    expr: sp.Expr
    kinks: tuple[sp.Expr, ...] = field(default=())


def _p(case: Case) -> str:
    return f"({case.text})"


def _positive(u: Case) -> tuple[str, sp.Expr]:
    return f"0.5 + {_p(u)}^2", sp.Rational(1, 2) + u.expr**2


_UNARY: dict[str, Callable[[Case], Case]] = {
    "neg": lambda u: Case(f"-{_p(u)}", -u.expr, u.kinks),
    "exp": lambda u: Case(f"exp({u.text})", sp.exp(u.expr), u.kinks),
    "log": lambda u: Case(f"log({_positive(u)[0]})", sp.log(_positive(u)[1]), u.kinks),
    "log2": lambda u: Case(f"log2({_positive(u)[0]})", sp.log(_positive(u)[1]) / sp.log(2), u.kinks),
    "log10": lambda u: Case(f"log10({_positive(u)[0]})", sp.log(_positive(u)[1]) / sp.log(10), u.kinks),
    "sqrt": lambda u: Case(f"sqrt({_positive(u)[0]})", sp.sqrt(_positive(u)[1]), u.kinks),
    "sin": lambda u: Case(f"sin({u.text})", sp.sin(u.expr), u.kinks),
    "cos": lambda u: Case(f"cos({u.text})", sp.cos(u.expr), u.kinks),
    "tan": lambda u: Case(f"tan({u.text})", sp.tan(u.expr), u.kinks),
    "atan": lambda u: Case(f"atan({u.text})", sp.atan(u.expr), u.kinks),
    "asin": lambda u: Case(f"asin(0.9*tanh({u.text}))", sp.asin(sp.Rational(9, 10) * sp.tanh(u.expr)), u.kinks),
    "acos": lambda u: Case(f"acos(0.9*tanh({u.text}))", sp.acos(sp.Rational(9, 10) * sp.tanh(u.expr)), u.kinks),
    "sinh": lambda u: Case(f"sinh({u.text})", sp.sinh(u.expr), u.kinks),
    "cosh": lambda u: Case(f"cosh({u.text})", sp.cosh(u.expr), u.kinks),
    "tanh": lambda u: Case(f"tanh({u.text})", sp.tanh(u.expr), u.kinks),
    "asinh": lambda u: Case(f"asinh({u.text})", sp.asinh(u.expr), u.kinks),
    "acosh": lambda u: Case(f"acosh(1 + {_positive(u)[0]})", sp.acosh(1 + _positive(u)[1]), u.kinks),
    "atanh": lambda u: Case(f"atanh(0.9*tanh({u.text}))", sp.atanh(sp.Rational(9, 10) * sp.tanh(u.expr)), u.kinks),
    "sigmoid": lambda u: Case(f"sigmoid({u.text})", 1 / (1 + sp.exp(-u.expr)), u.kinks),
    "softplus": lambda u: Case(f"softplus({u.text})", sp.log(1 + sp.exp(u.expr)), u.kinks),
    "erf": lambda u: Case(f"erf({u.text})", sp.erf(u.expr), u.kinks),
    "relu": lambda u: Case(f"relu({u.text})", sp.Max(u.expr, 0), (*u.kinks, u.expr)),
    "abs": lambda u: Case(f"abs({u.text})", sp.Abs(u.expr), (*u.kinks, u.expr)),
}

_BINARY: dict[str, Callable[[Case, Case], Case]] = {
    "+": lambda u, v: Case(f"{_p(u)} + {_p(v)}", u.expr + v.expr, u.kinks + v.kinks),
    "-": lambda u, v: Case(f"{_p(u)} - {_p(v)}", u.expr - v.expr, u.kinks + v.kinks),
    "*": lambda u, v: Case(f"{_p(u)}*{_p(v)}", u.expr * v.expr, u.kinks + v.kinks),
    "/": lambda u, v: Case(f"{_p(u)}/{_p(v)}", u.expr / v.expr, u.kinks + v.kinks),
    "/+": lambda u, v: Case(f"{_p(u)}/({_positive(v)[0]})", u.expr / _positive(v)[1], u.kinks + v.kinks),
    "^": lambda u, v: Case(f"({_positive(u)[0]})^{_p(v)}", _positive(u)[1] ** v.expr, u.kinks + v.kinks),
    "min": lambda u, v: Case(f"min({u.text}, {v.text})", sp.Min(u.expr, v.expr), (*u.kinks, *v.kinks, u.expr - v.expr)),
    "max": lambda u, v: Case(f"max({u.text}, {v.text})", sp.Max(u.expr, v.expr), (*u.kinks, *v.kinks, u.expr - v.expr)),
    # atan2 jumps by 2*pi across y = 0 where x < 0 (and float64 has a -0.0 there that SymPy has not).
    "atan2": lambda u, v: Case(
        f"atan2({u.text}, {v.text})", sp.atan2(u.expr, v.expr), (*u.kinks, *v.kinks, sp.Abs(u.expr) + sp.Max(v.expr, 0))
    ),
}


def _integer_power(u: Case, k: int, spelling: str) -> Case:
    text = f"pow({u.text}, {k})" if spelling == "pow" else f"{_p(u)}^{k}"
    return Case(text, u.expr**k, u.kinks)


def _number(x: float) -> Case:
    return Case(repr(x), sp.Float(x, DIGITS))


def _variable(name: str) -> Case:
    return Case(name, sp.Symbol(name, real=True))


def cases(variables: tuple[str, ...] = VARIABLES, max_leaves: int = 10) -> st.SearchStrategy[Case]:
    """Operations on expressions over ``variables``: every function and operator of the language."""
    names = st.sampled_from(variables).map(_variable)
    leaves = st.one_of(names, names, st.sampled_from([0.5, 2.0, 3.0, -1.5, 0.25]).map(_number))
    return _operation(st.recursive(leaves, _operation, max_leaves=max_leaves))


def _operation(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    """One function or operator applied to ``children``."""
    return st.one_of(
        st.builds(_safely, st.sampled_from(sorted(_UNARY)).map(_UNARY.get), children),
        st.builds(_safely, st.sampled_from(sorted(_BINARY)).map(_BINARY.get), children, children),
        st.builds(
            _safely, st.just(_integer_power), children, st.sampled_from([0, 1, 2, 3, -1, -2]), st.sampled_from(["^", "pow"])
        ),
    ).filter(lambda c: c is not None)


def _safely(make: Callable[..., Case], *args: object) -> Case | None:
    """``make(*args)``, or None where SymPy refuses a constant part (max(1/0, 0) is an error to it)."""
    try:
        return make(*args)
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def programs(max_leaves: int = 10) -> st.SearchStrategy[Case]:
    """Single expressions, or two statements where the second reads a name the first assigns."""
    one = cases(max_leaves=max_leaves)
    inner = cases(("a", "b"), max_leaves=max(2, max_leaves // 2))
    outer = cases(("a", "u", "u"), max_leaves=max(2, max_leaves // 2))

    def chain(first: Case, second: Case) -> Case:
        u = sp.Symbol("u", real=True)
        expr = second.expr.subs(u, first.expr)
        kinks = first.kinks + tuple(k.subs(u, first.expr) for k in second.kinks)
        return Case(f"u = {first.text}\n{second.text}", expr, kinks)

    # SymPy refuses some substitutions too (max(u, 0) with u = 1/0 is "not comparable").
    return st.one_of(one, st.builds(_safely, st.just(chain), inner, outer).filter(lambda c: c is not None))


def points(names: tuple[str, ...] = VARIABLES) -> st.SearchStrategy[dict[str, float]]:
    """Bindings with moderate values, where the tests' programs are tame."""
    coordinate = st.floats(-2.0, 2.0, allow_nan=False).map(lambda x: round(x, 6))
    return st.fixed_dictionaries({n: coordinate for n in names})


class _TooSlow(Exception):
    pass


def _too_slow(signum: int, frame: object) -> None:
    raise _TooSlow


SECONDS_PER_REFERENCE = 2.0  # SymPy can take hours on a power of a huge power; such points are skipped


def numeric(expr: sp.Expr, subs: Mapping[sp.Symbol, sp.Float], digits: int = DIGITS) -> complex | None:
    """``expr`` evaluated to ``digits`` digits; None if SymPy cannot (or not within SECONDS_PER_REFERENCE)."""
    previous = signal.signal(signal.SIGALRM, _too_slow)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_REFERENCE)
    try:
        return complex(sp.N(expr, digits, subs=subs))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, MemoryError, _TooSlow):
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def at(expr: sp.Expr, point: Mapping[str, float]) -> float | None:
    """``expr`` at ``point`` to 30 digits, as a float; None if it is not a finite real number.

    None also when SymPy cannot evaluate it in time: then there is no
    reference to compare with, and the callers skip the point.
    """
    subs = {SYMBOLS[n]: sp.Float(x, DIGITS) for n, x in point.items() if n in SYMBOLS}
    value = numeric(expr, subs)
    if value is None:
        return None
    if value.imag != 0.0 or not math.isfinite(value.real):
        return None
    return value.real


def near_kink(case: Case, point: Mapping[str, float], margin: float = 1e-6) -> bool:
    """Whether ``point`` is within ``margin`` of a place where the program is not smooth."""
    for kink in case.kinks:
        value = at(kink, point)
        if value is None or abs(value) < margin:
            return True
    return False


def close(got: float, want: float, rel: float = 1e-9, absolute: float = 1e-12) -> bool:
    """Equal up to rounding: a relative tolerance, plus an absolute one for values near 0."""
    return abs(got - want) <= rel * abs(want) + absolute


def close_all(got: Mapping[object, float], want: Mapping[object, float], rel: float = 1e-9, norm: float = 1e-10) -> bool:
    """Entry by entry to ``rel``, or to ``norm`` times the largest entry (at least 1).

    Gradients and Hessians are sums of products; where large terms cancel, the
    rounding left is small next to the whole vector or matrix, not to the entry.
    """
    scale = max([1.0, *(abs(w) for w in want.values())])
    return all(abs(got[k] - w) <= rel * abs(w) + norm * scale for k, w in want.items())


def evaluates(text: str, point: dict[str, float]) -> bool:
    """Whether autodiff evaluates ``text`` at ``point`` without an error (to skip a domain's outside)."""
    from autodiff_cli import AutodiffError, evaluate

    try:
        evaluate(text, point)
    except AutodiffError:
        return False
    return True
