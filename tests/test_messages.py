"""Messages that say what was meant, and non-finite answers with the right sign.

Every expectation here is derived by hand from the mathematics (see the
comment beside each case), not read off the program's output.
"""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

from autodiff_cli import AutodiffError, compile_program, evaluate
from autodiff_cli.cli import main
from autodiff_cli.parser import parse
from autodiff_cli.sweep import parse_axis


def error_of(source: str, bindings: dict | None = None) -> AutodiffError:
    with pytest.raises(AutodiffError) as info:
        if bindings is None:
            parse(source)
        else:
            evaluate(source, bindings)
    return info.value


# --- names are identifiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "suggestion", "column"),
    [
        ("x²", "x^2", 2),
        ("x² + 1", "x^2", 2),
        ("2²", "2^2", 2),
        ("a*x²³", "x^23", 4),
        ("x⁻¹", "x^-1", 2),
        ("½*x", "1/2", 1),
        ("x*¾", "3/4", 3),
        ("x₂ + 1", "x_2", 2),
        ("y = x²", "x^2", 6),
        ("x² = 1; x", "x^2", 2),
        ("sin(x²)", "x^2", 6),
    ],
)
def test_superscripts_and_fractions_are_syntax_errors_that_suggest_the_spelling(
    source: str, suggestion: str, column: int
) -> None:
    error = error_of(source)
    assert error.kind == "syntax"
    assert suggestion in error.message
    assert (error.line, error.column) == (1, column)


def test_a_superscript_is_not_silently_a_new_name() -> None:
    # NFKC turns x² into x2: before, "x² + x2" read one input twice.
    assert error_of("x² + x2", {"x2": 1.0}).kind == "syntax"


@pytest.mark.parametrize("source", ["θ + 1", "ｘ + 1", "α1*β", "x_2"])
def test_identifiers_stay_names(source: str) -> None:
    graph = parse(source)
    assert len(graph.inputs) >= 1


@pytest.mark.parametrize(
    ("call", "meant"),
    [("ln(x)", "log"), ("arcsin(x)", "asin"), ("arccos(x)", "acos"), ("arctan(x)", "atan"), ("arctanh(x)", "atanh"),
     ("power(x, 2)", "pow"), ("arctan2(x, 1)", "atan2")],
)  # fmt: skip
def test_well_known_aliases_suggest_the_function(call: str, meant: str) -> None:
    error = error_of(call)
    assert error.kind == "name"
    assert error.message.endswith(f"did you mean {meant}?")


# --- numbers read back exactly ------------------------------------------------------------


