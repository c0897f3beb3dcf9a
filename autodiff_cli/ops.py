"""Every operation autodiff knows: one row each, forward math beside its derivatives.

A row's ``forward`` takes floats and returns a float (it may raise
OverflowError, or return inf/nan, and the engine classifies that); its
``derivative`` takes the same floats plus the forward result and returns the
local partial derivatives, one per argument (a bare float for one argument, a
tuple for two). ``domain`` returns why an argument is out of range, or None.
Derivatives never raise: where they do not exist they return inf or nan, and
the program decides whether that derivative was needed.

The formulas avoid the textbook forms that cancel or overflow (see the
accuracy section of LANGUAGE.md): tanh' from exp(-2|x|), not 1 - tanh^2;
asin' from (1-x)(1+x), not 1 - x^2; and so on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

INF = math.inf
NAN = math.nan
LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: how to compute it, differentiate it, and reject bad arguments."""

    name: str
    arity: int
    forward: Callable[..., float]
    derivative: Callable[..., object]
    domain: Callable[..., str | None] | None = None
    symbol: str | None = None  # infix spelling, for operators
    formula: tuple[str, ...] = ()  # local derivatives for people: x is the first argument, y the second
    # Where a derivative is truly infinite (sqrt at 0), as opposed to too big for float64.
    singular: Callable[..., bool] | None = None


# --- helpers: total functions that return inf/nan instead of raising -------------


def _exp_neg_abs(x: float) -> float:
    return math.exp(-abs(x))


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sigmoid_d(x: float, out: float) -> float:
    # e^-|x| / (1 + e^-|x|)^2 is symmetric and never cancels.
    z = _exp_neg_abs(x)
    return z / ((1.0 + z) * (1.0 + z))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _tanh_d(x: float, out: float) -> float:
    z = math.exp(-2.0 * abs(x))
    return 4.0 * z / ((1.0 + z) * (1.0 + z))


def _sqrt_d(x: float, out: float) -> float:
    return 0.5 / out if out > 0.0 else INF


def _edge_sqrt(x: float) -> float:
    # sqrt((1-x)(1+x)) keeps its digits near |x| = 1, where 1 - x*x does not.
    p = (1.0 - x) * (1.0 + x)
    return math.sqrt(p) if p > 0.0 else 0.0


def _asin_d(x: float, out: float) -> float:
    s = _edge_sqrt(x)
    return 1.0 / s if s > 0.0 else INF


def _acos_d(x: float, out: float) -> float:
    s = _edge_sqrt(x)
    return -1.0 / s if s > 0.0 else -INF


def _acosh_d(x: float, out: float) -> float:
    s = math.sqrt(x - 1.0) * math.sqrt(x + 1.0)
    return 1.0 / s if s > 0.0 else INF


def _atanh_d(x: float, out: float) -> float:
    p = (1.0 - x) * (1.0 + x)
    return 1.0 / p if p > 0.0 else INF


def _atan_d(x: float, out: float) -> float:
    if abs(x) > 1e150:  # x*x would overflow; 1/x^2 is the same number here
        return (1.0 / x) / x
    return 1.0 / (1.0 + x * x)


def _log_d(x: float, out: float) -> float:
    return 1.0 / x if x != 0.0 else INF


