"""`autodiff plot`: the numbers behind the picture, and the command's contract.

Every curve is compared with derivatives worked out by hand (math module);
gaps with the points a person can see must fail; kinks with where relu, abs,
min and max really bend. The picture itself is checked in test_plot_picture.py.
"""

from __future__ import annotations

import io
import math
import time

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.errors import AutodiffError
from autodiff_cli.plot import plot_arguments, plot_data
from autodiff_cli.program import compile_program
from autodiff_cli.shapes import Curve, joins, outside, y_range

from .test_startup import imported

ENV = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": None, "LINES": None}


def data_of(source: str, *args: str, points: int = 201, **kwargs):
    constants, axes = plot_arguments(list(args), points)
    return plot_data(compile_program(source), constants, axes, **kwargs)


def run(args: list[str], input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["plot", *args], input=input, env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b))


# --- the curves -------------------------------------------------------------------------


def test_tanh_value_first_and_second_derivative_match_the_formulas() -> None:
    data = data_of("tanh(x)", "x=-3:3", second=True)
    value, slope, curvature = data.curves
    assert (value.order, slope.order, curvature.order) == (0, 1, 2)
    assert len(data.xs) == 201 and data.xs[0] == -3.0 and data.xs[-1] == 3.0
    for x, f, d, d2 in zip(data.xs, value.ys, slope.ys, curvature.ys, strict=True):
        t = math.tanh(x)
        assert close(f, t) and close(d, 1 - t * t) and close(d2, -2 * t * (1 - t * t)), x


def test_cubic_second_derivative_is_6x_over_10000_points() -> None:
    data = data_of("x^3 - 2*x", "x=-2:2:0.0004", second=True)
    assert len(data.xs) == 10_001
    for x, d, d2 in zip(data.xs, data.curves[1].ys, data.curves[2].ys, strict=True):
        assert close(d, 3 * x * x - 2) and close(d2, 6 * x), x


def test_other_inputs_are_bound_and_wrt_adds_their_derivative() -> None:
    data = data_of("a*sin(x)", "x=0:3", "a=2", wrt=["a"])
    assert [(c.order, c.wrt) for c in data.curves] == [(0, None), (1, "x"), (1, "a")]
    for x, f, dx, da in zip(data.xs, *(c.ys for c in data.curves), strict=True):
        assert close(f, 2 * math.sin(x)) and close(dx, 2 * math.cos(x)) and close(da, math.sin(x))


def test_failing_points_are_gaps_counted_by_kind() -> None:
    data = data_of("log(x)", "x=-1:2:0.01")
    bad = [x for x in data.xs if x <= 0.0]
    assert data.failures == {"domain": len(bad)} and len(bad) == 101
    assert "log" in data.messages["domain"]
    for x, f, d in zip(data.xs, data.curves[0].ys, data.curves[1].ys, strict=True):
        if x <= 0.0:
            assert f is None and d is None
        else:
            assert close(f, math.log(x)) and close(d, 1 / x)


def test_one_failing_point_does_not_cost_the_rest_of_its_block() -> None:
    # x = 0.5 is on the grid: only that point fails; the 4,000 around it are computed.
    data = data_of("1/(x-0.5)", "x=-1.5:2.5:0.001")
    assert data.failures == {"domain": 1}
    missing = [x for x, f in zip(data.xs, data.curves[0].ys, strict=True) if f is None]
    assert len(missing) == 1 and abs(missing[0] - 0.5) < 1e-9
    assert all(close(f, 1 / (x - 0.5)) for x, f in zip(data.xs, data.curves[0].ys, strict=True) if f is not None)


def test_overflow_is_a_gap_of_its_own_kind() -> None:
    data = data_of("exp(x)", "x=700:720:1")
    assert data.failures["overflow"] == 11  # exp(710) and up leave float64
    assert all(f is None for x, f in zip(data.xs, data.curves[0].ys, strict=True) if x >= 710)


def test_second_derivative_gaps_are_counted_apart() -> None:
    # x^1.5: value and slope exist at 0, the second derivative 0.75/sqrt(x) does not.
    data = data_of("x^1.5", "x=0:1:0.25", second=True)
    assert not data.failures and data.second_gaps == 1
    assert data.curves[2].ys[0] is None and close(data.curves[2].ys[2], 0.75 / math.sqrt(0.5))


