"""eval --check on badly conditioned functions: no false alarm where the steps alias, and wrong rules still caught.

Steps far larger than the scale on which a steep function is smooth alias: two
first steps can agree by chance on a value near 0 (-61 ± 11 for
tan(cosh(a)^exp(b)) at a = -2.5, b = 2.6, whose slope is -6.5e13). The
references are mpmath's derivatives at 50 digits, at the very float inputs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Callable
from typing import Any

import mpmath as mp
import pytest
from click.testing import CliRunner

from autodiff_cli import ops
from autodiff_cli.check import MISMATCH, OK, TOLERANCE, UNSETTLED_STATUS, check_gradients
from autodiff_cli.cli import main
from autodiff_cli.program import compile_program

Point = Callable[[random.Random], dict[str, float]]


def near_a_pole(r: random.Random) -> dict[str, float]:
    """tan 1e-15 to 0.1 away from one of its poles, up to |x| = 3000."""
    return {"x": (2 * r.randint(-1000, 1000) + 1) * math.pi / 2 + r.choice((1, -1)) * 10 ** r.uniform(-15, -1)}


# Each: the program, its mpmath twin, where to check it, and the least share of its inputs the check
# still judges ok (so that "never a mismatch" cannot pass by never judging; measured share about twice this).
FAMILY: list[tuple[str, Callable[..., mp.mpf], Point, float]] = [
    ("tan(x)", mp.tan, near_a_pole, 0.3),
    (
        "tan(cosh(a)^exp(b))",
        lambda a, b: mp.tan(mp.cosh(a) ** mp.exp(b)),
        lambda r: {"a": r.uniform(-3, 3), "b": r.uniform(-3, 3)},
        0.7,
    ),
    ("x^1000", lambda x: x**1000, lambda r: {"x": r.uniform(0.3, 2.0)}, 0.8),
    ("x^100000", lambda x: x**100000, lambda r: {"x": 1 + r.uniform(-7e-3, 7e-3)}, 0.8),
    ("a^b", lambda a, b: a**b, lambda r: {"a": r.uniform(0.5, 3.0), "b": r.uniform(50.0, 600.0)}, 0.8),
    ("exp(exp(x))", lambda x: mp.exp(mp.exp(x)), lambda r: {"x": r.uniform(-5.0, 6.55)}, 0.8),
    ("exp(exp(exp(x)))", lambda x: mp.exp(mp.exp(mp.exp(x))), lambda r: {"x": r.uniform(-3.0, 1.88)}, 0.8),
    ("tan(exp(x))", lambda x: mp.tan(mp.exp(x)), lambda r: {"x": r.uniform(0.0, 35.0)}, 0.3),
    ("tan(x^50)", lambda x: mp.tan(x**50), lambda r: {"x": r.uniform(1.0, 3.0)}, 0.1),
    ("sin(exp(exp(x)))", lambda x: mp.sin(mp.exp(mp.exp(x))), lambda r: {"x": r.uniform(0.0, 3.6)}, 0.4),
    ("tan(exp(exp(x)))", lambda x: mp.tan(mp.exp(mp.exp(x))), lambda r: {"x": r.uniform(0.0, 3.6)}, 0.4),
]


def derivative(twin: Callable[..., mp.mpf], env: dict[str, float], name: str) -> mp.mpf:
    with mp.workdps(50):
        args = [mp.mpf(v) for v in env.values()]
        return mp.diff(twin, args, tuple(int(n == name) for n in env))


def right(autodiff: float, truth: mp.mpf) -> bool:
    """Within the check's own tolerance of the truth, down to a few subnormal units (x^1000 underflows)."""
    return bool(mp.isfinite(truth) and abs(mp.mpf(autodiff) - truth) <= TOLERANCE * abs(truth) + mp.mpf(2e-323))


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("text", "twin", "point", "judged"), FAMILY, ids=[f[0] for f in FAMILY])
def test_badly_conditioned_functions_never_raise_a_false_alarm(
    text: str, twin: Callable[..., mp.mpf], point: Point, judged: float
) -> None:
    program = compile_program(text)
    rng = random.Random(text)
    statuses = []
    for _ in range(60):
        env = point(rng)
        for c in check_gradients(program, env).inputs:
            statuses.append(c.status)
            if c.status == MISMATCH:
                truth = derivative(twin, env, c.name)
                assert not right(c.autodiff, truth), (
                    f"false alarm: {text} at {env}: d/d{c.name} {c.autodiff!r} is right ({truth}); {c}"
                )
    assert statuses.count(OK) >= judged * len(statuses), (text, {s: statuses.count(s) for s in set(statuses)})


