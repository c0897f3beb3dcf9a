"""Second derivatives: backward(create_graph=True), hessian(), and `autodiff eval --hessian`.

References are SymPy (exact differentiation, evaluated with 30 digits, or with
mpmath at 1,200 digits where the textbook formulas cancel) and the conventions
of LANGUAGE.md at kinks, worked by hand.
"""

from __future__ import annotations

import io
import json
import math
import pathlib

import mpmath
import pytest
import sympy as sp
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from rich.console import Console

from autodiff_cli.cli import main
from autodiff_cli.engine import Value
from autodiff_cli.errors import AutodiffError
from autodiff_cli.hessian import hessian, program_hessian
from autodiff_cli.program import compile_program, evaluate
from autodiff_cli.render.hessian import render_hessian

from .sympy_programs import SYMBOLS, at, close, close_all, evaluates, near_kink, points, programs

CASES = pathlib.Path(__file__).parent / "data" / "cases.jsonl"
X = sp.Symbol("x", real=True)
Y = sp.Symbol("y", real=True)


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs(), points())
def test_hessian_matches_sympy_on_random_programs(case, point):
    # Ask autodiff first: SymPy can exhaust memory on a power of a huge power that overflows anyway.
    assume(evaluates(case.text, point))
    value = at(case.expr, point)
    assume(value is not None and abs(value) < 1e8)
    assume(not near_kink(case, point))
    _, h = hessian(case.text, point)
    want = {(a, b): at(sp.diff(case.expr, SYMBOLS[a], SYMBOLS[b]), point) for a in h for b in h}
    assume(all(w is not None and abs(w) < 1e12 for w in want.values()))
    got = {(a, b): h[a][b] for a in h for b in h}
    assert close_all(got, want), (case.text, point, got, want)


# --- one function at a time, across its whole domain ---------------------------------------

_FUNCTIONS = {
    "exp": sp.exp(X),
    "log": sp.log(X),
    "log2": sp.log(X) / sp.log(2),
    "log10": sp.log(X) / sp.log(10),
    "sqrt": sp.sqrt(X),
    "sin": sp.sin(X),
    "cos": sp.cos(X),
    "tan": sp.tan(X),
    "atan": sp.atan(X),
    "asin": sp.asin(X),
    "acos": sp.acos(X),
    "sinh": sp.sinh(X),
    "cosh": sp.cosh(X),
    "tanh": sp.tanh(X),
    "asinh": sp.asinh(X),
    "acosh": sp.acosh(X),
    "atanh": sp.atanh(X),
    "sigmoid": 1 / (1 + sp.exp(-X)),
    "softplus": sp.log(1 + sp.exp(X)),
    "erf": sp.erf(X),
}
_POINTS = (
    -1e200,
    -800.0,
    -30.0,
    -20.0,
    -3.0,
    -0.999999,
    -0.75,
    -0.5,
    -1e-8,
    1e-300,
    1e-8,
    0.3,
    0.9,
    0.999999,
    1.000001,
    2.0,
    20.0,
    30.0,
    100.0,
    700.0,
    800.0,
    1e10,
    1e160,
    1e200,
)


