"""Every number a person sees: one formatter, checked against Python's own repr and float.

The result line shows the value as the JSON does (every digit); tables show
TABLE_DIGITS significant digits unless given ``digits``, and a caller passing 4
gets exactly what the default gives.
"""

from __future__ import annotations

import io
import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console, RenderableType

from autodiff_cli.check import check_gradients
from autodiff_cli.explain import explain
from autodiff_cli.hessian import program_hessian
from autodiff_cli.numbers import TABLE_DIGITS, format_number, table_digits
from autodiff_cli.program import compile_program
from autodiff_cli.render.batch_table import BatchTable
from autodiff_cli.render.check import render_check
from autodiff_cli.render.display import DisplayOptions, display, to_text
from autodiff_cli.render.explain import render_explanation
from autodiff_cli.render.hessian import render_hessian

MISSION = ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0})
TANH_7 = 0.9999983369439447  # math.tanh(7), as Python's repr writes it


def _text(renderable: RenderableType) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None, legacy_windows=False).print(renderable)
    return out.getvalue()


def _significant(text: str) -> int:
    return len(text.partition("e")[0].lstrip("-").replace(".", "").strip("0")) or 1


# --- the formatter ---------------------------------------------------------------------


@pytest.mark.timeout(60)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_shortest_reads_back_exactly(x: float) -> None:
    text = format_number(x)
    assert float(text) == x
    assert math.copysign(1, float(text)) == math.copysign(1, x)  # -0.0 shows as -0: the sign is part of the number
    assert _significant(text) <= _significant(repr(x))  # never longer than Python's shortest repr
    assert not text.endswith(".0") and "e+" not in text


@pytest.mark.timeout(60)
@given(st.integers(-(10**15), 10**15))
def test_integral_values_show_as_integers(n: int) -> None:
    assert format_number(float(n)) == str(n)  # 20, not 20.0: as explain and the DAG both show it


@pytest.mark.timeout(60)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 17))
def test_digits_round_to_that_many(x: float, digits: int) -> None:
    text = format_number(x, digits)
    exact = Decimal(x)
    rounded = abs(Decimal(text) - exact) <= abs(exact) * Decimal(10) ** (1 - digits) / 2 * Decimal("1.000000001")
    assert _significant(text) <= digits or float(text) == x
    assert rounded or float(text) == x


@pytest.mark.timeout(10)
def test_rounding_is_visible_and_non_finite_reads_as_words() -> None:
    assert format_number(TANH_7) == repr(TANH_7)
    assert format_number(TANH_7, 4) == "1.000"  # kept zeros: rounded, not exactly 1
    assert [format_number(x) for x in (math.inf, -math.inf, math.nan)] == ["inf", "-inf", "nan"]
    assert table_digits(None) == TABLE_DIGITS == 4 and table_digits(7) == 7


# --- the screens that show numbers ----------------------------------------------------


def _run(source: str, bindings: dict[str, float]):
    program = compile_program(source)
    return program, program.run(bindings)


@pytest.mark.timeout(30)
def test_result_line_shows_every_digit_unless_digits_given() -> None:
    program, result = _run(*MISSION)
    assert result.value == math.tanh(7)
    shown = to_text(display(program.graph, result, DisplayOptions(width=120)), 120, False)
    assert shown.split("\n")[0] == f"tanh(a*b+c) = {json.dumps(math.tanh(7))}"  # as the JSON shows it
    four = to_text(display(program.graph, result, DisplayOptions(width=120, digits=4)), 120, False)
    assert four.split("\n")[0] == "tanh(a*b+c) = 1.000"
    # everything but the result line is the same with digits None and 4
    assert shown.split("\n")[1:] == four.split("\n")[1:]


@pytest.mark.timeout(30)
def test_check_table_follows_digits() -> None:
    program = compile_program(MISSION[0])
    report = check_gradients(program, MISSION[1])
    default, four, two = (_text(render_check(report, d)) for d in (None, 4, 2))
    assert default == four
    gradient = 9.978328034703254e-06  # d/da: 3 * (1 - tanh(7)^2)
    assert "9.978e-6" in four and "1.0e-5" in two and repr(gradient) not in four


@pytest.mark.timeout(30)
def test_hessian_table_default_is_four_digits() -> None:
    program = compile_program("x^3*y + sin(x*y)")
    _, second = program_hessian(program, {"x": 0.5, "y": 2.0})
    xy = 3 * 0.5**2 + math.cos(1.0) - 1.0 * math.sin(1.0)  # d2/dx dy by hand
    assert _text(render_hessian(second)) == _text(render_hessian(second, 4))
    assert f"{xy:.4g}" in _text(render_hessian(second)) and f"{xy:.6g}" in _text(render_hessian(second, 6))


@pytest.mark.timeout(30)
def test_explain_shows_one_number_one_way() -> None:
    program = compile_program("c = a + b; d = c * 4")
    text = _text(render_explanation(explain(program, {"a": 2.0, "b": 3.0})))
    assert "20.0" not in text and "4.0" not in text
    assert "5 * 4 = 20" in text and "d     20" in text
    mission = _text(render_explanation(explain(compile_program(MISSION[0]), MISSION[1])))
    assert f"tanh(7) = {TANH_7:#.4g}" in mission  # a step, rounded like the DAG
    assert repr(TANH_7) in mission  # the result table, exactly
    big = _text(render_explanation(explain(compile_program("x*1234567 + x*1e-5"), {"x": 2.0})))
    # Operands as their own rows show them (never 1234567.0 nor 1e-05); exactly with 17 digits.
    assert "2 * 1.235e6 = 2.469e6" in big and "2 * 1e-5 = 2e-5" in big and "2.469e6 + 2e-5 = 2.469e6" in big
    exact = _text(render_explanation(explain(compile_program("x*1234567 + x*1e-5"), {"x": 2.0}), 17))
    assert f"{2 * 1234567} + 2e-5 = {2 * 1234567 + 2e-5!r}" in exact


@pytest.mark.timeout(30)
def test_batch_table_follows_digits() -> None:
    record = {"line": 1, "expr": "tanh(x)", "value": TANH_7, "gradients": {"x": 3.3261093449010845e-06}}
    default = _text(BatchTable().row(record))
    assert default == _text(BatchTable(digits=4).row(record))
    assert "1.000" in default and "3.326e-6" in default
    assert repr(TANH_7) in _text(BatchTable(digits=17).row(record))
    assert "inf" in _text(BatchTable().row({**record, "value": "inf"}))


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("program", "point"), [("-x*y", {"x": 1.0, "y": 0.0}), ("x*y", {"x": -1e-200, "y": 1e-200}), ("min(x, -x)", {"x": 0.0})]
)
def test_a_negative_zero_shows_its_sign_as_the_json_does(program: str, point: dict[str, float]) -> None:
    from click.testing import CliRunner

    from autodiff_cli.cli import main

    bindings = [f"{k}={v!r}" for k, v in point.items()]
    record = json.loads(CliRunner().invoke(main, ["eval", program, *bindings, "--json"]).output)
    assert record["value"] == 0.0 and math.copysign(1, record["value"]) == -1
    shown = CliRunner().invoke(main, ["eval", program, *bindings, "--no-dag"]).output
    assert shown.splitlines()[0] == f"{program} = -0"
    assert [format_number(-0.0, d) for d in (None, 1, 4, 17)] == ["-0"] * 4
    assert [format_number(0.0, d) for d in (None, 1, 4, 17)] == ["0"] * 4
