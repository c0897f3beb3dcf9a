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
more than the language offers (atan' without overflow, min's tie), it
calls an internal operation: a row of ``INTERNAL`` that programs cannot call,
with its own derivatives and a ``spelling`` in the language, used when a
derivative is printed as a program.

The formulas avoid the textbook forms that cancel or overflow (see the
accuracy section of docs/language.md): tanh' as sech^2, not 1 - tanh^2;
asin' from (1-x)(1+x), not 1 - x^2; and so on. Formulas longer than a lambda
live in ops_math.py, which the rows name; this module is the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .ops_math import (
    LN2,
    LN10,
    above,
    abs_d,
    acos_d,
    acosh_d,
    asin_d,
    at_least,
    at_one,
    atan2_d,
    atan2_domain,
    atan_d,
    atanh_d,
    below,
    cosh_d,
    datan2,
    datan2_d,
    div_d,
    div_domain,
    divide,
    erf_d,
    log_d,
    max_d,
    maximum,
    min_d,
    minimum,
    positive,
    pow_d,
    pow_domain,
    pow_graph,
    power,
    relu,
    relu_d,
    sech,
    sigmoid,
    sigmoid_d,
    sign,
    sinh_d,
    softplus,
    sqrt_d,
    step,
    tanh_d,
    within,
)
from .ops_math import exact as exact  # re-exported: messages everywhere spell numbers with it


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