def _exact(expr: sp.Expr, **values: float) -> float | None:
    """``expr`` at ``values`` with 1,200 digits: enough that even 1 - tanh(800)^2 keeps its digits.

    Only for points away from kinks, where a Dirac delta is 0 and a step is the sign's.
    """
    expr = expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    expr = expr.replace(sp.Heaviside, lambda u, *rest: (sp.sign(u) + 1) / 2)
    f = sp.lambdify([sp.Symbol(n, real=True) for n in values], expr, modules="mpmath")
    with mpmath.workdps(1200):
        try:
            v = mpmath.mpmathify(f(*(mpmath.mpf(x) for x in values.values())))
        except (ValueError, ZeroDivisionError, TypeError):
            return None
        if not isinstance(v, mpmath.mpf) or not mpmath.isfinite(v):
            return None
        return float(v)


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_second_derivative_of_each_function_is_accurate_across_its_domain(name):
    second = sp.diff(_FUNCTIONS[name], X, 2)
    checked = 0
    for x in _POINTS:
        if not evaluates(f"{name}(x)", {"x": x}):
            continue
        want = _exact(second, x=x)
        if want is None or abs(want) > 1e300:
            continue
        got = hessian(f"{name}(x)", {"x": x})[1]["x"]["x"]
        # A few units in the last place; results in the subnormal range keep fewer digits.
        assert close(got, want, rel=1e-13, absolute=1e-305), (name, x, got, want)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("program", "expr", "point"),
    [
        ("x^y", X**Y, {"x": 1.7, "y": -2.3}),
        ("x^y", X**Y, {"x": 0.2, "y": 3.5}),
        ("x^3", X**3, {"x": -1.5}),
        ("x/y", X / Y, {"x": 2.5, "y": -0.3}),
        ("atan2(y, x)", sp.atan2(Y, X), {"x": -1.2, "y": 0.7}),
        ("atan2(y, x)", sp.atan2(Y, X), {"x": 1e150, "y": 3e150}),
        ("min(x, y)*x*y", sp.Min(X, Y) * X * Y, {"x": 0.5, "y": -2.0}),
        ("max(x, y)^2", sp.Max(X, Y) ** 2, {"x": 0.5, "y": -2.0}),
        ("x*y*exp(x - y)", X * Y * sp.exp(X - Y), {"x": 0.1, "y": 0.4}),
    ],
)
def test_second_derivatives_of_two_arguments(program, expr, point):
    _, h = hessian(program, point)
    for a in point:
        for b in point:
            want = _exact(sp.diff(expr, sp.Symbol(a, real=True), sp.Symbol(b, real=True)), **point)
            assert close(h[a][b], want, rel=1e-13, absolute=1e-300), (a, b, h[a][b], want)


# --- kinks follow LANGUAGE.md: relu'(0) = abs'(0) = 0, a tie splits 1/2 and 1/2 ----------


@pytest.mark.parametrize(
    ("program", "point", "expected"),
    [
        ("relu(x)", {"x": 0.0}, {"x": {"x": 0.0}}),
        ("relu(x)", {"x": 2.0}, {"x": {"x": 0.0}}),
        ("abs(x)", {"x": 0.0}, {"x": {"x": 0.0}}),
        # d/dx x*|x| = |x| + x*sign(x); again: 2*sign(x), and sign(0) = 0
        ("x*abs(x)", {"x": 0.0}, {"x": {"x": 0.0}}),
        ("x*abs(x)", {"x": -3.0}, {"x": {"x": -2.0}}),
        ("x*relu(x)", {"x": 0.0}, {"x": {"x": 0.0}}),
        ("x*relu(x)", {"x": 0.5}, {"x": {"x": 2.0}}),
        # d/da min(a,b)*a = s*a + min(a,b) with s = 1/2 at a tie; d/da again: s + s; d/db: s
        ("min(a, b)*a", {"a": 1.0, "b": 1.0}, {"a": {"a": 1.0, "b": 0.5}, "b": {"a": 0.5, "b": 0.0}}),
        ("max(a, b)*a", {"a": 1.0, "b": 1.0}, {"a": {"a": 1.0, "b": 0.5}, "b": {"a": 0.5, "b": 0.0}}),
        ("max(a, b)*a", {"a": 1.0, "b": 3.0}, {"a": {"a": 0.0, "b": 1.0}, "b": {"a": 1.0, "b": 0.0}}),
        ("max(a, b)^2", {"a": 2.0, "b": 2.0}, {"a": {"a": 0.5, "b": 0.5}, "b": {"a": 0.5, "b": 0.5}}),
        ("x^0", {"x": 0.0}, {"x": {"x": 0.0}}),
        ("x^2", {"x": 0.0}, {"x": {"x": 2.0}}),
    ],
)
def test_kinks_follow_the_first_derivative_conventions(program, point, expected):
    assert hessian(program, point)[1] == expected