def _relu_d(x: float, out: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def _abs_d(x: float, out: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _erf_d(x: float, out: float) -> float:
    return TWO_OVER_SQRT_PI * math.exp(-x * x)


def _div(x: float, y: float) -> float:
    return x / y


def _div_d(x: float, y: float, out: float) -> tuple[float, float]:
    return 1.0 / y, -out / y


def _is_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y)


def _pow(x: float, y: float) -> float:
    if y == 0.0:
        return 1.0
    try:
        return math.pow(x, y)
    except ZeroDivisionError:
        return INF
    except ValueError:
        return NAN


def _pow_domain(x: float, y: float) -> str | None:
    if x < 0.0 and not _is_integer(y):
        return f"a negative base ({x:g}) needs an integer exponent, not {y:g}"
    if x == 0.0 and y < 0.0:
        return f"0 cannot be raised to a negative power ({y:g})"
    return None


def _pow_d(x: float, y: float, out: float) -> tuple[float, float]:
    if y == 0.0:
        dx = 0.0  # x^0 is 1 everywhere, so its slope in x is 0, also at x = 0
    elif y == 1.0:
        dx = 1.0
    elif x == 0.0:
        dx = 0.0 if y > 1.0 else INF
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


def _min_d(x: float, y: float, out: float) -> tuple[float, float]:
    if x < y:
        return 1.0, 0.0
    if y < x:
        return 0.0, 1.0
    return 0.5, 0.5


def _max_d(x: float, y: float, out: float) -> tuple[float, float]:
    if x > y:
        return 1.0, 0.0
    if y > x:
        return 0.0, 1.0
    return 0.5, 0.5


def _atan2_d(y: float, x: float, out: float) -> tuple[float, float]:
    r = math.hypot(x, y)
    if r == 0.0:
        return NAN, NAN
    return (x / r) / r, (-y / r) / r


def _positive(name: str) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x > 0.0 else f"{name} needs an argument > 0, got {x:g}"

    return check


def _at_least(name: str, low: float) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x >= low else f"{name} needs an argument >= {low:g}, got {x:g}"

    return check


def _within(name: str, low: float, high: float, closed: bool) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        ok = low <= x <= high if closed else low < x < high
        if ok:
            return None
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        return f"{name} needs an argument in {bounds}, got {x:g}"

    return check


def _at_one(x: float) -> bool:
    return abs(x) == 1.0


def _div_domain(x: float, y: float) -> str | None:
    return "division by zero" if y == 0.0 else None


def _atan2_domain(y: float, x: float) -> str | None:
    return "atan2(0, 0) is undefined" if x == 0.0 and y == 0.0 else None


# --- the table --------------------------------------------------------------------

_ROWS = (
    # operators
    Op("+", 2, lambda x, y: x + y, lambda x, y, o: (1.0, 1.0), symbol="+", formula=("1", "1")),
    Op("-", 2, lambda x, y: x - y, lambda x, y, o: (1.0, -1.0), symbol="-", formula=("1", "-1")),
    Op("*", 2, lambda x, y: x * y, lambda x, y, o: (y, x), symbol="*", formula=("y", "x")),
    Op("/", 2, _div, _div_d, _div_domain, symbol="/", formula=("1/y", "-x/y^2")),
    Op("^", 2, _pow, _pow_d, _pow_domain, symbol="^", formula=("y*x^(y-1)", "x^y*log(x)"), singular=lambda x, y: x == 0.0),
    Op("neg", 1, lambda x: -x, lambda x, o: -1.0, symbol="-", formula=("-1",)),
    # functions of one argument
    Op("exp", 1, math.exp, lambda x, o: o, formula=("exp(x)",)),
    Op("log", 1, math.log, _log_d, _positive("log"), formula=("1/x",)),
    Op("log2", 1, math.log2, lambda x, o: 1.0 / (x * LN2), _positive("log2"), formula=("1/(x*log(2))",)),
    Op("log10", 1, math.log10, lambda x, o: 1.0 / (x * LN10), _positive("log10"), formula=("1/(x*log(10))",)),
    Op("sqrt", 1, math.sqrt, _sqrt_d, _at_least("sqrt", 0.0), formula=("1/(2*sqrt(x))",), singular=lambda x: x == 0.0),
    Op("sin", 1, math.sin, lambda x, o: math.cos(x), formula=("cos(x)",)),
    Op("cos", 1, math.cos, lambda x, o: -math.sin(x), formula=("-sin(x)",)),
    Op("tan", 1, math.tan, lambda x, o: 1.0 + o * o, formula=("1 + tan(x)^2",)),
    Op("atan", 1, math.atan, _atan_d, formula=("1/(1 + x^2)",)),
    Op("asin", 1, math.asin, _asin_d, _within("asin", -1.0, 1.0, True), formula=("1/sqrt(1 - x^2)",), singular=_at_one),
    Op("acos", 1, math.acos, _acos_d, _within("acos", -1.0, 1.0, True), formula=("-1/sqrt(1 - x^2)",), singular=_at_one),
    Op("sinh", 1, math.sinh, lambda x, o: math.cosh(x), formula=("cosh(x)",)),
    Op("cosh", 1, math.cosh, lambda x, o: math.sinh(x), formula=("sinh(x)",)),
    Op("tanh", 1, math.tanh, _tanh_d, formula=("1 - tanh(x)^2",)),
    Op("asinh", 1, math.asinh, lambda x, o: 1.0 / math.hypot(1.0, x), formula=("1/sqrt(x^2 + 1)",)),
    Op("acosh", 1, math.acosh, _acosh_d, _at_least("acosh", 1.0), formula=("1/sqrt(x^2 - 1)",), singular=_at_one),
    Op("atanh", 1, math.atanh, _atanh_d, _within("atanh", -1.0, 1.0, False), formula=("1/(1 - x^2)",), singular=_at_one),
    Op("sigmoid", 1, _sigmoid, _sigmoid_d, formula=("sigmoid(x)*(1 - sigmoid(x))",)),
    Op("relu", 1, lambda x: x if x > 0.0 else 0.0, _relu_d, formula=("1 if x > 0 else 0",)),
    Op("softplus", 1, _softplus, lambda x, o: _sigmoid(x), formula=("sigmoid(x)",)),
    Op("abs", 1, abs, _abs_d, formula=("sign(x)",)),
    Op("erf", 1, math.erf, _erf_d, formula=("2/sqrt(pi)*exp(-x^2)",)),
    # functions of two arguments
    Op("min", 2, min, _min_d, formula=("1 if x < y, 0.5 if x = y, else 0", "1 if y < x, 0.5 if x = y, else 0")),
    Op("max", 2, max, _max_d, formula=("1 if x > y, 0.5 if x = y, else 0", "1 if y > x, 0.5 if x = y, else 0")),
    Op("atan2", 2, math.atan2, _atan2_d, _atan2_domain, formula=("y/(x^2 + y^2)", "-x/(x^2 + y^2)")),
)

OPS: dict[str, Op] = {op.name: op for op in _ROWS}
"""Every operation by its name; a Value's ``_op`` is a key of this table."""

FUNCTIONS: dict[str, Op] = {op.name: op for op in _ROWS if op.symbol is None}
FUNCTIONS["pow"] = OPS["^"]
"""What a call ``f(...)`` in a program may name."""

BINARY_OPERATORS: dict[str, Op] = {"+": OPS["+"], "-": OPS["-"], "*": OPS["*"], "/": OPS["/"], "^": OPS["^"], "**": OPS["^"]}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
