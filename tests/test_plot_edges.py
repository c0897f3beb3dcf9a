"""`autodiff plot` at float64's edges: tiny, subnormal, huge and overflowing ranges and values.

Every case of the grid is either a picture (exit 0) or one line naming a
declared kind of error, never a traceback, on the terminal and with --save.
The sampled points are checked against exact rational arithmetic (fractions),
the tick labels of a picture against the numbers the curve really takes.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.errors import KINDS
from autodiff_cli.plot import plot_arguments
from autodiff_cli.render.plot import nice_ticks
from autodiff_cli.shapes import Curve, position, y_range

ENV = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": None, "LINES": None}
BIGGEST = 1.7976931348623157e308

RANGES = [
    "x=0:1e-320",
    "x=5e-324:1e-323",
    "x=-1e-310:1e-310",
    "x=-1:1",
    "x=1:1.0000000000000002",
    "x=-6e102:6e102",
    "x=-1.7e308:1.7e308",
    "x=1e308:1.7976931348623157e308",
    "x=3:-2",
]
PROGRAMS = ["x", "1e308*x", "x^3", "0*x + 1.7e308", "0*x + 5e-324", "exp(x)", "1/x", "log(x)", "sqrt(-1 - x^2)", "x*1e-300*1e-20"]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["plot", *args], env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def assert_picture_or_one_line_error(code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err and "internal error" not in err, err
    if code == 0:
        return
    lines = err.strip().split("\n")
    kinds = "|".join(KINDS)
    assert code in (1, 2) and (re.match(rf"autodiff: ({kinds}) error", lines[0]) or "Error: " in err), err


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("rng", RANGES)
def test_every_extreme_range_and_function_draws_or_says_why(program: str, rng: str) -> None:
    code, out, err = run([program, rng, "--width", "50", "--height", "12", "--second"])
    assert_picture_or_one_line_error(code, out, err)
    if code == 0:
        assert all(len(line) <= 50 for line in out.rstrip("\n").split("\n"))


@pytest.mark.parametrize("ylim", ["0:1e-320", "5e-324:1e-323", "-1.7e308:1.7e308", "1e307:1.7976931348623157e308"])
@pytest.mark.parametrize("program", ["x", "1e308*x", "0*x + 5e-324"])
def test_extreme_ylims_draw(program: str, ylim: str) -> None:
    code, out, err = run([program, "x=-1:1", "--ylim", ylim, "--width", "50", "--height", "12"])
    assert code == 0, err
    assert_picture_or_one_line_error(code, out, err)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "args",
    [
        ["x", "x=0:1e-320"],
        ["1e308*x", "x=-1:1"],
        ["x^3", "x=-6e102:6e102"],
        ["x", "x=-1:1", "--ylim", "0:1e-320"],
        ["x", "x=-1.7e308:1.7e308", "--second"],
        ["x", "x=5e-324:1e-323"],
        ["0*x + 1.7e308", "x=0:1"],
        ["0*x + 5e-324", "x=0:1"],
        ["x", "x=0:1", "--ylim", "-1.7e308:1.7e308"],
        ["exp(x)", "x=700:720", "--second"],
    ],
)
def test_extreme_images_are_written(tmp_path, args: list[str]) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "out.png"
    code, _out, err = run([*args, "--save", str(path), "--size", "320x240"])
    assert code == 0, err
    assert "Traceback" not in err and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_range_is_echoed_as_typed() -> None:
    code, _, err = run(["x", "x=2:2.0"])
    assert code == 2 and "'x=2:2.0'" in err
    code, _, err = run(["x", "x y=0:1"])
    assert code == 2 and "'x y=0:1'" in err and ":0." not in err and "e-" not in err


@pytest.mark.parametrize(
    "start, stop",
    [
        ("-1", "1"),
        ("0.1", "0.7"),
        ("-3", "3"),
        ("1e-300", "3e-300"),
        ("0", "1e-320"),
        ("-1.7e308", "1.7e308"),
        ("2", "-0.3"),
        ("1", "1.0000000000000002"),
        ("-6e102", "6e102"),
        ("0.123456789", "0.987654321"),
        ("5e-324", "1e-323"),
    ],
)
@pytest.mark.parametrize("points", [3, 5, 281, 1001, 3961])
def test_sampled_points_are_exact_values_rounded_once(start: str, stop: str, points: int) -> None:
    _, (axis,) = plot_arguments([f"x={start}:{stop}"], points)
    values = [axis.value(i) for i in range(axis.count)]
    n = axis.count - 1
    exact = [Fraction(start) + (Fraction(stop) - Fraction(start)) * i / n for i in range(n + 1)]
    assert values == [float(v) for v in exact]
    assert values[-1] == float(stop) and len(set(values)) == len(values)  # distinct floats: none twice
    floats = math.floor(abs(Fraction(stop) - Fraction(start)) / Fraction(math.ulp(max(abs(float(start)), abs(float(stop))))))
    assert min(points - 1, max(1, floats)) * 0.8 <= n <= points - 1


@pytest.mark.parametrize(
    "low, high",
    [(0.0, 1e-320), (5e-324, 1e-323), (-BIGGEST, BIGGEST), (1e307, BIGGEST), (-1.0, 1.0), (3.0, 3.0000000000000004)],
)
@pytest.mark.parametrize("count", [1, 2, 5, 30])
def test_ticks_are_finite_round_numbers_within_the_range(low: float, high: float, count: int) -> None:
    ticks, step = nice_ticks(low, high, count)
    assert math.isfinite(step) and step > 0.0 and ticks
    assert all(math.isfinite(t) and low - step * 1e-6 <= t <= high + step * 1e-6 for t in ticks)
    assert 0.0 <= position(ticks[0], low, high) <= 1.0 + 1e-6


@pytest.mark.parametrize("values", [[5e-324], [BIGGEST], [-BIGGEST, BIGGEST], [0.0, 1e-320], [-BIGGEST], [1e-310, 2e-310]])
def test_y_range_is_finite_contains_the_curve_and_is_not_empty(values: list[float]) -> None:
    low, high = y_range([Curve(0, None, [*values, None])])
    assert math.isfinite(low) and math.isfinite(high) and low < high
    assert low <= min(values) and max(values) <= high


def test_position_never_overflows_and_is_exact_for_subnormals() -> None:
    assert position(BIGGEST, -BIGGEST, BIGGEST) == 1.0 and position(0.0, -BIGGEST, BIGGEST) == 0.5
    assert position(5e-324, 0.0, 1e-323) == 0.5
    assert position(-BIGGEST, 0.0, 1e-320) == -1e9  # far outside, clipped to a finite distance


# --- the width, wherever it comes from ---------------------------------------------------


@pytest.mark.parametrize("columns", ["1000000", "9" * 5000, "²", "0", "7", " 90", "-5"])
@pytest.mark.parametrize("command", [["plot", "x", "x=0:1"], ["eval", "x*y", "x=1", "y=2"]])
def test_columns_and_lines_are_clamped_as_width_is(columns: str, command: list[str]) -> None:
    result = CliRunner().invoke(main, command, env={**ENV, "COLUMNS": columns, "LINES": columns})
    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").split("\n")
    least = 30 if command[0] == "plot" else 20
    assert max(map(len, lines)) <= 1000 and len(lines) <= 1000
    given = int(columns) if columns.strip().isascii() and columns.strip().isdigit() and len(columns) < 9 else None
    if command[0] == "plot" and given:
        assert max(map(len, lines)) <= max(least, min(1000, given))