@pytest.mark.parametrize(
    ("program", "point", "kind", "words"),
    [
        ("x^1.5", {"x": 0.0}, "domain", "second derivative of '^' at (0, 1.5) is infinite"),
        ("sqrt(x)", {"x": 1e-300}, "overflow", "second derivative of sqrt(1e-300) overflows"),
        ("acosh(x)", {"x": 1.0}, "domain", "derivative of acosh(1) is infinite"),
        ("sqrt(x)", {"x": 0.0}, "domain", "derivative of sqrt(0) is infinite"),
        # The gradient needs no derivative of sqrt(y) here (relu(x) is 0), the Hessian does.
        ("relu(x)*sqrt(y)", {"x": -1.0, "y": 0.0}, "domain", "sqrt(0)"),
    ],
)
def test_second_derivatives_that_do_not_exist_are_errors(program, point, kind, words):
    with pytest.raises(AutodiffError) as caught:
        hessian(program, point)
    assert caught.value.kind == kind
    assert words in caught.value.message
    assert caught.value.line == 1


def test_an_error_points_at_the_operation():
    with pytest.raises(AutodiffError) as caught:
        hessian("y = 2*x\nz = y^1.5 + x", {"x": 0.0})
    assert (caught.value.line, caught.value.column) == (2, 6)


def test_the_first_derivatives_are_those_of_evaluate_on_the_conformance_corpus():
    checked = 0
    for line in CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if "error" in case:
            continue
        try:
            first = evaluate(case["expr"], case["vars"])
        except AutodiffError:
            continue
        result, h = hessian(case["expr"], case["vars"])
        assert result == first
        assert list(h) == list(first.gradients)
        assert all(math.isfinite(x) for row in h.values() for x in row.values())
        checked += 1
    assert checked > 300


# --- the engine API --------------------------------------------------------------------------


def test_backward_create_graph_gives_gradients_that_differentiate_again():
    a, b = Value(0.3), Value(-0.7)
    f = (a * b + a).tanh() * b.sin()
    f.backward(create_graph=True)
    ga, gb = a.grad, b.grad
    assert isinstance(ga, Value) and isinstance(gb, Value)
    A, B = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    F = sp.tanh(A * B + A) * sp.sin(B)
    point = {"a": 0.3, "b": -0.7}
    assert close(ga.data, _exact(sp.diff(F, A), **point), rel=1e-14)
    assert close(gb.data, _exact(sp.diff(F, B), **point), rel=1e-14)
    ga.backward()
    assert close(a.grad, _exact(sp.diff(F, A, A), **point), rel=1e-13)
    assert close(b.grad, _exact(sp.diff(F, A, B), **point), rel=1e-13)


def test_third_derivative_through_the_api():
    x = Value(0.8)
    y = x.sin() * x.exp()
    y.backward(create_graph=True)
    x.grad.backward(create_graph=True)
    x.grad.backward()
    assert close(x.grad, _exact(sp.diff(sp.sin(X) * sp.exp(X), X, 3), x=0.8), rel=1e-13)


def test_create_graph_gives_the_same_first_derivatives_as_backward():
    x, y = Value(1.3), Value(-0.4)
    f = (x * y).atan() + x.sigmoid() * y.tanh() - (x / (y * y + 1)).log() + x.atan2(y) + x.erf().max(y)
    f.backward()
    floats = (x.grad, y.grad)
    f.backward(create_graph=True)
    assert (x.grad.data, y.grad.data) == floats


# --- the command line --------------------------------------------------------------------------


