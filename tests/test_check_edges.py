"""eval --check near edges: never a crash, never a false alarm, and a wrong derivative is still caught.

Finite differences cannot resolve every point (a domain edge one ulp away, the
float limit, a pole closer than any step). There the check must say so
(``unsettled``/``unavailable``), not raise, and not call a right derivative
wrong. The references are SymPy's exact derivatives evaluated to 30 digits.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import sympy as sp
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autodiff_cli import AutodiffError, ops
from autodiff_cli.check import KINK, MISMATCH, OK, TOLERANCE, UNAVAILABLE, UNSETTLED_STATUS, check_gradients
from autodiff_cli.cli import main
from autodiff_cli.errors import KINDS
from autodiff_cli.program import compile_program

from . import sympy_programs as sprog
from .test_properties import NAMES, extend, leaves, nonsmooth, spell, to_sympy, trees

STATUSES = (OK, MISMATCH, KINK, UNSETTLED_STATUS, UNAVAILABLE)
# Where floats and domains end: subnormals, 0, one ulp from 1, exp's and cosh's limit, sqrt(max), the max.
EDGES = (
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e-300,
    1e-8,
    0.9999999999999999,
    -0.9999999999999999,
    1.0,
    -1.0,
    1.0000000000000002,
    709.78,
    710.0,
    -710.0,
    1e154,
    1e300,
    1e308,
    -1e308,
    1.7976931348623157e308,
)
# Constants that push operations to their limits (x^1e18, x*1e308), besides the ordinary trees' ones.
edge_trees = st.recursive(
    st.one_of(leaves, st.sampled_from(["1", "1e18", "710", "1e308", "1e-300", "1e154"]).map(lambda t: ("const", t))),
    extend,
    max_leaves=5,
)
coordinates = st.one_of(st.sampled_from(EDGES), st.floats(allow_nan=False, allow_infinity=False))
edge_points = st.fixed_dictionaries({n: coordinates for n in NAMES})
# The crashers found by a random search over `eval --check` (ZeroDivisionError, fsum overflow).
CRASHERS = [
    ("acos(x)", 0.9999999999999999),
    ("x", 1e308),
    ("sinh(x)", 710.0),
    ("x^1e18", 1.0),
    ("cosh(x)^1", 710.0),
]


def smooth(tree: tuple) -> bool:
    """No kink (relu, abs, min, max) and no branch cut (atan2 jumps by 2 pi across y = 0 for x < 0)."""
    return not nonsmooth(tree) and "'atan2'" not in repr(tree)


def reference(expr: Callable[[], sp.Expr], name: str, env: dict[str, float]) -> float | None:
    """d expr / d name at env, to 30 digits; None where SymPy has no finite real answer in time.

    ``expr`` is built only when needed: SymPy refuses some constant parts (max(atanh(2), 0)).
    """
    try:
        derivative = sp.diff(expr(), sp.Symbol(name, real=True))
    except (ValueError, TypeError):
        return None
    subs = {sp.Symbol(n, real=True): sp.Float(v, sprog.DIGITS) for n, v in env.items()}
    value = sprog.numeric(derivative, subs)
    if value is None or value.imag != 0.0 or not math.isfinite(value.real):
        return None
    return value.real


def assert_honest(text: str, env: dict[str, float], expr: Callable[[], sp.Expr] | None, smooth: bool) -> None:
    """The check raises only declared errors; ok means agreement; mismatch means autodiff is really wrong."""
    try:
        report = check_gradients(compile_program(text), env)
    except AutodiffError as err:
        assert err.kind in KINDS, (text, env, err)
        return
    for c in report.inputs:
        assert c.status in STATUSES, (text, env, c)
        if c.status == OK:
            assert c.rel_error is not None and c.rel_error <= TOLERANCE, (text, env, c)
            assert abs(c.autodiff - c.finite_difference) <= TOLERANCE * max(abs(c.autodiff), abs(c.finite_difference)) + (
                c.resolution
            ), (text, env, c)
        if c.status == MISMATCH:
            assert report.ok is False
            if expr is None or not smooth:
                continue  # a convention at a kink may be honestly wrong (abs(x) - 2 relu(x) at 0)
            truth = reference(expr, c.name, env)
            if truth is None:
                continue
            # Right to rounding, down to a few subnormal units: an underflow to 0 is wrong where the
            # truth is -9e-309 (pow(sinh(a), -1) at 710: x^-2 underflows before cosh multiplies it).
            right = abs(c.autodiff - truth) <= 1e-9 * abs(truth) + 2e-323
            assert not right, f"false alarm: {text} at {env}: d/d{c.name} = {c.autodiff!r} is right ({truth!r}); {c}"


@pytest.mark.parametrize(("expr", "x"), CRASHERS)
def test_the_crashers_are_reported_not_raised(expr: str, x: float) -> None:
    (c,) = check_gradients(compile_program(expr), {"x": x}).inputs
    truth = reference(lambda: sp.sympify(expr.replace("^", "**"), locals={"x": sp.Symbol("x", real=True)}), "x", {"x": x})
    assert truth is not None and c.autodiff == pytest.approx(truth, rel=1e-12)
    # Each is a right derivative: at worst the differences cannot judge it, never a mismatch.
    assert c.status in (OK, UNSETTLED_STATUS, UNAVAILABLE), c
    if c.status == OK:
        assert c.finite_difference == pytest.approx(truth, rel=1e-6)


# False alarms a random search found after the crashes were fixed (program, point, SymPy twin).
FALSE_ALARMS = [
    # Steps scaled to 1 straddle the pole at 0 and settle, confidently, on 888.
    ("3 / c", {"c": 5.818145048108363e-144}, "3 / c"),
    ("1/(c - 1)", {"c": 1.0000000000000002}, "1/(c - 1)"),  # a pole one ulp away: every step straddles it
    ("(atanh(0.9*tanh(2.0)))^2 / a", {"a": 8.287460366220768e-83}, "atanh(9*tanh(2)/10)**2 / a"),
    # A derivative of one subnormal unit: rounding is never finer than that.
    ("asinh(exp(c) * sinh(a))", {"a": -5e-324, "c": -5e-324}, "asinh(exp(c) * sinh(a))"),
    # One unit in the last place of sinh(-710) (2.5e292) spans whole periods of tan: the values are noise.
    ("log10(tan(b)) - tan(sinh(a))", {"a": -710.0, "b": -3.0}, "log(tan(b))/log(10) - tan(sinh(a))"),
    ("cos(tanh(a) + a/b)", {"a": 1.7976931348623157e308, "b": 1.0}, "cos(tanh(a) + a/b)"),
    ("tan(max(a, 1)^sqrt(a))", {"a": 709.78}, "tan(a**sqrt(a))"),
    # tan oscillates faster than the float grid near 3e16 (one ulp is 4): every step aliases.
    (
        "u = max(pow(a, -1), tan(b)) - relu(0.25)\nacos(0.9*tanh(u))",
        {"a": -3.11036357547518e213, "b": -3.455347244609512e16},
        "acos(9*tanh(Max(1/a, tan(b)) - 1/4)/10)",
    ),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("text", "env", "twin"), FALSE_ALARMS)
def test_false_alarms_found_by_search_are_gone(text: str, env: dict[str, float], twin: str) -> None:
    symbols = {n: sp.Symbol(n, real=True) for n in env}
    assert_honest(text, env, lambda: sp.sympify(twin, locals=symbols), smooth=True)
    assert check_gradients(compile_program(text), env).ok


@pytest.mark.parametrize(("expr", "x"), [("log(x)", 1e-300), ("sqrt(x)", 1e-300), ("3/x", 1e-150), ("sin(x)", 1e-200)])
def test_tiny_inputs_are_resolved_by_steps_scaled_to_them(expr: str, x: float) -> None:
    (c,) = check_gradients(compile_program(expr), {"x": x}).inputs
    truth = reference(lambda: sp.sympify(expr, locals={"x": sp.Symbol("x", real=True)}), "x", {"x": x})
    assert c.status == OK and c.finite_difference == pytest.approx(truth, rel=1e-8), c


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("expr", "x"), CRASHERS)
def test_the_crashers_exit_cleanly_from_the_cli(expr: str, x: float) -> None:
    result = CliRunner().invoke(main, ["eval", expr, f"x={x!r}", "--check", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    record = json.loads(result.stdout)
    assert record["check"]["ok"] is True
    assert record["check"]["details"]["x"]["status"] in (OK, UNSETTLED_STATUS, UNAVAILABLE)


@pytest.mark.slow
@pytest.mark.timeout(600)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tree=st.one_of(trees, edge_trees), env=edge_points)
@example(tree=("un", "acos", ("var", "a")), env={"a": 0.9999999999999999, "b": 0.0, "c": 0.0})
@example(tree=("var", "a"), env={"a": 1e308, "b": 0.0, "c": 0.0})
@example(tree=("un", "sinh", ("var", "a")), env={"a": 710.0, "b": 0.0, "c": 0.0})
@example(tree=("bin", "pow", ("var", "a"), ("const", "1e18")), env={"a": 1.0, "b": 0.0, "c": 0.0})
@example(tree=("bin", "^", ("un", "cosh", ("var", "a")), ("const", "1")), env={"a": 710.0, "b": 0.0, "c": 0.0})
@example(tree=("bin", "/", ("const", "3"), ("var", "c")), env={"a": 0.0, "b": 0.0, "c": 5.818145048108363e-144})
def test_random_programs_at_edge_points_are_checked_honestly(tree: tuple, env: dict[str, float]) -> None:
    assert_honest(spell(tree), env, lambda: to_sympy(tree), smooth(tree))


@pytest.mark.slow
@pytest.mark.timeout(600)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=sprog.programs(max_leaves=6), env=st.one_of(sprog.points(), edge_points))
def test_random_programs_with_domains_kept_are_checked_honestly(case: sprog.Case, env: dict[str, float]) -> None:
    assert_honest(case.text, env, lambda: case.expr, not case.kinks or not sprog.near_kink(case, env))


@pytest.mark.timeout(300)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, env=edge_points)
def test_the_cli_check_never_crashes_at_edge_points(tree: tuple, env: dict[str, float]) -> None:
    text = spell(tree)
    args = ["eval", text, *(f"{k}={v!r}" for k, v in env.items() if k in text), "--check", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "internal error" not in result.output, (args, result.output)


# Where the check is right to fail: autodiff itself loses the derivative to underflow or rounding.
TRUE_ALARMS = [
    # -(u/g)/g underflows (g = 2.8e305), dropping half of d/dx; the truth is 7.0978e-306.
    ("abs(x) / ((y - x) / (0.5*x))", {"x": 709.78, "y": 1e308}, 7.0978e-306),
    # 1e308 + (-1) is 1e308, then - 1e308 is 0: the -1 is lost in the sum; the truth is -1.
    ("(1e308*(x - x)) - x", {"x": 4.015051340997061}, -1.0),
]


@pytest.mark.parametrize(("text", "env", "truth"), TRUE_ALARMS)
def test_gradients_autodiff_loses_to_rounding_are_mismatches(text: str, env: dict[str, float], truth: float) -> None:
    c = check_gradients(compile_program(text), env).inputs[0]
    assert c.name == "x" and c.status == MISMATCH, c
    assert c.finite_difference == pytest.approx(truth, rel=1e-6, abs=0.0)
    assert c.autodiff != pytest.approx(truth, rel=1e-3, abs=0.0)


# --- one-sided differences still catch a wrong derivative --------------------------------


def wrong(name: str, factor: float, plant: Callable[[str, Any], None]) -> None:
    """Scale op ``name``'s derivative by ``factor``: a deliberately broken rule."""
    op = ops.OPS[name]

    def scaled(*args: float) -> object:
        d = op.derivative(*args)
        return tuple(v * factor for v in d) if isinstance(d, tuple) else d * factor  # type: ignore[operator]

    plant(name, dataclasses.replace(op, derivative=scaled))


