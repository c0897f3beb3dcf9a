"""The numeric helpers behind the rows of ops.OPS: total functions, domains, graph forms.

Each is small and exact about its edges: a forward or derivative returns inf
or nan instead of raising where IEEE arithmetic would, a domain check says in
words why an argument is out of range, and the derivative formulas avoid the
textbook forms that cancel or overflow (see the accuracy section of
docs/language.md). ops.py holds the table that names them; this module knows
nothing of the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

INF = math.inf
NAN = math.nan
LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def exact(x: float) -> str:
    """``x`` short where that reads back as the same float, else every digit it needs (2.0000000001, not 2)."""
    short = f"{x:g}"
    return short if float(short) == x or x != x else repr(x)


# --- helpers: total functions that return inf/nan instead of raising -------------


def _exp_neg_abs(x: float) -> float:
    return math.exp(-abs(x))


def sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def sigmoid_d(x: float, out: float) -> float:
    # e^-|x| / (1 + e^-|x|)^2 is symmetric and never cancels.
    z = _exp_neg_abs(x)
    return z / ((1.0 + z) * (1.0 + z))


def softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def tanh_d(x: float, out: float) -> float:
    z = math.exp(-2.0 * abs(x))
    return 4.0 * z / ((1.0 + z) * (1.0 + z))


def sqrt_d(x: float, out: float) -> float:
    return 0.5 / out if out > 0.0 else INF


def _edge_sqrt(x: float) -> float:
    # sqrt((1-x)(1+x)) keeps its digits near |x| = 1, where 1 - x*x does not.
    p = (1.0 - x) * (1.0 + x)
    return math.sqrt(p) if p > 0.0 else 0.0


def asin_d(x: float, out: float) -> float:
    s = _edge_sqrt(x)
    return 1.0 / s if s > 0.0 else INF


def acos_d(x: float, out: float) -> float:
    s = _edge_sqrt(x)
    return -1.0 / s if s > 0.0 else -INF


def acosh_d(x: float, out: float) -> float:
    s = math.sqrt(x - 1.0) * math.sqrt(x + 1.0)
    return 1.0 / s if s > 0.0 else INF


def atanh_d(x: float, out: float) -> float:
    p = (1.0 - x) * (1.0 + x)
    return 1.0 / p if p > 0.0 else INF


def atan_d(x: float, out: float) -> float:
    if abs(x) > 1e150:  # x*x would overflow; 1/x^2 is the same number here
        return (1.0 / x) / x
    return 1.0 / (1.0 + x * x)


def log_d(x: float, out: float, scale: float = 1.0) -> float:
    # At 0 (log(0) = -inf under --allow-nonfinite) the slope is +inf, from the side where log is defined.
    return 1.0 / (x * scale) if x != 0.0 else INF


def sinh_d(x: float, out: float) -> float:
    try:
        return math.cosh(x)
    except OverflowError:
        return INF


def cosh_d(x: float, out: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(INF, x)


# nan in, nan out: a comparison with nan is false, so each of these tests for
# the cases it knows and lets nan fall through to itself (x > 0 else 0 would
# turn nan into 0).


def relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x


def step(x: float) -> float:
    """Heaviside, relu's slope: 1 past 0, 0 up to it (step(0) = 0, as relu'(0) = 0), nan at nan."""
    return 1.0 if x > 0.0 else (0.0 if x <= 0.0 else x)


def relu_d(x: float, out: float) -> float:
    return step(x)


def abs_d(x: float, out: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else (0.0 if x == 0.0 else x))


def sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)  # nan stays nan


def sech(x: float) -> float:
    # 2e^-|x|/(1 + e^-2|x|): no cosh to overflow, so sech(800) is 0, not 1/inf.
    z = _exp_neg_abs(x)
    return 2.0 * z / (1.0 + z * z)


def erf_d(x: float, out: float) -> float:
    return TWO_OVER_SQRT_PI * math.exp(-x * x)


def divide(x: float, y: float) -> float:
    return x / y


def ieee_div(x: float, y: float) -> float:
    """x / y as IEEE 754 divides, also by zero (Python raises): +-inf by the signs, nan for 0/0."""
    if y == 0.0:
        return NAN if x == 0.0 or x != x else math.copysign(INF, x) * math.copysign(1.0, y)
    return x / y


def div_d(x: float, y: float, out: float) -> tuple[float, float]:
    try:
        return 1.0 / y, -out / y
    except ZeroDivisionError:  # only under --allow-nonfinite: 1/y and -x/y^2 at y = 0, signed as IEEE signs them
        return ieee_div(1.0, y), -ieee_div(out, y)


def _is_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y)


def _is_odd(y: float) -> bool:
    return y % 2.0 == 1.0


def _ieee_pow(x: float, y: float) -> float:
    """math.pow, with IEEE 754's answer where Python raises: 0^-1 is inf (-0.0^-1 is -inf), (-8)^0.5 is nan."""
    try:
        return math.pow(x, y)
    except (ValueError, ZeroDivisionError):
        if x == 0.0:
            return math.copysign(INF, x) if _is_odd(y) else INF
        return NAN