def test_eval_hessian_json():
    result = CliRunner().invoke(main, ["eval", "x^3*y", "x=2", "y=5", "--hessian", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["gradients"] == {"x": 60.0, "y": 8.0}
    assert record["hessian"] == {"x": {"x": 60.0, "y": 12.0}, "y": {"x": 12.0, "y": 0.0}}


def test_eval_hessian_text_shows_a_table_under_the_first_derivatives():
    result = CliRunner().invoke(main, ["eval", "x^3*y + sin(x*y)", "x=0.5", "y=2", "--hessian", "--no-dag", "--width", "60"])
    assert result.exit_code == 0, result.output
    # d/dx = 3x^2 y + y cos(xy) = 2.581, d/dy = x^3 + x cos(xy) = 0.3952; the Hessian must not overwrite them
    assert result.output == (
        f"x^3*y + sin(x*y) = {0.5**3 * 2 + math.sin(1.0)!r}\n"
        "\n"
        "input   value   ∂result/∂input\n"
        "──────────────────────────────\n"
        "x         0.5            2.581\n"
        "y           2           0.3952\n"
        "\n"
        "hessian: ∂²result/∂row ∂column\n"
        "         ∂/∂x      ∂/∂y\n"
        "───────────────────────\n"
        "∂/∂x    2.634    0.4488\n"
        "∂/∂y   0.4488   -0.2104\n"
    )


def test_render_hessian_golden():
    console = Console(width=80, color_system=None, file=io.StringIO())
    console.print(render_hessian({"a": {"a": 1.0, "b": -0.5}, "b": {"a": -0.5, "b": 2.0e-300}}, digits=4, ascii=True))
    assert console.file.getvalue() == (
        "hessian: d2 result / d row d column\n"
        "       d/da     d/db\n"
        "--------------------\n"
        "d/da      1     -0.5\n"
        "d/db   -0.5   2e-300\n"
    )


def test_the_program_keeps_its_first_derivatives():
    program = compile_program("x^3*y")
    first = program.run({"x": 2.0, "y": 5.0})
    program_hessian(program, {"x": 2.0, "y": 5.0})
    assert {n: program.graph.inputs[n].grad for n in "xy"} == first.gradients == {"x": 60.0, "y": 8.0}


def test_eval_hessian_error_exit_status():
    result = CliRunner().invoke(main, ["eval", "x^1.5", "x=0", "--hessian"])
    assert result.exit_code == 1
    assert "domain error" in result.output


# --- bounded work: a table computes what it shows, --json refuses what it cannot finish ---------


def _product(n: int) -> str:
    return "*".join(f"x{i}" for i in range(n))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("n", [3000, 6000])
def test_a_table_of_a_huge_hessian_computes_only_its_rows(n):
    point = {f"x{i}": 1.0 + (i % 7) / 1000 for i in range(n)}
    _, rows = hessian(_product(n), point, rows=12)
    assert list(rows) == [f"x{i}" for i in range(12)]
    total = math.prod(point.values())
    for a in ("x0", "x5", "x11"):
        for b in ("x1", "x7", f"x{n - 1}"):
            want = 0.0 if a == b else total / point[a] / point[b]  # the product of the others
            assert rows[a][b] == pytest.approx(want, rel=1e-11)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "program",
    [_product(6000), " + ".join(f"x{i}*x{i + 1}" for i in range(4000)), "p = " + _product(2500) + "; sin(p)*p"],
)
def test_a_whole_hessian_past_the_limit_is_a_limit_error(program):
    import time

    start = time.perf_counter()
    with pytest.raises(AutodiffError) as err:
        hessian(program, {name: 1.0 for name in compile_program(program).graph.inputs})
    assert err.value.kind == "limit" and "steps (the limit)" in err.value.message
    assert time.perf_counter() - start < 30


def test_a_whole_hessian_below_the_limit_is_complete():
    n = 300
    point = {f"x{i}": 1.0 + i / 1000 for i in range(n)}
    _, rows = hessian(_product(n), point)
    assert len(rows) == n and all(len(row) == n for row in rows.values())
    total = math.prod(point.values())
    assert rows["x299"]["x3"] == pytest.approx(total / point["x299"] / point["x3"], rel=1e-11)


@pytest.mark.timeout(60)
def test_eval_hessian_of_thousands_of_inputs_shows_a_dozen_quickly():
    n = 4000
    args = ["eval", "--hessian", "--no-dag", _product(n), *(f"x{i}=1" for i in range(n))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "the first 12 of 4,000 inputs shown" in result.output
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 1 and "limit error" in result.output, result.output
