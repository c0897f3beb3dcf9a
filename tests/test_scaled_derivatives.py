"""Derivatives computed in a scaled way stay right where the textbook formula overflows.

atan' is 1/(1 + x^2), asinh' 1/sqrt(x^2 + 1), acosh' 1/sqrt(x^2 - 1), atan2's
x/(x^2 + y^2): for |x| past about 1.3e154, x^2 overflows and the textbook form
gives 0 (or nan) where the truth is a normal or subnormal number. ops.py
guards each (a 1e150 switch, hypot, sqrt(x - 1)*sqrt(x + 1), scaling by
max(|x|, |y|)), and so do the printed derivatives (``autodiff diff``). tanh'
and sigmoid' are built from exp(-|x|) for the same reason at moderate x.
These points, from 1.5e154 to 1e300, pin every guard against mpmath.
"""

from __future__ import annotations

import json

import mpmath
import pytest
from click.testing import CliRunner

from autodiff_cli import evaluate
from autodiff_cli.cli import main

mpmath.mp.dps = 60
SUBNORMAL = 5e-324

# program, its partial derivatives in mpmath, points past the square root of the float range
CASES = [
    ("atan(x)", {"x": lambda x: 1 / (1 + x**2)}, [1.5e154, -3e154, 1e155, 7e157, 1e161, 1e200, -1e300]),
    ("asinh(x)", {"x": lambda x: 1 / mpmath.sqrt(1 + x**2)}, [1.5e154, -1e155, 1e200, 1e300, -1.7e308]),
    ("acosh(x)", {"x": lambda x: 1 / mpmath.sqrt(x**2 - 1)}, [1.5e154, 1e155, 1e200, 1e300, 1.7e308]),
    (
        "atan2(y, x)",
        {"y": lambda y, x: x / (x**2 + y**2), "x": lambda y, x: -y / (x**2 + y**2)},
        [(1e200, 3e200), (-2e155, 1e155), (1e300, -1e300), (1.5e154, 1.0), (1.0, -1e160)],
    ),
    # exp(-2|x|) and exp(-|x|) instead of 1 - tanh^2 and s(1 - s): no cancellation, no cosh^2 overflow
    ("tanh(x)", {"x": lambda x: 1 / mpmath.cosh(x) ** 2}, [20.0, -40.0, 300.0, 360.0, -370.0]),
    ("sigmoid(x)", {"x": lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2}, [40.0, 300.0, -700.0, 740.0]),
]
POINTS = [
    (program, dict(zip(derivs, p if isinstance(p, tuple) else (p,), strict=True)), derivs)
    for program, derivs, points in CASES
    for p in points
]
IDS = [f"{program} at {', '.join(f'{k}={v:g}' for k, v in env.items())}" for program, env, _ in POINTS]


def truth(derivative, env: dict[str, float]) -> float:
    return float(derivative(*(mpmath.mpf(v) for v in env.values())))


def close(got: float, want: float) -> bool:
    """To rounding: relative, plus a few units of the subnormal range, where precision runs out."""
    return abs(got - want) <= 1e-13 * abs(want) + 4 * SUBNORMAL


def test_the_points_are_where_the_textbook_forms_fail() -> None:
    # x*x overflows at every point of the square-root-guarded cases; the truth is not 0 at most
    # (atan' = 1/x^2 underflows past 1e162, where only "no nan, no error" is left to check).
    for program, derivs, points in CASES[:4]:
        for p in points:
            big = max(abs(v) for v in (p if isinstance(p, tuple) else (p,)))
            assert big * big == float("inf"), (program, p)
        envs = [dict(zip(derivs, p if isinstance(p, tuple) else (p,), strict=True)) for p in points]
        assert sum(any(truth(d, env) != 0.0 for d in derivs.values()) for env in envs) >= 3, program


@pytest.mark.parametrize(("program", "env", "derivs"), POINTS, ids=IDS)
def test_gradients_past_the_overflow_of_x_squared(program: str, env: dict[str, float], derivs: dict) -> None:
    result = evaluate(program, env)
    for name, derivative in derivs.items():
        want = truth(derivative, env)
        assert close(result.gradients[name], want), (name, result.gradients[name], want)


@pytest.mark.parametrize(("program", "env", "derivs"), POINTS, ids=IDS)
def test_printed_derivatives_past_the_overflow_of_x_squared(program: str, env: dict[str, float], derivs: dict) -> None:
    result = CliRunner().invoke(main, ["diff", program, "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["derivatives"]
    for name, derivative in derivs.items():
        want = truth(derivative, env)
        text = printed[name]
        got = evaluate(text, {k: v for k, v in env.items() if k in text}).value
        assert close(got, want), (name, text, got, want)
