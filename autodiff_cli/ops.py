"""Every operation autodiff knows: one row each, forward math beside its derivatives.

A row's ``forward`` takes floats and returns a float (it may raise
OverflowError, or return inf/nan, and the engine classifies that); its
``derivative`` takes the same floats plus the forward result and returns the
local partial derivatives, one per argument (a bare float for one argument, a
tuple for two). ``domain`` returns why an argument is out of range, or None.
Derivatives never raise: where they do not exist they return inf or nan, and
the program decides whether that derivative was needed.

``graph`` holds the same local derivatives written as operations on nodes
(anything with Value's operators and function methods), so that a gradient
can be built as a graph and differentiated again. Where a derivative needs
more than the language offers (relu's step, tanh' without cancellation), it
calls an internal operation: a row of ``INTERNAL`` that programs cannot call,
with its own derivatives and a ``spelling`` in the language, used when a
derivative is printed as a program.

The formulas avoid the textbook forms that cancel or overflow (see the
accuracy section of docs/language.md): tanh' from exp(-2|x|), not 1 - tanh^2;
asin' from (1-x)(1+x), not 1 - x^2; and so on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    graph: Callable[..., object] | None = None  # local derivatives as operations on nodes x, y, out
    spelling: str | None = None  # internal operations only: the same number, as a program in x and y


def exact(x: float) -> str:
    """``x`` short where that reads back as the same float, else every digit it needs (2.0000000001, not 2)."""
    short = f"{x:g}"
    return short if float(short) == x or x != x else repr(x)


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


def _log_d(x: float, out: float, scale: float = 1.0) -> float:
    # At 0 (log(0) = -inf under --allow-nonfinite) the slope is +inf, from the side where log is defined.
    return 1.0 / (x * scale) if x != 0.0 else INF


def _sinh_d(x: float, out: float) -> float:
    try:
        return math.cosh(x)
    except OverflowError:
        return INF


def _cosh_d(x: float, out: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(INF, x)


def _relu_d(x: float, out: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def _abs_d(x: float, out: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _erf_d(x: float, out: float) -> float:
    return TWO_OVER_SQRT_PI * math.exp(-x * x)


def _div(x: float, y: float) -> float:
    return x / y


def ieee_div(x: float, y: float) -> float:
    """x / y as IEEE 754 divides, also by zero (Python raises): +-inf by the signs, nan for 0/0."""
    if y == 0.0:
        return NAN if x == 0.0 or x != x else math.copysign(INF, x) * math.copysign(1.0, y)
    return x / y


def _div_d(x: float, y: float, out: float) -> tuple[float, float]:
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


def _pow(x: float, y: float) -> float:
    return 1.0 if y == 0.0 else _ieee_pow(x, y)


def _pow_domain(x: float, y: float) -> str | None:
    if x < 0.0 and not _is_integer(y):
        return f"a negative base ({exact(x)}) needs an integer exponent, not {exact(y)}"
    if x == 0.0 and y < 0.0:
        return f"0 cannot be raised to a negative power ({exact(y)})"
    return None


def _pow_d(x: float, y: float, out: float) -> tuple[float, float]:
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
        return None if x > 0.0 else f"{name} needs an argument > 0, got {exact(x)}"

    return check


def _at_least(name: str, low: float) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x >= low else f"{name} needs an argument >= {low:g}, got {exact(x)}"

    return check


def _within(name: str, low: float, high: float, closed: bool) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        ok = low <= x <= high if closed else low < x < high
        if ok:
            return None
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        return f"{name} needs an argument in {bounds}, got {exact(x)}"

    return check


def _at_one(x: float) -> bool:
    return abs(x) == 1.0


def _div_domain(x: float, y: float) -> str | None:
    return "division by zero" if y == 0.0 else None


def _atan2_domain(y: float, x: float) -> str | None:
    return "atan2(0, 0) is undefined" if x == 0.0 and y == 0.0 else None


# --- derivatives as operations on nodes (see Op.graph) ------------------------------


def _pow_graph(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    # y*x^(y-1) is also right at x = 0 for y >= 1; for a constant y = 0 the
    # graph builder turns 0*anything into 0, the convention for x^0.
    return y * x ** (y - 1), out * x.log()


def _datan2(x: float, y: float) -> float:
    # x/(x^2 + y^2), the derivatives of atan2, without overflow: as in _atan2_d.
    return _atan2_d(y, x, 0.0)[0]


def _datan2_d(x: float, y: float, out: float) -> tuple[float, float]:
    q = _datan2(y, x)
    return (q - out) * (q + out), -2.0 * out * q


def _below(x: float, y: float) -> float:
    return 1.0 if x < y else (0.5 if x == y else 0.0)


def _above(name: str, low: float) -> Callable[[float], str | None]:
    def check(x: float) -> str | None:
        return None if x > low else f"{name} needs an argument > {low:g}, got {exact(x)}"

    return check


# 1 for any x > 0 (even 5e-324), else 0, exactly: x clamped to +-1e-162, scaled
# past 1 and cut at 1. No step overflows, and its slope is 0 everywhere (relu
# comes after the scaling, so that for x <= 0 no gradient reaches the 1e162s).
_STEP = "min(relu(max(min({0}, 1e-162), -1e-162)*1e162*1e162), 1)"
# d has the sign of y - x without computing y - x, which can overflow: each half
# is exact where the other one is not (large x and y, or subnormal ones).
_BELOW = f"d = (min(max(y, -1), 1) - min(max(x, -1), 1)) + (y/2 - x/2); (1 + {_STEP.format('d')} - {_STEP.format('-d')})/2"
# 1/(1 + x^2) and 1/sqrt(1 + x^2) scaled by m = max(|x|, 1), so x^2 cannot overflow.
_SCALED = "m = max(abs(x), 1); "


# --- the table --------------------------------------------------------------------

_ROWS = (
    # operators
    Op("+", 2, lambda x, y: x + y, lambda x, y, o: (1.0, 1.0), symbol="+", formula=("1", "1"), graph=lambda x, y, o: (1.0, 1.0)),
    Op(
        "-",
        2,
        lambda x, y: x - y,
        lambda x, y, o: (1.0, -1.0),
        symbol="-",
        formula=("1", "-1"),
        graph=lambda x, y, o: (1.0, -1.0),
    ),
    Op("*", 2, lambda x, y: x * y, lambda x, y, o: (y, x), symbol="*", formula=("y", "x"), graph=lambda x, y, o: (y, x)),
    Op("/", 2, _div, _div_d, _div_domain, symbol="/", formula=("1/y", "-x/y^2"), graph=lambda x, y, o: (1 / y, -o / y)),
    Op(
        "^",
        2,
        _pow,
        _pow_d,
        _pow_domain,
        symbol="^",
        formula=("y*x^(y-1)", "x^y*log(x)"),
        singular=lambda x, y: x == 0.0,
        graph=_pow_graph,
    ),
    Op("neg", 1, lambda x: -x, lambda x, o: -1.0, symbol="-", formula=("-1",), graph=lambda x, o: -1.0),
    # functions of one argument
    Op("exp", 1, math.exp, lambda x, o: o, formula=("exp(x)",), graph=lambda x, o: o),
    Op("log", 1, math.log, _log_d, _positive("log"), formula=("1/x",), graph=lambda x, o: 1 / x),
    Op(
        "log2",
        1,
        math.log2,
        lambda x, o: _log_d(x, o, LN2),
        _positive("log2"),
        formula=("1/(x*log(2))",),
        graph=lambda x, o: 1 / (x * LN2),
    ),
    Op(
        "log10",
        1,
        math.log10,
        lambda x, o: _log_d(x, o, LN10),
        _positive("log10"),
        formula=("1/(x*log(10))",),
        graph=lambda x, o: 1 / (x * LN10),
    ),
    Op(
        "sqrt",
        1,
        math.sqrt,
        _sqrt_d,
        _at_least("sqrt", 0.0),
        formula=("1/(2*sqrt(x))",),
        singular=lambda x: x == 0.0,
        graph=lambda x, o: 0.5 / o,
    ),
    Op("sin", 1, math.sin, lambda x, o: math.cos(x), formula=("cos(x)",), graph=lambda x, o: x.cos()),
    Op("cos", 1, math.cos, lambda x, o: -math.sin(x), formula=("-sin(x)",), graph=lambda x, o: -x.sin()),
    Op("tan", 1, math.tan, lambda x, o: 1.0 + o * o, formula=("1 + tan(x)^2",), graph=lambda x, o: 1 + o * o),
    Op("atan", 1, math.atan, _atan_d, formula=("1/(1 + x^2)",), graph=lambda x, o: x.datan()),
    Op(
        "asin",
        1,
        math.asin,
        _asin_d,
        _within("asin", -1.0, 1.0, True),
        formula=("1/sqrt(1 - x^2)",),
        singular=_at_one,
        graph=lambda x, o: x.dasin(),
    ),
    Op(
        "acos",
        1,
        math.acos,
        _acos_d,
        _within("acos", -1.0, 1.0, True),
        formula=("-1/sqrt(1 - x^2)",),
        singular=_at_one,
        graph=lambda x, o: -x.dasin(),
    ),
    Op("sinh", 1, math.sinh, _sinh_d, formula=("cosh(x)",), graph=lambda x, o: x.cosh()),
    Op("cosh", 1, math.cosh, _cosh_d, formula=("sinh(x)",), graph=lambda x, o: x.sinh()),
    Op("tanh", 1, math.tanh, _tanh_d, formula=("1 - tanh(x)^2",), graph=lambda x, o: x.dtanh()),
    Op(
        "asinh", 1, math.asinh, lambda x, o: 1.0 / math.hypot(1.0, x), formula=("1/sqrt(x^2 + 1)",), graph=lambda x, o: x.dasinh()
    ),
    Op(
        "acosh",
        1,
        math.acosh,
        _acosh_d,
        _at_least("acosh", 1.0),
        formula=("1/sqrt(x^2 - 1)",),
        singular=_at_one,
        graph=lambda x, o: x.dacosh(),
    ),
    Op(
        "atanh",
        1,
        math.atanh,
        _atanh_d,
        _within("atanh", -1.0, 1.0, False),
        formula=("1/(1 - x^2)",),
        singular=_at_one,
        graph=lambda x, o: x.datanh(),
    ),
    Op("sigmoid", 1, _sigmoid, _sigmoid_d, formula=("sigmoid(x)*(1 - sigmoid(x))",), graph=lambda x, o: x.dsigmoid()),
    Op("relu", 1, lambda x: x if x > 0.0 else 0.0, _relu_d, formula=("1 if x > 0 else 0",), graph=lambda x, o: x.step()),
    Op("softplus", 1, _softplus, lambda x, o: _sigmoid(x), formula=("sigmoid(x)",), graph=lambda x, o: x.sigmoid()),
    Op("abs", 1, abs, _abs_d, formula=("sign(x)",), graph=lambda x, o: x.step() - (-x).step()),  # pyright: ignore[reportArgumentType]
    Op("erf", 1, math.erf, _erf_d, formula=("2/sqrt(pi)*exp(-x^2)",), graph=lambda x, o: x.derf()),
    # functions of two arguments
    Op(
        "min",
        2,
        min,
        _min_d,
        formula=("1 if x < y, 0.5 if x = y, else 0", "1 if y < x, 0.5 if x = y, else 0"),
        graph=lambda x, y, o: (x.below(y), y.below(x)),
    ),
    Op(
        "max",
        2,
        max,
        _max_d,
        formula=("1 if x > y, 0.5 if x = y, else 0", "1 if y > x, 0.5 if x = y, else 0"),
        graph=lambda x, y, o: (y.below(x), x.below(y)),
    ),
    Op(
        "atan2",
        2,
        math.atan2,
        _atan2_d,
        _atan2_domain,
        formula=("y/(x^2 + y^2)", "-x/(x^2 + y^2)"),
        graph=lambda y, x, o: (x.datan2(y), -y.datan2(x)),
    ),
)

# Operations that only derivatives use: a program cannot call them, and a printed
# derivative spells them out in the language. Each spelling gives the same number
# up to rounding, overflows nowhere the operation does not, and for step and
# below is flat, so printed derivatives stay differentiable at kinks. The
# derivatives multiply x by out first, so that x*out^3 does not underflow early.
INTERNAL = (
    Op(
        "step",
        1,
        lambda x: 1.0 if x > 0.0 else 0.0,
        lambda x, o: 0.0,
        formula=("0",),
        graph=lambda x, o: 0.0,
        spelling=_STEP.format("x"),
    ),
    Op("below", 2, _below, lambda x, y, o: (0.0, 0.0), formula=("0", "0"), graph=lambda x, y, o: (0.0, 0.0), spelling=_BELOW),
    Op(
        "dtanh",
        1,
        lambda x: _tanh_d(x, 0.0),
        lambda x, o: -2.0 * math.tanh(x) * o,
        formula=("-2*tanh(x)*(1 - tanh(x)^2)",),
        graph=lambda x, o: -2 * x.tanh() * o,
        spelling="(1/cosh(min(abs(x), 710)))^2",
    ),
    Op(
        "dsigmoid",
        1,
        lambda x: _sigmoid_d(x, 0.0),
        lambda x, o: -o * math.tanh(0.5 * x),
        formula=("-sigmoid(x)*(1 - sigmoid(x))*tanh(x/2)",),
        graph=lambda x, o: -o * (0.5 * x).tanh(),
        spelling="sigmoid(x)*sigmoid(-x)",
    ),
    Op(
        "datan",
        1,
        lambda x: _atan_d(x, 0.0),
        lambda x, o: -2.0 * (x * o) * o,
        formula=("-2*x/(1 + x^2)^2",),
        graph=lambda x, o: -2 * (x * o) * o,
        spelling=_SCALED + "(1/m)^2/((1/m)^2 + (x/m)^2)",
    ),
    Op(
        "dasin",
        1,
        lambda x: _asin_d(x, 0.0),
        lambda x, o: x * o * o * o,
        _within("asin'", -1.0, 1.0, False),
        formula=("x/(1 - x^2)^(3/2)",),
        singular=_at_one,
        graph=lambda x, o: x * o * o * o,
        spelling="1/sqrt((1 - x)*(1 + x))",
    ),
    Op(
        "dasinh",
        1,
        lambda x: 1.0 / math.hypot(1.0, x),
        lambda x, o: -(x * o) * o * o,
        formula=("-x/(1 + x^2)^(3/2)",),
        graph=lambda x, o: -(x * o) * o * o,
        spelling=_SCALED + "(1/m)/sqrt((1/m)^2 + (x/m)^2)",
    ),
    Op(
        "dacosh",
        1,
        lambda x: _acosh_d(x, 0.0),
        lambda x, o: -(x * o) * o * o,
        _above("acosh'", 1.0),
        formula=("-x/(x^2 - 1)^(3/2)",),
        singular=_at_one,
        graph=lambda x, o: -(x * o) * o * o,
        spelling="1/(sqrt(x - 1)*sqrt(x + 1))",
    ),
    Op(
        "datanh",
        1,
        lambda x: _atanh_d(x, 0.0),
        lambda x, o: 2.0 * (x * o) * o,
        _within("atanh'", -1.0, 1.0, False),
        formula=("2*x/(1 - x^2)^2",),
        singular=_at_one,
        graph=lambda x, o: 2 * (x * o) * o,
        spelling="1/((1 - x)*(1 + x))",
    ),
    Op(
        "derf",
        1,
        lambda x: _erf_d(x, 0.0),
        lambda x, o: -2.0 * (x * o),
        formula=("-4*x*exp(-x^2)/sqrt(pi)",),
        graph=lambda x, o: -2 * (x * o),
        spelling="1.1283791670955126*exp(-min(abs(x), 30)^2)",
    ),
    # x/(x^2 + y^2): d/dy atan2(y, x) is datan2(x, y), d/dx is -datan2(y, x)
    Op(
        "datan2",
        2,
        _datan2,
        _datan2_d,
        _atan2_domain,
        formula=("(y^2 - x^2)/(x^2 + y^2)^2", "-2*x*y/(x^2 + y^2)^2"),
        singular=lambda x, y: x == y == 0.0,
        graph=lambda x, y, o: ((y.datan2(x) - o) * (y.datan2(x) + o), -2 * o * y.datan2(x)),
        spelling="m = max(abs(x), abs(y)); x/m/m/((x/m)^2 + (y/m)^2)",
    ),
)

OPS: dict[str, Op] = {op.name: op for op in (*_ROWS, *INTERNAL)}
"""Every operation by its name; a Value's ``_op`` is a key of this table."""

FUNCTIONS: dict[str, Op] = {op.name: op for op in _ROWS if op.symbol is None}
FUNCTIONS["pow"] = OPS["^"]
"""What a call ``f(...)`` in a program may name."""

BINARY_OPERATORS: dict[str, Op] = {"+": OPS["+"], "-": OPS["-"], "*": OPS["*"], "/": OPS["/"], "^": OPS["^"], "**": OPS["^"]}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