def test_relu_second_derivative_is_zero() -> None:
    data = data_of("relu(x)", "x=-1:1:0.25", second=True)
    assert data.curves[2].ys == [0.0] * 9


# --- kinks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("relu(x)", [0.0]),
        ("abs(x - 0.3)", [0.3]),  # between two points of the grid
        ("max(x, x^2)", [0.0, 1.0]),
        ("min(x, 1) + abs(x + 1)", [-1.0, 1.0]),
        ("tanh(x)", []),
        ("relu(x)^2", []),  # the switch flips, but the slope does not jump
        ("relu(x - 5)", []),  # the kink is off the range
    ],
)
def test_kinks_are_where_the_slope_jumps(source: str, where: list[float]) -> None:
    data = data_of(source, "x=-2:2:0.0137")
    # Between two points the switch is interpolated linearly: exact for relu and abs, close for max(x, x^2).
    assert [k.x for k in data.kinks] == pytest.approx(where, abs=1e-4)
    for kink in data.kinks:
        value = data_of(source, f"x={kink.x!r}:{kink.x + 1!r}:1").curves[0].ys[0]
        assert abs(kink.y - value) < 0.02  # on the curve


def test_kinks_are_found_from_rows_computed_one_by_one() -> None:
    # sqrt fails for x < 0, so those blocks run row by row; the kink of abs at 1 is still found.
    data = data_of("sqrt(x) + abs(x - 1)", "x=-1:2:0.01")
    assert [round(k.x, 9) for k in data.kinks] == [1.0]


# --- joins and ranges -------------------------------------------------------------------


def test_a_pole_is_not_joined_but_a_steep_rise_is() -> None:
    xs = [i / 10 - 1.05 for i in range(22)]  # never 0
    pole = [1 / x for x in xs]
    j = joins(pole, span=40.0)
    crossing = next(i for i in range(21) if xs[i] < 0 < xs[i + 1])
    assert not j[crossing] and sum(j) == 20
    steep = [math.tanh(100 * x) for x in xs]
    assert all(joins(steep, span=2.0))


def test_gaps_and_cuts_are_not_joined() -> None:
    assert joins([1.0, None, 2.0, 3.0, 4.0], 10.0, frozenset({2})) == [False, False, False, True]


def test_a_pole_does_not_flatten_the_picture() -> None:
    data = data_of("1/x", "x=-1.005:1:0.01")  # 0.005 from 0 at most: slopes to -40,000
    numbers = [y for c in data.curves for y in c.ys if y is not None]
    low, high = y_range(data.curves)
    assert high - low < (max(numbers) - min(numbers)) / 10
    assert low < -100 and high > 100  # most of the curves is in
    assert 0 < outside(data.curves, low, high) <= len(numbers) * 0.04
    assert y_range([Curve(0, None, [0.0, 1.0, 2.0])]) == (0.0, 2.0)
    assert y_range([Curve(0, None, [3.0, 3.0])]) == pytest.approx((2.7, 3.3))
    assert y_range(data.curves, (-1.0, 1.0)) == (-1.0, 1.0)


# --- arguments -----------------------------------------------------------------------


def test_start_stop_without_step_gives_the_number_of_points_asked() -> None:
    constants, (axis,) = plot_arguments(["x=-1:1", "a=2"], 5)
    assert constants == {"a": 2.0} and [axis.value(i) for i in range(axis.count)] == [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "args",
    [["x=1:1"], ["x=0:1", "y=0:1"], ["x=0:1:1e-7"], ["x=0:a"], ["x=0:1", "x=2"]],
)
def test_bad_ranges_are_input_errors(args: list[str]) -> None:
    with pytest.raises(AutodiffError) as err:
        plot_arguments(args, 11)
    assert err.value.kind == "input"


# --- rows ---------------------------------------------------------------------------


def test_csv_rows_are_sorted_and_bad_rows_are_gaps_or_left_out() -> None:
    rows = b"x,note\n2,a\n-1,b\n0.5,c\n1,d\nnope,e\n"
    data = data_of("sqrt(x)", rows=io.BytesIO(rows))
    assert data.xs == [-1.0, 0.5, 1.0, 2.0]
    assert data.curves[0].ys[0] is None and close(data.curves[0].ys[3], math.sqrt(2))
    assert data.failures == {"domain": 1} and data.unplaced == 1