def _numbers(message: str) -> list[float]:
    return [float(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", message)]


@pytest.mark.parametrize(
    ("x", "y"), [(-1.0, 2.0000000001), (-1.0000000000000002, 0.5), (-3.0, 1 / 3), (-2.0, 2.5000000000000004)]
)
def test_the_negative_base_message_shows_both_numbers_exactly(x: float, y: float) -> None:
    error = error_of("x^y", {"x": x, "y": y})
    assert error.kind == "domain"
    shown = _numbers(error.message)
    assert x in shown and y in shown, error.message


def test_the_exponent_from_the_source_reads_back() -> None:
    error = error_of("x^2.0000000001", {"x": -1})
    assert "not 2.0000000001" in error.message


def test_short_numbers_stay_short() -> None:
    assert "not 0.5" in error_of("x^0.5", {"x": -2}).message
    assert "got -1" in error_of("log(x)", {"x": -1}).message


# --- a missing option value -----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["eval", "x", "x=1", "--digits"], ["eval", "x", "x=1", "-f"], ["eval", "x", "x=1", "--width"],
     ["diff", "x^2", "--wrt"], ["diff", "x^2", "--order"]],
)  # fmt: skip
def test_a_missing_option_value_says_so(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert f"Option '{args[-1]}' requires an argument." in result.output
    assert "'--'" not in result.output


def test_an_option_value_is_still_read() -> None:
    result = CliRunner().invoke(main, ["eval", "x/3", "x=1", "--digits", "3", "--no-dag"])
    assert result.exit_code == 0 and "0.333" in result.output and "0.3333" not in result.output


# --- ranges wider than float64's largest number ---------------------------------------------


@pytest.mark.parametrize(
    ("spec", "count"),
    [("x=-1e308:1e308:1e303", 200_001), ("x=-1.7e308:1.7e308:1.7e303", 200_001), ("x=1e308:-1e308:-1e304", 20_001)],
)
def test_a_range_across_float64_counts_without_overflow(spec: str, count: int) -> None:
    axis = parse_axis(spec)
    assert axis.count == count  # (stop - start)/step + 1, by hand
    values = [axis.value(i) for i in (0, 1, count // 2, count - 2, count - 1)]
    assert all(math.isfinite(v) for v in values)
    assert values[0] == axis.start and values[-1] == axis.stop
    assert values == sorted(values, reverse=axis.step < 0)


def test_a_wide_range_sweeps_on_the_command_line() -> None:
    result = CliRunner().invoke(main, ["eval", "x", "x=-1e308:1e308:1e307"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 + 21 and lines[1].startswith("-1e+308,") and lines[-1].startswith("1e+308,")


# --- non-finite answers under --allow-nonfinite ----------------------------------------------

INF, NAN = math.inf, math.nan

# program, bindings, value, gradients: derived by hand.
NONFINITE = [
    ("sinh(x)", {"x": -1000}, -INF, {"x": INF}),  # sinh' = cosh > 0
    ("cosh(x)", {"x": -1000}, INF, {"x": -INF}),  # cosh' = sinh(-1000) < 0
    ("x^309", {"x": -10}, -INF, {"x": INF}),  # odd power of a negative; slope 309*x^308 > 0
    ("x^310", {"x": -10}, INF, {"x": -INF}),  # even power; slope 310*x^309 < 0
    ("exp(x)", {"x": 1000}, INF, {"x": INF}),
    ("1/x", {"x": 0.0}, INF, {"x": -INF}),  # d/dx 1/x = -1/x^2: -inf from both sides
    ("1/x", {"x": -0.0}, -INF, {"x": -INF}),
    ("x^-1", {"x": 0.0}, INF, {"x": -INF}),  # the same function written as a power
    ("x/y", {"x": 1, "y": 0.0}, INF, {"x": INF, "y": -INF}),  # 1/y; -x/y^2
    ("x/y", {"x": -1, "y": 0.0}, -INF, {"x": INF, "y": INF}),
    ("x/y", {"x": 0, "y": 0.0}, NAN, {"x": NAN, "y": NAN}),  # 0/0 is undefined, so are its slopes
    ("log(x)", {"x": -1}, NAN, {"x": NAN}),  # log is undefined at -1, so is its slope
    ("log(x)", {"x": 0}, -INF, {"x": INF}),  # 1/x from the side where log is defined
    ("log2(x)", {"x": 0}, -INF, {"x": INF}),
    ("log10(x)", {"x": -1}, NAN, {"x": NAN}),
    ("sqrt(x)", {"x": -1}, NAN, {"x": NAN}),
    ("asin(x)", {"x": 2}, NAN, {"x": NAN}),
    ("acos(x)", {"x": -2}, NAN, {"x": NAN}),
    ("atanh(x)", {"x": 2}, NAN, {"x": NAN}),
    ("atanh(x)", {"x": -1}, -INF, {"x": INF}),  # 1/(1-x^2) > 0 inside (-1, 1)
    ("acosh(x)", {"x": 0.5}, NAN, {"x": NAN}),
    ("x^0.5", {"x": -1}, NAN, {"x": NAN}),
    ("exp(x) - exp(x)", {"x": 1000}, NAN, {"x": NAN}),  # inf - inf
    # log(-1)*0 is nan, and the slope into log is too, not 0 (the formula of *0); y's own path is defined
    ("log(x) * 0 + y", {"x": -1, "y": 2}, NAN, {"x": NAN, "y": 1.0}),
    ("log(a) + exp(b)", {"a": -1, "b": 1000}, NAN, {"a": NAN, "b": INF}),
]


def same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or got == want


@pytest.mark.parametrize(("source", "bindings", "value", "gradients"), NONFINITE, ids=[c[0] for c in NONFINITE])
def test_nonfinite_values_and_gradients_have_the_right_sign(source: str, bindings: dict, value: float, gradients: dict) -> None:
    result = compile_program(source).run(bindings, strict=False)
    assert same(result.value, value), result
    assert result.gradients.keys() == gradients.keys()
    for name, want in gradients.items():
        assert same(result.gradients[name], want), (name, result)


def test_the_cli_prints_the_signed_gradient() -> None:
    result = CliRunner().invoke(main, ["eval", "1/x", "x=0", "--allow-nonfinite", "--json"])
    assert result.exit_code == 0
    assert '"gradients": {"x": "-inf"}' in result.output


@pytest.mark.parametrize(("source", "bindings", "value", "gradients"), NONFINITE, ids=[c[0] for c in NONFINITE])
def test_the_default_still_refuses_every_nonfinite_case(source: str, bindings: dict, value: float, gradients: dict) -> None:
    with pytest.raises(AutodiffError) as info:
        compile_program(source).run(bindings)
    assert info.value.kind in ("domain", "overflow")