def power(x: float, y: float) -> float:
    return 1.0 if y == 0.0 else _ieee_pow(x, y)


def pow_domain(x: float, y: float) -> str | None:
    if x < 0.0 and not _is_integer(y):
        return f"a negative base ({exact(x)}) needs an integer exponent, not {exact(y)}"
    if x == 0.0 and y < 0.0:
        return f"0 cannot be raised to a negative power ({exact(y)})"
    return None


def pow_d(x: float, y: float, out: float) -> tuple[float, float]:
    if y == 0.0:
        dx = 0.0  # x^0 is 1 everywhere, so its slope in x is 0, also at x = 0
    elif y == 1.0:
        dx = 1.0
    elif x == 0.0:
        dx = y * _ieee_pow(x, y - 1.0)  # 0 for y > 1; +inf for 0 < y < 1; -inf for x^-1 (-1/x^2)
    else:
        try:
            dx = y * math.pow(x, y - 1.0)
        except OverflowError:
            dx = math.copysign(INF, y * out * x)
        except (ValueError, ZeroDivisionError):
            dx = NAN
    # d/dy x^y = x^y ln x exists only for x > 0; the program asks for it only
    # when the exponent depends on an input.
    dy = out * math.log(x) if x > 0.0 else NAN
    return dx, dy


# IEEE 754-2019 minimum and maximum: nan if either is nan, and -0 below +0,
# so min(x, y) is min(y, x) bit for bit (Python's min keeps whichever comes first).


def minimum(x: float, y: float) -> float:
    if x < y:
        return x
    if y < x:
        return y
    if x == y:
        return x if math.copysign(1.0, x) < 0.0 else y
    return NAN


def maximum(x: float, y: float) -> float:
    if x > y:
        return x
    if y > x:
        return y
    if x == y:
        return y if math.copysign(1.0, x) < 0.0 else x
    return NAN


def min_d(x: float, y: float, out: float) -> tuple[float, float]:
    """1 to the smaller, ½ and ½ at a tie (-0 and +0 tie too), nan to both where either is nan."""
    if x < y:
        return 1.0, 0.0
    if y < x:
        return 0.0, 1.0
    if x == y:
        return 0.5, 0.5
    return NAN, NAN


def max_d(x: float, y: float, out: float) -> tuple[float, float]:
    return min_d(y, x, out)


def atan2_d(y: float, x: float, out: float) -> tuple[float, float]:
    r = math.hypot(x, y)
    if r == 0.0:
        return NAN, NAN
    return (x / r) / r, (-y / r) / r


def positive(name: str) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x > 0.0 else f"{name} needs an argument > 0, got {exact(x)}"

    return check


def at_least(name: str, low: float) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x >= low else f"{name} needs an argument >= {low:g}, got {exact(x)}"

    return check


def within(name: str, low: float, high: float, closed: bool) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        ok = low <= x <= high if closed else low < x < high
        if ok:
            return None
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        return f"{name} needs an argument in {bounds}, got {exact(x)}"

    return check


def at_one(x: float) -> bool:
    return abs(x) == 1.0


def div_domain(x: float, y: float) -> str | None:
    return "division by zero" if y == 0.0 else None


def atan2_domain(y: float, x: float) -> str | None:
    return "atan2(0, 0) is undefined" if x == 0.0 and y == 0.0 else None


# --- derivatives as operations on nodes (see Op.graph) ------------------------------


def pow_graph(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    # y*x^(y-1) is also right at x = 0 for y >= 1; for a constant y = 0 the
    # graph builder turns 0*anything into 0, the convention for x^0.
    return y * x ** (y - 1), out * x.log()


def datan2(x: float, y: float) -> float:
    # x/(x^2 + y^2), the derivatives of atan2, without overflow: as in atan2_d.
    return atan2_d(y, x, 0.0)[0]


def datan2_d(x: float, y: float, out: float) -> tuple[float, float]:
    q = datan2(y, x)
    return (q - out) * (q + out), -2.0 * out * q


def below(x: float, y: float) -> float:
    """min's slope into x: 1 below y, ½ at a tie, 0 above, nan where either is nan."""
    return min_d(x, y, 0.0)[0]


def above(name: str, low: float) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x > low else f"{name} needs an argument > {low:g}, got {exact(x)}"

    return check
