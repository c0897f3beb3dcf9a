"""min, max, relu and abs: nan in, nan out, and the order of min's and max's operands never matters.

The reference for values is IEEE 754-2019 minimum/maximum written out here
from the standard (nan if either is nan; -0 below +0), not autodiff's code;
for gradients, the documented rule (1 to the smaller, ½ and ½ at a tie) and
nan wherever an argument is nan. Programs run through the CLI and Program.run
with nonfinite numbers allowed, where the bug was: min(y, sqrt(x)) at x = -1
gave y and a gradient of ½ for y.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from autodiff_cli.cli import main
from autodiff_cli.hessian import hessian
from autodiff_cli.program import compile_program

NAN = math.nan


def ieee_minimum(x: float, y: float) -> float:
    if math.isnan(x) or math.isnan(y):
        return NAN
    if x == y == 0.0:
        return -0.0 if math.copysign(1, x) < 0 or math.copysign(1, y) < 0 else 0.0
    return x if x < y else y


def ieee_maximum(x: float, y: float) -> float:
    if math.isnan(x) or math.isnan(y):
        return NAN
    if x == y == 0.0:
        return 0.0 if math.copysign(1, x) > 0 or math.copysign(1, y) > 0 else -0.0
    return x if x > y else y


def same(a: float, b: float) -> bool:
    """Equal as IEEE bit patterns care: nan is nan, and -0 is not +0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def run(program: str, **bindings: float) -> tuple[float, dict[str, float]]:
    result = compile_program(program).run(bindings, strict=False)
    return result.value, dict(result.gradients)


FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, -0.0, 1.0, -1.0]))


@given(FLOATS, FLOATS)
def test_min_and_max_are_ieee_and_symmetric(a: float, b: float) -> None:
    for name, reference in (("min", ieee_minimum), ("max", ieee_maximum)):
        one, _ = run(f"{name}(a, b)", a=a, b=b)
        other, _ = run(f"{name}(b, a)", a=a, b=b)
        assert same(one, reference(a, b)) and same(other, reference(a, b)), (name, a, b)


@given(FLOATS, FLOATS)
def test_the_gradient_split_does_not_depend_on_the_order(a: float, b: float) -> None:
    lower = {"a": 1.0, "b": 0.0} if a < b else {"a": 0.0, "b": 1.0} if b < a else {"a": 0.5, "b": 0.5}
    upper = {"a": 1.0 - lower["a"], "b": 1.0 - lower["b"]}
    for name, expected in (("min", lower), ("max", upper)):
        for program in (f"{name}(a, b)", f"{name}(b, a)"):
            assert run(program, a=a, b=b)[1] == expected, (program, a, b)


@pytest.mark.parametrize("name", ["min", "max"])
@pytest.mark.parametrize("y", [1.0, -1.0, 0.0, -0.0, 1e308, -1e308, 5e-324])
@pytest.mark.parametrize("nan_first", [True, False])
def test_nan_in_nan_out_whatever_the_order(name: str, y: float, nan_first: bool) -> None:
    program = f"{name}(sqrt(x), y)" if nan_first else f"{name}(y, sqrt(x))"
    value, grads = run(program, x=-1.0, y=y)
    assert math.isnan(value)
    assert math.isnan(grads["x"]) and math.isnan(grads["y"])


@pytest.mark.parametrize("program", ["relu(sqrt(x))", "abs(sqrt(x))", "relu(log(x))*y", "min(relu(sqrt(x)), abs(y))"])
def test_relu_and_abs_of_nan_are_nan(program: str) -> None:
    value, grads = run(program, x=-1.0, y=2.0)
    assert math.isnan(value) and all(math.isnan(g) for g in grads.values()), grads


@pytest.mark.parametrize("x", [0.0, -0.0])
def test_min_of_x_and_minus_x_is_minus_zero_either_way(x: float) -> None:
    for program, sign in (("min(x, -x)", -1), ("min(-x, x)", -1), ("max(x, -x)", 1), ("max(-x, x)", 1)):
        value, grads = run(program, x=x)
        assert value == 0.0 and math.copysign(1, value) == sign, program
        assert grads == {"x": 0.0}  # ½*1 + ½*(-1)


def test_the_cli_reports_nan_for_min_with_nan_in_any_order() -> None:
    for program in ("min(y, sqrt(x))", "min(sqrt(x), y)", "max(y, sqrt(x))", "max(sqrt(x), y)"):
        out = CliRunner().invoke(main, ["eval", program, "x=-1", "y=1", "--allow-nonfinite", "--json"]).output
        record = json.loads(out)
        assert record["value"] == "nan" and set(record["gradients"].values()) == {"nan"}, (program, record)


def test_without_allow_nonfinite_min_of_nan_is_an_error() -> None:
    result = CliRunner().invoke(main, ["eval", "min(y, sqrt(x))", "x=-1", "y=1", "--json"])
    assert result.exit_code == 1 and "domain error" in result.output


def test_second_derivatives_at_a_signed_zero_tie_do_not_depend_on_the_order() -> None:
    one = hessian("min(a, b)*a", {"a": 0.0, "b": -0.0})
    other = hessian("min(b, a)*a", {"a": 0.0, "b": -0.0})
    assert one[0].gradients == other[0].gradients
    assert one[1] == other[1]