def test_json_rows_plot_along_x_with_constants() -> None:
    rows = b'{"x": 1, "a": 3}\n{"x": 0, "a": 3}\n{"a": 1}\n'
    data = data_of("a*x^2", rows=io.BytesIO(rows), x="x")
    assert data.xs == [0.0, 1.0] and data.curves[0].ys == [0.0, 3.0] and data.curves[1].ys == [0.0, 6.0]
    assert data.unplaced == 1


# --- the command --------------------------------------------------------------------------


def test_plot_command_draws_and_exits_0() -> None:
    status, out, err = run(["tanh(x)", "x=-3:3", "--width", "80", "--height", "20"])
    assert status == 0 and err == ""
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= 20 and max(map(len, lines)) <= 80
    assert lines[0].startswith("tanh(x) for x from -3 to 3") and lines[1].strip().endswith(" tanh(x)")
    assert any(line.strip().endswith(" d/dx") for line in lines) and lines[-1].split() == ["-3", "-2", "-1", "0", "1", "2", "3"]


def test_rows_from_standard_input() -> None:
    status, out, _ = run(["x^2", "--rows", "-", "--width", "60", "--height", "14"], input="x\n-1\n0\n1\n2\n")
    assert status == 0 and "(4 points)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x^2"], "NAME=START:STOP"),
        (["x^2", "x=0:1", "y=0:1"], "one input"),
        (["x^2", "x=0:1", "--rows", "-"], "not both"),
        (["x^2", "x=0:1", "--save", "out.pdf"], ".svg or .png"),
        (["x^2", "x=0:1", "--ylim", "2:1"], "LOW must be below HIGH"),
        (["x^2", "x=0:1", "--wrt", "y"], "y is not an input"),
        (["a^2", "x=0:1", "a=1"], "x is not an input"),
        (["x^", "x=0:1"], "syntax error"),
        (["x^2", "x=0:1", "--width", "10"], "--width"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    status, out, err = run(args)
    assert status == 2 and out == "" and message in err, err


def test_save_without_matplotlib_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    status, out, err = run(["x^2", "x=0:1", "--save", "out.svg"])
    assert status == 2 and "pip install 'autodiff-cli[plot]'" in err and out == ""


def test_a_program_that_fails_everywhere_exits_1_with_the_reason() -> None:
    status, out, err = run(["log(x)", "x=-2:-1"])
    assert status == 1 and out == "" and "nothing to plot" in err and "log needs an argument > 0" in err


@pytest.mark.timeout(60)
def test_ten_thousand_points_with_the_second_derivative_are_quick() -> None:
    start = time.perf_counter()
    status, out, _ = run(["tanh(x)*sin(3*x) + relu(x-1)", "x=-3:3:0.0006", "--second", "--width", "120", "--height", "40"])
    elapsed = time.perf_counter() - start
    assert status == 0 and "(10,001 points)" in out
    assert elapsed < 3.0  # about 0.3 s on a quiet machine; the limit only catches a point-by-point regression


def test_eval_does_not_import_the_plot_modules() -> None:
    modules = imported(["eval", "tanh(x)", "x=1"])
    assert "autodiff_cli.render.display" in modules  # the report is real
    assert not {"autodiff_cli.plot", "autodiff_cli.render.plot", "autodiff_cli.render.plot_image"} & modules
    assert not any(m.split(".")[0] == "matplotlib" for m in modules)


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [
        (0.0, 0.5, "0"),
        (0.25, 0.25, "0.25"),
        (-1.5, 0.5, "-1.5"),
        (1500.0, 500.0, "1500"),
        (2e8, 1e8, "2e+8"),
        (3e-5, 1e-5, "3e-5"),
    ],
)
def test_tick_labels_have_the_digits_the_step_needs(value: float, step: float, text: str) -> None:
    from autodiff_cli.render.plot import tick_text

    assert tick_text(value, step) == text


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    from autodiff_cli.render.plot import nice_ticks

    assert nice_ticks(-3.0, 3.0, 6) == ([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], 1.0)
    ticks, step = nice_ticks(0.0, 0.7, 4)
    assert step == 0.2 and ticks == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_x_must_match_the_range() -> None:
    status, _, err = run(["x^2", "x=0:1", "--x", "y"])
    assert status == 2 and "--x y but the range sweeps x" in err
