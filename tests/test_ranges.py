"""Typed ranges step exactly, never pass STOP, and every number in them is read in bounded time.

The reference is fractions.Fraction of the typed decimal text: every point
is START + k*STEP exactly, rounded once to a float, and there are
floor((STOP - START)/STEP) + 1 of them. Only a STEP that plot computes from a
number of points gets slack (see test_plot.py); a typed one gets none.
"""

from __future__ import annotations

import json
import math
import time
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from autodiff_cli import AutodiffError
from autodiff_cli.bindings import parse_number
from autodiff_cli.cli import main
from autodiff_cli.ranges import MAX_RANGE_DIGITS, parse_axis, split_arguments


@st.composite
def decimals(draw: st.DrawFn, nonzero: bool = False) -> str:
    """A decimal as a person types it: sign, digits, maybe a point, maybe an exponent."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.text("0123456789", min_size=0, max_size=12))
    fraction = draw(st.text("0123456789", min_size=0, max_size=12))
    if not whole and not fraction:
        whole = "1" if nonzero else "0"
    point = "." if fraction or draw(st.booleans()) else ""
    body = f"{whole}{point}{fraction}" if whole else f".{fraction}"
    exponent = draw(st.one_of(st.just(""), st.integers(-12, 12).map(lambda e: f"e{e}")))
    return f"{sign}{body}{exponent}"


def _within(start: Fraction, stop: Fraction, step: Fraction) -> int | None:
    """The count of points by the definition, or None for a range that must be refused."""
    if step == 0:
        return None
    span = (stop - start) / step
    return None if span < 0 else math.floor(span) + 1


@settings(max_examples=300, deadline=None)
@given(decimals(), decimals(), decimals(nonzero=True))
@example("0", "0.9999999995", "0.1")  # the issue's: used to end at 1.0, past STOP
@example("0", "1", "0.3333333333")  # used to report 1.0 for 0.9999999999
@example("0", "1000", "333.3333333")  # used to land on 1000 where 999.9999999 was typed
@example("-0.0", "0", "1")
def test_every_point_is_the_exact_decimal_rounded_once(start: str, stop: str, step: str) -> None:
    a, b, h = Fraction(start), Fraction(stop), Fraction(step)
    count = _within(a, b, h)
    assume(count is not None and count <= 2000)
    assume(abs(float(h)) >= 2.2250738585072014e-308)
    axis = parse_axis(f"x={start}:{stop}:{step}")
    assert count is not None
    assert axis.count == count
    points = [axis.value(k) for k in range(axis.count)]
    assert points == [float(a + k * h) for k in range(count)]
    last = a + (count - 1) * h
    assert (b - last) * h >= 0  # the exact last point is not past STOP
    assert (float(b) - points[-1]) * float(h) >= 0  # nor is its float
    assert math.copysign(1.0, points[0]) == math.copysign(1.0, float(start))  # -0.0 keeps its sign


@pytest.mark.parametrize(
    ("spec", "last"),
    [
        ("0:0.9999999995:0.1", 0.9),
        ("0:1:0.3333333333", 0.9999999999),
        ("0:1000:333.3333333", 999.9999999),
        ("0:1:0.1", 1.0),
        ("1:0:-0.1", 0.0),
        ("0:2.0000000001:1", 2.0),
        ("-0.0:0:1", -0.0),
    ],
)
def test_the_last_point_is_exact_and_never_past_stop(spec: str, last: float) -> None:
    axis = parse_axis(f"x={spec}")
    got = axis.value(axis.count - 1)
    assert got == last and math.copysign(1, got) == math.copysign(1, last)


def test_a_typed_range_does_not_run_a_pole_into_its_neighbour() -> None:
    """1/(x - 999.9999999) at x = 999.9999999 is a division by zero, not a number at x = 1000."""
    out = CliRunner().invoke(main, ["eval", "1/(x-999.9999999)", "x=0:1000:333.3333333", "--json"]).output
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert rows[-1]["inputs"]["x"] == 999.9999999
    assert rows[-1]["error"]["kind"] == "domain"


def test_a_signed_zero_start_or_stop_keeps_its_sign() -> None:
    assert math.copysign(1, parse_axis("x=-0.0:1:1").value(0)) == -1
    assert math.copysign(1, parse_axis("x=1:-0:-1").value(1)) == -1  # STOP reached exactly, as typed
    assert math.copysign(1, parse_axis("x=-1:1:1").value(1)) == 1  # a computed zero is +0, as -1 + 1 is


def test_a_range_refuses_a_step_below_the_smallest_float() -> None:
    for step in ("1e-330", "2e-324", "-1e-325"):
        with pytest.raises(AutodiffError, match="smallest number") as err:
            parse_axis(f"x=0:1e-300:{step}")
        assert err.value.kind == "input"
    assert parse_axis("x=0:1e-300:1e-301").count == 11
    axis = parse_axis("x=0:4e-320:1e-320")  # subnormal steps over a subnormal range: each point exact
    assert [axis.value(i) for i in range(axis.count)] == [0.0, 1e-320, 2e-320, 3e-320, 4e-320]


# --- bounded time ------------------------------------------------------------------------

HUGE = [
    "1e-999999999",
    "1e-99999999999999999999",
    "0e-30000000",
    "-0e+99999999999",
    "1e999999999",
    "1e-" + "0" * 100_000 + "1",  # 1e-1, with a long exponent
    "0." + "0" * 100_000 + "1",
    "1" * 100_000,
    "0." + "1" * 50_000,
    "1" * 50_000 + "x",
    "1" * 30_000 + "." + "1" * 30_000 + "e",
    "." + "9" * (MAX_RANGE_DIGITS + 1),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", HUGE, ids=lambda t: f"{t[:16]}..{len(t)}")
@pytest.mark.parametrize("place", ["start", "stop", "step", "binding"])
def test_every_typed_number_is_read_in_bounded_time(text: str, place: str) -> None:
    arg = {
        "start": f"x={text}:1:0.5",
        "stop": f"x=0:{text}:0.5",
        "step": f"x=0:1:{text}",
        "binding": f"x={text}",
    }[place]
    began = time.perf_counter()
    try:
        split_arguments([arg])
    except AutodiffError as err:
        assert err.kind == "input"
        assert len(str(err)) < 300  # the text is echoed cut short
    assert time.perf_counter() - began < 1.0


def test_a_zero_with_any_exponent_is_zero() -> None:
    axis = parse_axis("x=0e-30000000:1:0.5")
    assert [axis.value(k) for k in range(axis.count)] == [0.0, 0.5, 1.0]
    assert parse_axis("x=-0e999999999999:1:1").value(0) == 0.0


def test_a_long_exponent_of_leading_zeros_is_its_value() -> None:
    axis = parse_axis("x=0:1:1e-" + "0" * 10_000 + "1")
    assert axis.count == 11 and axis.value(3) == 0.3


@pytest.mark.parametrize("text", ["9e-401", "-1e-401", "0." + "0" * 400 + "1"])
def test_a_nonzero_number_below_1e_400_is_refused_in_a_range(text: str) -> None:
    with pytest.raises(AutodiffError, match="too close to 0"):
        parse_axis(f"x={text}:1:0.5")
    assert parse_axis("x=1e-400:1:0.5").value(0) == 0.0  # still exact below the subnormals: rounds to 0


@pytest.mark.parametrize("text", ["1" * 2000, "0." + "3" * 5000, "9" * 400 + "e-400"])
def test_parse_number_reads_long_digit_strings_as_float_does(text: str) -> None:
    x = float(text)
    if math.isfinite(x):
        assert parse_number(text) == x
    else:
        with pytest.raises(AutodiffError, match="finite"):
            parse_number(text)