# 1 for any x > 0 (even 5e-324), else 0, exactly: x clamped to +-1e-162, scaled
# past 1 and cut at 1. No step overflows, and its slope is 0 everywhere (relu
# comes after the scaling, so that for x <= 0 no gradient reaches the 1e162s).
_STEP = "min(relu(max(min({0}, 1e-162), -1e-162)*1e162*1e162), 1)"
# d has the sign of y - x without computing y - x, which can overflow: each half
# is exact where the other one is not (large x and y, or subnormal ones).
_BELOW = f"d = (min(max(y, -1), 1) - min(max(x, -1), 1)) + (y/2 - x/2); (1 + {_STEP.format('d')} - {_STEP.format('-d')})/2"


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
    Op("/", 2, divide, div_d, div_domain, symbol="/", formula=("1/y", "-x/y^2"), graph=lambda x, y, o: (1 / y, -o / y)),
    Op(
        "^",
        2,
        power,
        pow_d,
        pow_domain,
        symbol="^",
        formula=("y*x^(y-1)", "x^y*log(x)"),
        singular=lambda x, y: x == 0.0,
        graph=pow_graph,
    ),
    Op("neg", 1, lambda x: -x, lambda x, o: -1.0, symbol="-", formula=("-1",), graph=lambda x, o: -1.0),
    # functions of one argument
    Op("exp", 1, math.exp, lambda x, o: o, formula=("exp(x)",), graph=lambda x, o: o),
    Op("log", 1, math.log, log_d, positive("log"), formula=("1/x",), graph=lambda x, o: 1 / x),
    Op(
        "log2",
        1,
        math.log2,
        lambda x, o: log_d(x, o, LN2),
        positive("log2"),
        formula=("1/(x*log(2))",),
        graph=lambda x, o: 1 / (x * LN2),
    ),
    Op(
        "log10",
        1,
        math.log10,
        lambda x, o: log_d(x, o, LN10),
        positive("log10"),
        formula=("1/(x*log(10))",),
        graph=lambda x, o: 1 / (x * LN10),
    ),
    Op(
        "sqrt",
        1,
        math.sqrt,
        sqrt_d,
        at_least("sqrt", 0.0),
        formula=("1/(2*sqrt(x))",),
        singular=lambda x: x == 0.0,
        graph=lambda x, o: 0.5 / o,
    ),
    Op("sin", 1, math.sin, lambda x, o: math.cos(x), formula=("cos(x)",), graph=lambda x, o: x.cos()),
    Op("cos", 1, math.cos, lambda x, o: -math.sin(x), formula=("-sin(x)",), graph=lambda x, o: -x.sin()),
    Op("tan", 1, math.tan, lambda x, o: 1.0 + o * o, formula=("1 + tan(x)^2",), graph=lambda x, o: 1 + o * o),
    Op("atan", 1, math.atan, atan_d, formula=("1/(1 + x^2)",), graph=lambda x, o: x.datan()),
    Op(
        "asin",
        1,
        math.asin,
        asin_d,
        within("asin", -1.0, 1.0, True),
        formula=("1/sqrt(1 - x^2)",),
        singular=at_one,
        graph=lambda x, o: x.dasin(),
    ),
    Op(
        "acos",
        1,
        math.acos,
        acos_d,
        within("acos", -1.0, 1.0, True),
        formula=("-1/sqrt(1 - x^2)",),
        singular=at_one,
        graph=lambda x, o: -x.dasin(),
    ),
    Op("sinh", 1, math.sinh, sinh_d, formula=("cosh(x)",), graph=lambda x, o: x.cosh()),
    Op("cosh", 1, math.cosh, cosh_d, formula=("sinh(x)",), graph=lambda x, o: x.sinh()),
    Op("tanh", 1, math.tanh, tanh_d, formula=("1 - tanh(x)^2",), graph=lambda x, o: x.sech() ** 2),
    Op(
        "asinh", 1, math.asinh, lambda x, o: 1.0 / math.hypot(1.0, x), formula=("1/sqrt(x^2 + 1)",), graph=lambda x, o: x.dasinh()
    ),
    Op(
        "acosh",
        1,
        math.acosh,
        acosh_d,
        at_least("acosh", 1.0),
        formula=("1/sqrt(x^2 - 1)",),
        singular=at_one,
        graph=lambda x, o: x.dacosh(),
    ),
    Op(
        "atanh",
        1,
        math.atanh,
        atanh_d,
        within("atanh", -1.0, 1.0, False),
        formula=("1/(1 - x^2)",),
        singular=at_one,
        graph=lambda x, o: x.datanh(),
    ),
    Op("sigmoid", 1, sigmoid, sigmoid_d, formula=("sigmoid(x)*sigmoid(-x)",), graph=lambda x, o: x.dsigmoid()),
    Op("relu", 1, relu, relu_d, formula=("1 if x > 0 else 0",), graph=lambda x, o: x.step()),
    Op("softplus", 1, softplus, lambda x, o: sigmoid(x), formula=("sigmoid(x)",), graph=lambda x, o: x.sigmoid()),
    Op("abs", 1, abs, abs_d, formula=("sign(x)",), graph=lambda x, o: x.sign()),
    Op("erf", 1, math.erf, erf_d, formula=("2/sqrt(pi)*exp(-x^2)",), graph=lambda x, o: x.derf()),
    # Flat functions: derivatives of abs, relu and tanh, written in the language itself.
    Op("sign", 1, sign, lambda x, o: 0.0, formula=("0",), graph=lambda x, o: 0.0),
    Op("step", 1, step, lambda x, o: 0.0, formula=("0",), graph=lambda x, o: 0.0),
    Op("sech", 1, sech, lambda x, o: -o * math.tanh(x), formula=("-sech(x)*tanh(x)",), graph=lambda x, o: -o * x.tanh()),
    # functions of two arguments
    Op(
        "min",
        2,
        minimum,
        min_d,
        formula=("1 if x < y, 0.5 if x = y, else 0", "1 if y < x, 0.5 if x = y, else 0"),
        graph=lambda x, y, o: (x.below(y), y.below(x)),
    ),
    Op(
        "max",
        2,
        maximum,
        max_d,
        formula=("1 if x > y, 0.5 if x = y, else 0", "1 if y > x, 0.5 if x = y, else 0"),
        graph=lambda x, y, o: (y.below(x), x.below(y)),
    ),
    Op(
        "atan2",
        2,
        math.atan2,
        atan2_d,
        atan2_domain,
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
    Op("below", 2, below, lambda x, y, o: (0.0, 0.0), formula=("0", "0"), graph=lambda x, y, o: (0.0, 0.0), spelling=_BELOW),
    # sigmoid(x)*sigmoid(-x) is sigmoid*(1 - sigmoid) without its cancellation for large x; its own
    # derivative, -out*tanh(x/2), has none near 0 either (the product rule's difference does).
    Op(
        "dsigmoid",
        1,
        lambda x: sigmoid_d(x, 0.0),
        lambda x, o: -o * math.tanh(0.5 * x),
        formula=("-sigmoid(x)*sigmoid(-x)*tanh(x/2)",),
        graph=lambda x, o: -o * (0.5 * x).tanh(),
        spelling="sigmoid(x)*sigmoid(-x)",
    ),
    Op(
        "datan",
        1,
        lambda x: atan_d(x, 0.0),
        lambda x, o: -2.0 * (x * o) * o,
        formula=("-2*x/(1 + x^2)^2",),
        graph=lambda x, o: -2 * (x * o) * o,
        spelling="sech(asinh(x))^2",  # 1/(1 + x^2), which no |x| overflows: asinh(1e200) is 461
    ),
    Op(
        "dasin",
        1,
        lambda x: asin_d(x, 0.0),
        lambda x, o: x * o * o * o,
        within("asin'", -1.0, 1.0, False),
        formula=("x/(1 - x^2)^(3/2)",),
        singular=at_one,
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
        spelling="sech(asinh(x))",  # 1/sqrt(1 + x^2) without an x^2 to overflow
    ),
    Op(
        "dacosh",
        1,
        lambda x: acosh_d(x, 0.0),
        lambda x, o: -(x * o) * o * o,
        above("acosh'", 1.0),
        formula=("-x/(x^2 - 1)^(3/2)",),
        singular=at_one,
        graph=lambda x, o: -(x * o) * o * o,
        spelling="1/(sqrt(x - 1)*sqrt(x + 1))",
    ),
    Op(
        "datanh",
        1,
        lambda x: atanh_d(x, 0.0),
        lambda x, o: 2.0 * (x * o) * o,
        within("atanh'", -1.0, 1.0, False),
        formula=("2*x/(1 - x^2)^2",),
        singular=at_one,
        graph=lambda x, o: 2 * (x * o) * o,
        spelling="1/((1 - x)*(1 + x))",
    ),
    Op(
        "derf",
        1,
        lambda x: erf_d(x, 0.0),
        lambda x, o: -2.0 * (x * o),
        formula=("-4*x*exp(-x^2)/sqrt(pi)",),
        graph=lambda x, o: -2 * (x * o),
        spelling="1.1283791670955126*exp(-min(abs(x), 30)^2)",
    ),
    # x/(x^2 + y^2): d/dy atan2(y, x) is datan2(x, y), d/dx is -datan2(y, x)
    Op(
        "datan2",
        2,
        datan2,
        datan2_d,
        atan2_domain,
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
