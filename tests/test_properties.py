"""Random programs against independent references: SymPy for derivatives, mpmath for values.

Hypothesis builds expression trees, spells them in the language, and checks:
* where every subexpression is well inside its operation's domain (judged in
  50-digit arithmetic), autodiff succeeds and agrees with SymPy's exact
  derivative and with central finite differences;
* where some subexpression is not (a complex value, an overflow, a singular
  derivative), autodiff fails with a `domain` or `overflow` error, never
  anything else.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_cli import AutodiffError, evaluate

from .sympy_programs import numeric

mpmath.mp.dps = 50
NAMES = ("a", "b", "c")
SYMBOLS = {n: sp.Symbol(n, real=True) for n in NAMES}
FLOAT_MAX = mpmath.mpf(1.7976931348623157e308)

UNARY = {
    "exp": (sp.exp, mpmath.exp),
    "log": (sp.log, mpmath.log),
    "log2": (lambda x: sp.log(x, 2), lambda x: mpmath.log(x, 2)),
    "log10": (lambda x: sp.log(x, 10), mpmath.log10),
    "sqrt": (sp.sqrt, mpmath.sqrt),
    "sin": (sp.sin, mpmath.sin),
    "cos": (sp.cos, mpmath.cos),
    "tan": (sp.tan, mpmath.tan),
    "atan": (sp.atan, mpmath.atan),
    "asin": (sp.asin, mpmath.asin),
    "acos": (sp.acos, mpmath.acos),
    "sinh": (sp.sinh, mpmath.sinh),
    "cosh": (sp.cosh, mpmath.cosh),
    "tanh": (sp.tanh, mpmath.tanh),
    "asinh": (sp.asinh, mpmath.asinh),
    "acosh": (sp.acosh, mpmath.acosh),
    "atanh": (sp.atanh, mpmath.atanh),
    "sigmoid": (lambda x: 1 / (1 + sp.exp(-x)), lambda x: 1 / (1 + mpmath.exp(-x))),
    "relu": (lambda x: sp.Max(x, 0), lambda x: max(x, 0)),
    "softplus": (lambda x: sp.log(1 + sp.exp(x)), lambda x: mpmath.log1p(mpmath.exp(x))),
    "abs": (sp.Abs, abs),
    "erf": (sp.erf, mpmath.erf),
}
BINARY = {
    "+": (lambda x, y: x + y, lambda x, y: x + y),
    "-": (lambda x, y: x - y, lambda x, y: x - y),
    "*": (lambda x, y: x * y, lambda x, y: x * y),
    "/": (lambda x, y: x / y, lambda x, y: x / y),
    "^": (lambda x, y: x**y, lambda x, y: mpmath.power(x, y)),
    "pow": (lambda x, y: x**y, lambda x, y: mpmath.power(x, y)),
    "min": (sp.Min, min),
    "max": (sp.Max, max),
    "atan2": (sp.atan2, mpmath.atan2),
}
NONSMOOTH = {"relu", "abs", "min", "max"}
# Where an operation's derivative is infinite even though its value exists.
SINGULAR = {
    "sqrt": lambda x: x == 0,
    "asin": lambda x: abs(x) == 1,
    "acos": lambda x: abs(x) == 1,
    "acosh": lambda x: x == 1,
}

leaves = st.one_of(
    st.sampled_from(NAMES).map(lambda n: ("var", n)),
    st.sampled_from(["0.5", "2", "3", "1.5", "0.25"]).map(lambda t: ("const", t)),
)


def extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.just("un"), st.sampled_from(sorted(UNARY)), children),
        st.tuples(st.just("bin"), st.sampled_from(sorted(BINARY)), children, children),
    )


trees = st.recursive(leaves, extend, max_leaves=6)
points = st.lists(st.sampled_from([-2.5, -1.3, -0.7, 0.4, 0.9, 1.7, 2.6]), min_size=3, max_size=3, unique=True)


def spell(t: tuple) -> str:
    kind = t[0]
    if kind == "var":
        return t[1]
    if kind == "const":
        return t[1]
    if kind == "un":
        return f"{t[1]}({spell(t[2])})"
    op, left, right = t[1], spell(t[2]), spell(t[3])
    if op in ("pow", "min", "max", "atan2"):
        return f"{op}({left}, {right})"
    return f"({left}) {op} ({right})"


def to_sympy(t: tuple) -> sp.Expr:
    kind = t[0]
    if kind == "var":
        return SYMBOLS[t[1]]
    if kind == "const":
        return sp.Rational(t[1])
    if kind == "un":
        return UNARY[t[1]][0](to_sympy(t[2]))
    return BINARY[t[1]][0](to_sympy(t[2]), to_sympy(t[3]))


def depends_on_input(t: tuple) -> bool:
    return t[0] == "var" or (t[0] in ("un", "bin") and any(depends_on_input(c) for c in t[2:]))


def troubled(t: tuple, env: dict[str, mpmath.mpf]) -> tuple[object, bool]:
    """50-digit value of ``t`` and whether any part of it leaves float64 or its op's domain."""
    kind = t[0]
    if kind == "var":
        return env[t[1]], False
    if kind == "const":
        return mpmath.mpf(t[1]), False
    args, bad = [], False
    for child in t[2:]:
        value, child_bad = troubled(child, env)
        args.append(value)
        bad = bad or child_bad
    if bad or any(isinstance(a, mpmath.mpc) for a in args):
        return mpmath.nan, True
    name = t[1]
    if name in SINGULAR and SINGULAR[name](args[0]):
        bad = True
    if name in ("^", "pow"):
        x, y = args
        if (x == 0 and (y < 1 or depends_on_input(t[3]))) or (x < 0 and depends_on_input(t[3])):
            bad = True
    if (name in ("/",) and args[1] == 0) or (name == "atan2" and args[0] == args[1] == 0):
        return mpmath.nan, True
    if name in ("log", "log2", "log10") and args[0] == 0:
        return mpmath.nan, True
    if name == "atanh" and abs(args[0]) >= 1:
        return mpmath.nan, True
    try:
        value = (UNARY[name][1] if kind == "un" else BINARY[name][1])(*args)
    except (ValueError, ZeroDivisionError):
        return mpmath.nan, True
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return value, True
        value = value.real
    if not mpmath.isfinite(value) or abs(value) > FLOAT_MAX:
        bad = True
    return value, bad