@pytest.mark.parametrize(
    ("op", "expr", "x", "method"),
    [
        ("atan2", "atan2(x, -1)", 0.0, "forward"),  # the branch cut: only forward differences see the slope
        ("sqrt", "sqrt(x)", 1e-12, None),  # x - h leaves the domain for the large first steps
        ("^", "x^1.5", 0.0, "forward"),  # nothing below 0 is in the domain
        ("acosh", "acosh(x)", 1.0 + 1e-9, None),
    ],
)
def test_a_wrong_derivative_at_a_domain_edge_is_a_mismatch(
    op: str, expr: str, x: float, method: str | None, plant: Callable[[str, Any], None]
) -> None:
    (right,) = check_gradients(compile_program(expr), {"x": x}).inputs
    assert right.status == OK, right
    if method is not None:
        assert right.method == method
    # x^1.5 at 0 has slope 0: a wrong rule there must be wrong by more than a factor.
    factor = 1.001 if right.autodiff != 0.0 else math.nan
    if math.isnan(factor):
        real = ops.OPS[op]
        plant(op, dataclasses.replace(real, derivative=lambda a, b, out: (0.25, real.derivative(a, b, out)[1])))
    else:
        wrong(op, factor, plant)
    (c,) = check_gradients(compile_program(expr), {"x": x}).inputs
    assert c.status == MISMATCH, c
    assert c.finite_difference == pytest.approx(right.autodiff, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("wrong", [0.5, 100.0])
@pytest.mark.parametrize("expr", ["x^2", "x^2 + 3"])
def test_a_wrong_slope_at_a_stationary_point_is_a_mismatch(expr: str, wrong: float, plant: Callable[[str, Any], None]) -> None:
    # The differences there are 0 and not precise in themselves: that must not pass for a singularity.
    real = ops.OPS["^"]
    plant("^", dataclasses.replace(real, derivative=lambda x, y, out: (wrong, real.derivative(x, y, out)[1])))
    (c,) = check_gradients(compile_program(expr), {"x": 0.0}).inputs
    assert c.status == MISMATCH and c.autodiff == wrong and abs(c.finite_difference) <= 1e-6, c