def test_the_aliased_estimate_of_the_finding_is_not_a_mismatch() -> None:
    env = {"a": -2.5, "b": 2.6}
    report = check_gradients(compile_program("tan(cosh(a)^exp(b))"), env)
    assert report.ok
    for c in report.inputs:
        truth = derivative(lambda a, b: mp.tan(mp.cosh(a) ** mp.exp(b)), env, c.name)
        # The differences' value is nowhere near the slope; autodiff's is (to the rounding of a 4e10-wide power).
        assert c.status == UNSETTLED_STATUS and abs(c.finite_difference) < 1e-6 * abs(truth), c
        assert abs(c.autodiff - truth) <= 1e-2 * abs(truth) and "nothing to compare with" in c.note
    result = CliRunner().invoke(main, ["eval", "tan(cosh(a)^exp(b))", "a=-2.5", "b=2.6", "--check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["check"]["details"]["a"]["status"] == UNSETTLED_STATUS


def test_a_pole_closer_than_the_float_steps_are_exact_is_resolved() -> None:
    # The floats take steps up to 1% off the ones asked for: extrapolating with the asked ones settled,
    # confidently, 3e-5 off the slope next to tan's pole at 1239.358 (and called autodiff wrong).
    for x in (-1239.3583018386103, 3020.6413364251057):
        (c,) = check_gradients(compile_program("tan(x)"), {"x": x}).inputs
        truth = derivative(mp.tan, {"x": x}, "x")
        assert c.status == OK and abs(c.finite_difference - truth) <= 1e-8 * abs(truth), c


def planted(names: tuple[str, ...], factor: float, plant: Callable[[str, Any], None]) -> None:
    for name in names:
        op = ops.OPS[name]

        def scaled(*args: float, op: ops.Op = op) -> object:
            d = op.derivative(*args)
            return tuple(v * factor for v in d) if isinstance(d, tuple) else d * factor  # type: ignore[operator]

        plant(name, dataclasses.replace(op, derivative=scaled))


ORDINARY: list[tuple[str, Point]] = [
    ("tan(x)", lambda r: {"x": r.uniform(-1.4, 1.4)}),
    ("exp(exp(x))", lambda r: {"x": r.uniform(-2.0, 2.0)}),
    ("tan(cosh(a)^exp(b))", lambda r: {"a": r.uniform(-0.5, 0.5), "b": r.uniform(-1.0, 0.0)}),
    ("sin(exp(exp(x)))", lambda r: {"x": r.uniform(-1.0, 1.0)}),
    ("x^1000", lambda r: {"x": r.uniform(0.9, 1.1)}),
]


@pytest.mark.parametrize("factor", [1 + 1e-5, 1.01, 0.5])
@pytest.mark.parametrize(("text", "point"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_a_planted_wrong_derivative_is_caught_at_ordinary_points(
    text: str, point: Point, factor: float, plant: Callable[[str, Any], None]
) -> None:
    rng = random.Random(text)
    envs = [point(rng) for _ in range(15)]
    program = compile_program(text)
    assert all(check_gradients(program, env).ok for env in envs), "the true rules pass"
    planted(("tan", "exp", "sin", "cosh", "^"), factor, plant)
    program = compile_program(text)
    for env in envs:
        statuses = {c.name: c.status for c in check_gradients(program, env).inputs}
        assert set(statuses.values()) == {MISMATCH}, (text, env, statuses)


@pytest.mark.timeout(120)
def test_a_planted_wrong_derivative_at_steep_points_is_never_passed(plant: Callable[[str, Any], None]) -> None:
    # Where the differences judged the true rule ok, a rule 1% off is caught, or at worst unjudged: never ok.
    rng = random.Random(7)
    cases = [(text, point(rng)) for text, _, point, _ in FAMILY for _ in range(20)]
    before = [check_gradients(compile_program(text), env) for text, env in cases]
    planted(("tan", "exp", "sin", "cosh", "^"), 1.01, plant)
    caught = judged = 0
    for (text, env), was in zip(cases, before, strict=True):
        for old, new in zip(was.inputs, check_gradients(compile_program(text), env).inputs, strict=True):
            if old.status == OK and old.autodiff != 0.0:
                judged += 1
                caught += new.status == MISMATCH
                assert new.status != OK, (text, env, new)
    assert caught >= 0.9 * judged and judged >= 100, (caught, judged)