def near(got: float, want: float, rel: float = 1e-8, abs_: float = 1e-10) -> bool:
    return abs(got - want) <= rel * abs(want) + abs_


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, xs=points)
def test_random_programs_match_sympy(tree: tuple, xs: list[float]) -> None:
    env = dict(zip(NAMES, xs, strict=True))
    program = spell(tree)
    _, bad = troubled(tree, {k: mpmath.mpf(v) for k, v in env.items()})
    try:
        result = evaluate(program, env)
    except AutodiffError as err:
        assert err.kind in ("domain", "overflow"), (program, env, str(err))
        assert bad, f"{program} at {env}: autodiff failed ({err}) where every step is well defined"
        return
    if bad:
        return  # autodiff may follow a convention (0 * inf skipped, a kink) where the math has none
    expr = to_sympy(tree)
    subs = {SYMBOLS[k]: sp.Float(repr(v), 40) for k, v in env.items()}
    want_value = numeric(expr, subs)
    if want_value is None:
        return  # SymPy cannot evaluate it in time (a power of a huge power): no reference
    assert near(result.value, want_value.real), (program, env, result.value, want_value)
    inputs = [n for n in NAMES if n in result.gradients]
    for name in inputs:
        derivative = numeric(sp.diff(expr, SYMBOLS[name]), subs)
        if derivative is None or derivative.imag != 0 or not math.isfinite(derivative.real):
            continue  # a kink SymPy cannot evaluate (Heaviside(0)); the corpus pins those
        want = derivative.real
        assert near(result.gradients[name], want), (program, env, name, result.gradients[name], want)


def nonsmooth(t: tuple) -> bool:
    return t[0] in ("un", "bin") and (t[1] in NONSMOOTH or any(nonsmooth(c) for c in t[2:]))


@settings(max_examples=300, deadline=None)
@given(tree=trees, xs=points)
def test_gradients_match_finite_differences(tree: tuple, xs: list[float]) -> None:
    env = dict(zip(NAMES, xs, strict=True))
    program = spell(tree)
    try:
        result = evaluate(program, env)
    except AutodiffError:
        return  # failures are judged against SymPy above
    if nonsmooth(tree):
        return  # a kink may sit inside the difference step
    for name, grad in result.gradients.items():

        def f(x: float, name: str = name) -> float:
            return evaluate(program, {**env, name: x}).value

        x, h = env[name], 1e-4 * max(1.0, abs(env[name]))
        try:
            coarse = (f(x + h) - f(x - h)) / (2 * h)
            fine = (f(x + h / 2) - f(x - h / 2)) / h
        except AutodiffError:
            continue  # the step left the domain
        slope = (4 * fine - coarse) / 3  # Richardson: the h^2 error cancels
        scale = max(abs(result.value), 1.0)
        # The spread of the two estimates bounds what curvature leaves in `slope`.
        allowed = 1e-5 * abs(slope) + 1e-7 * scale + abs(fine - coarse)
        assert abs(grad - slope) <= allowed, (program, env, name, grad, slope)


def test_spelling_round_trip() -> None:
    # The test's own printer must agree with Python on a known case.
    tree = ("bin", "*", ("var", "a"), ("un", "exp", ("const", "2")))
    assert math.isclose(evaluate(spell(tree), {"a": 3.0}).value, 3 * math.exp(2))
