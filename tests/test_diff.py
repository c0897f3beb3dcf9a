"""`autodiff diff`: derivatives printed as programs, checked by running them.

Every printed program is parsed and evaluated by autodiff itself (which also
differentiates it, so its own gradient must exist) and compared with SymPy's
exact derivative; at kinks, with the conventions of LANGUAGE.md.
"""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings

from autodiff_cli.cli import main
from autodiff_cli.derivatives import BELOW_NEAR_NUMBER, SPELLINGS, derivatives
from autodiff_cli.errors import AutodiffError
from autodiff_cli.ops import FUNCTIONS, INTERNAL
from autodiff_cli.program import compile_program, evaluate

from .sympy_programs import SYMBOLS, at, close, close_all, evaluates, near_kink, points, programs

EXAMPLES = 60
TINY = 5e-324
HUGE = 1.7976931348623157e308


def _first(program: str, name: str) -> str:
    return derivatives(program, [name]).first[name].text()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs(), points())
def test_printed_derivatives_evaluate_to_sympys(case, point):
    # Ask autodiff first: SymPy can exhaust memory on a power of a huge power that overflows anyway.
    assume(evaluates(case.text, point))
    value = at(case.expr, point)
    assume(value is not None and abs(value) < 1e8)
    assume(not near_kink(case, point))
    found = derivatives(case.text)
    want = {name: at(sp.diff(case.expr, SYMBOLS[name]), point) for name in found.first}
    assume(all(w is not None and abs(w) < 1e12 for w in want.values()))
    # Both forms must run: with comments, one statement a line; and on one line.
    got = {name: evaluate(printed.text(), point).value for name, printed in found.first.items()}
    assert close_all(got, want), (case.text, point, got, want)
    for name, printed in found.first.items():
        assert evaluate(printed.text("; "), point).value == got[name]


@settings(
    max_examples=max(10, EXAMPLES // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(programs(max_leaves=6), points())
def test_printed_second_derivatives_evaluate_to_sympys(case, point):
    # Ask autodiff first: SymPy can exhaust memory on a power of a huge power that overflows anyway.
    assume(evaluates(case.text, point))
    value = at(case.expr, point)
    assume(value is not None and abs(value) < 1e8)
    assume(not near_kink(case, point))
    found = derivatives(case.text, order=2)
    assert found.second is not None
    want = {(a, b): at(sp.diff(case.expr, SYMBOLS[a], SYMBOLS[b]), point) for a in found.second for b in found.second}
    assume(all(w is not None and abs(w) < 1e12 for w in want.values()))
    got = {(a, b): evaluate(p.text(), point).value for a, row in found.second.items() for b, p in row.items()}
    assert close_all(got, want), (case.text, point, got, want)


# --- internal operations: each spelling is the same number, with a slope that exists ------

_EXTREMES = (
    -HUGE,
    -1e200,
    -800.0,
    -711.0,
    -30.0,
    -1.5,
    -1.0,
    -0.999,
    -1e-8,
    -1e-162,
    -1e-300,
    -TINY,
    0.0,
    TINY,
    1e-300,
    1e-162,
    2e-162,
    1e-8,
    0.5,
    0.999,
    1.0,
    1.000001,
    2.0,
    27.0,
    30.0,
    710.0,
    711.0,
    1e154,
    1e200,
    HUGE,
)


def _spelled(op, **point: float) -> float:
    """The value of ``op``'s spelling; its gradient may overflow near a singularity, like 1/x's."""
    return compile_program(op.spelling).run(point, gradients=False).value


@pytest.mark.parametrize("op", [op for op in INTERNAL if op.arity == 1], ids=lambda op: op.name)
def test_spelling_of_each_internal_operation_gives_its_number(op):
    checked = 0
    for x in _EXTREMES:
        want = op.forward(x) if op.domain is None or op.domain(x) is None else math.nan
        if not math.isfinite(want):
            continue
        got = _spelled(op, x=x)
        if op.name == "step":
            assert got == want, (x, got)
            assert evaluate(op.spelling, {"x": x}).gradients == {"x": 0.0}  # flat, even at 0 and 5e-324
        else:
            # sech(asinh(x)) carries asinh's rounding, an ulp of up to ~710, into e^-u: 1e-13 at worst
            rel = 2e-13 if "asinh" in (op.spelling or "") else 1e-14
            assert close(got, want, rel=rel, absolute=1e-300), (op.name, x, got, want)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("op", [op for op in INTERNAL if op.arity == 2], ids=lambda op: op.name)
def test_spelling_of_each_internal_operation_of_two_arguments(op):
    values = (-HUGE, -1e200, -2.0, -1.0, -TINY, 0.0, TINY, 2 * TINY, 3 * TINY, 1e-300, 0.5, 1.0, 1.5, 1e200, HUGE)
    for x in values:
        for y in values:
            want = op.forward(x, y)
            if not math.isfinite(want):  # datan2 at (0, 0), or beyond float64 near it
                continue
            got = _spelled(op, x=x, y=y)
            if op.name == "below":
                assert got == want, (x, y, got, want)
                assert evaluate(op.spelling, {"x": x, "y": y}).gradients == {"x": 0.0, "y": 0.0}
            else:
                assert close(got, want, rel=1e-14), (op.name, x, y, got, want)


@pytest.mark.parametrize("spelling", [SPELLINGS["below"], BELOW_NEAR_NUMBER])
def test_the_printed_spellings_of_min_and_max_shares_are_exact_and_flat(spelling):
    values = (-HUGE, -1e200, -2.0, -1.0, -TINY, 0.0, TINY, 2 * TINY, 1e-300, 0.5, 1.0, 1.5, 1e200, HUGE)
    for x in values:
        for y in values:
            if spelling == BELOW_NEAR_NUMBER and min(abs(x), abs(y)) > 1.0:
                continue  # used only when one side is a number of size at most 1
            want = 1.0 if x < y else (0.5 if x == y else 0.0)
            run = evaluate(spelling, {"x": x, "y": y})
            assert run.value == want, (spelling, x, y, run.value)
            assert run.gradients == {"x": 0.0, "y": 0.0}


def test_internal_operations_cannot_be_called_from_programs():
    for op in INTERNAL:
        assert op.name not in FUNCTIONS
        with pytest.raises(AutodiffError) as caught:
            evaluate(f"{op.name}({', '.join('x' * op.arity)})", {"x": 1.0})
        assert caught.value.kind == "name"


# --- kinks: LANGUAGE.md's conventions, also at the extremes of float64 -----------------------


@pytest.mark.parametrize(
    ("program", "name", "point", "expected"),
    [
        ("relu(x)", "x", {"x": 0.0}, 0.0),
        ("relu(x)", "x", {"x": TINY}, 1.0),
        ("relu(x)", "x", {"x": -TINY}, 0.0),
        ("relu(x)", "x", {"x": HUGE}, 1.0),
        ("relu(x)", "x", {"x": -HUGE}, 0.0),
        ("abs(x)", "x", {"x": 0.0}, 0.0),
        ("abs(x)", "x", {"x": TINY}, 1.0),
        ("abs(x)", "x", {"x": -HUGE}, -1.0),
        ("min(a, b)", "a", {"a": 0.5, "b": 0.5}, 0.5),
        ("min(a, b)", "b", {"a": 0.5, "b": 0.5}, 0.5),
        ("min(a, b)", "a", {"a": -HUGE, "b": HUGE}, 1.0),
        ("min(a, b)", "a", {"a": HUGE, "b": -HUGE}, 0.0),
        ("min(a, b)", "a", {"a": TINY, "b": 0.0}, 0.0),
        ("min(a, b)", "a", {"a": 2 * TINY, "b": 3 * TINY}, 1.0),
        ("max(a, b)", "a", {"a": 3 * TINY, "b": 2 * TINY}, 1.0),
        ("max(a, b)", "a", {"a": 1e300, "b": 1e300}, 0.5),
        ("max(a, b)", "b", {"a": -HUGE, "b": HUGE}, 1.0),
        ("max(x, 0)", "x", {"x": 0.0}, 0.5),
        ("max(x, 0)", "x", {"x": -TINY}, 0.0),
        ("min(x, 0.5)", "x", {"x": 0.5}, 0.5),
        ("min(x, 0.5)", "x", {"x": HUGE}, 0.0),
        ("relu(x)*x", "x", {"x": 0.0}, 0.0),
        ("abs(x)^3", "x", {"x": -2.0}, -12.0),
    ],
)
def test_printed_derivatives_follow_the_conventions_at_kinks(program, name, point, expected):
    assert evaluate(_first(program, name), point).value == expected


def test_second_derivatives_of_non_smooth_functions_are_zero():
    for program in ("relu(x)", "abs(x)", "min(x, y)", "max(x, y)"):
        found = derivatives(program, order=2)
        assert found.second is not None
        assert {p.text() for row in found.second.values() for p in row.values()} == {"0"}


# --- what the printed programs look like -------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "name", "printed"),
    [
        ("x*1 + 0*y + x^2", "x", "2*x + 1"),  # x*1, 0*y, x^1 and the constant 2-1 are gone
        ("x*1 + 0*y + x^2", "y", "0"),
        ("a - -b", "b", "1"),
        ("x^3", "x", "3*x^2"),
        ("-x^2", "x", "-2*x"),  # -x^2 is -(x^2)
        ("(-x)^3", "x", "-3*x^2"),
        ("x^-(a+b)", "x", "t1 = a + b\n-t1*x^-(t1 + 1)"),
        ("1/x", "x", "-1/x^2"),
        ("sqrt(x)", "x", "1/(2*sqrt(x))"),
        ("pi*x", "x", "pi"),
        ("2*3*x", "x", "6"),
        ("a/b/c", "a", "1/(b*c)"),
        ("sigmoid(x)", "x", "sigmoid(x)*sigmoid(-x)"),
        ("log(x)/x", "x", "1/x^2 - log(x)/x^2"),
        ("z = a*b; tanh(z + c)", "c", "z = a*b\nsech(c + z)^2"),
        # The input a is not the a assigned later: that name is left alone.
        ("a = a*2; a*b", "b", "2*a"),
        ("relu(x)", "x", "step(x)"),
        ("abs(x)", "x", "sign(x)"),
        ("tanh(x)", "x", "sech(x)^2"),
        # The examples of issue 22: like terms and constant factors collected, signs in front.
        ("x^3 + 2*x^2", "x", "3*x^2 + 4*x"),
        ("exp(-x^2/2)", "x", "-x*exp(-x^2/2)"),
        ("x*x", "x", "2*x"),
        ("(x^2 + y^2)^2", "x", "4*x*(x^2 + y^2)"),
        ("sin(x)*cos(x)", "x", "cos(2*x)"),
        ("exp(log(x) + y)", "x", "exp(y)"),
    ],
)
def test_printed_forms(program, name, printed):
    assert _first(program, name) == printed


def test_a_program_that_reads_no_input_has_no_derivatives():
    assert derivatives("2*pi").first == {}


def test_wrt_names_an_input_or_fails():
    assert derivatives("x*y", ["y"]).first["y"].text() == "x"
    assert derivatives("pi*x", ["pi"]).first["pi"].text() == "x"
    with pytest.raises(AutodiffError) as caught:
        derivatives("x*y", ["z"])
    assert caught.value.kind == "name"
    assert "z is not an input" in caught.value.message


@pytest.mark.slow
def test_a_deep_program_prints_without_recursion():
    program = " + ".join(f"x^{i % 5 + 1}" for i in range(20000))
    printed = derivatives(program).first["x"]
    assert evaluate(printed.text("; "), {"x": 1.0}).value == pytest.approx(sum(i % 5 + 1 for i in range(20000)))


# --- the command line -----------------------------------------------------------------------


def test_diff_command_text():
    result = CliRunner().invoke(main, ["diff", "x^3*y"])
    assert result.exit_code == 0, result.output
    assert result.output == "# d/dx\n3*x^2*y\n# d/dy\nx^3\n"


def test_diff_command_json():
    result = CliRunner().invoke(main, ["diff", "z = log(x); z/x", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["expr"] == "z = log(x); z/x"
    assert record["order"] == 1
    printed = record["derivatives"]["x"]
    assert evaluate(printed, {"x": 3.0}).value == pytest.approx((1 - math.log(3.0)) / 9.0, rel=1e-15)


def test_diff_command_order_2_json():
    result = CliRunner().invoke(main, ["diff", "x^3*y", "--order", "2", "--json", "--wrt", "x", "--wrt", "y"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["order"] == 2
    second = record["derivatives"]
    assert set(second) == {"x"} | {"y"} and set(second["x"]) == {"x", "y"}
    at_point = {a: {b: evaluate(p, {"x": 2.0, "y": 5.0}).value for b, p in row.items()} for a, row in second.items()}
    assert at_point == {"x": {"x": 60.0, "y": 12.0}, "y": {"x": 12.0, "y": 0.0}}


def test_diff_command_reads_standard_input_and_programs_starting_with_minus():
    result = CliRunner().invoke(main, ["diff", "-"], input="-x^2\n")
    assert result.exit_code == 0, result.output
    assert result.output == "# d/dx\n-2*x\n"
    result = CliRunner().invoke(main, ["diff", "-x^2"])
    assert result.exit_code == 0, result.output
    assert result.output == "# d/dx\n-2*x\n"


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["diff", "x*y", "--wrt", "q"], 2, "q is not an input"),
        (["diff", "x*"], 2, "syntax error"),
        (["diff", "x + 1/0"], 1, "division by zero"),
        (["diff", "x", "--order", "3"], 2, "--order"),
        (["diff", "x", "--bogus"], 2, "--bogus"),
    ],
)
def test_diff_command_failures(args, status, words):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == status, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_diff_command_has_help():
    result = CliRunner().invoke(main, ["diff", "--help"])
    assert result.exit_code == 0
    assert "--wrt" in result.output and "--order" in result.output


# --- bounded work: derivatives far larger than their program stop at a limit -------------------


def _product(n: int) -> str:
    return "*".join(f"x{i}" for i in range(n))


def _sum_of_products(n: int) -> str:
    return " + ".join(f"x{i}*x{(i + 1) % n}*x{(i + 2) % n}" for i in range(n))


def _shared_chain(n: int) -> str:
    # p is a product of every input, used twice at every link: shared, not copied.
    lines = [f"p = {_product(n)}", "t = p"]
    lines += ["t = t*p + sin(t)"] * 6
    return "; ".join(lines)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("shape", "n", "order"), [(_product, 300, 2), (_product, 150, 2), (_product, 2000, 1), (_shared_chain, 400, 2)]
)
def test_derivatives_that_explode_stop_at_the_limit(shape, n, order):
    import time

    start = time.perf_counter()
    with pytest.raises(AutodiffError) as err:
        derivatives(shape(n), order=order)
    assert err.value.kind == "limit" and "operations (the limit" in err.value.message
    # The limit is charged before the work: a few seconds here, minutes without it.
    assert time.perf_counter() - start < 30


def _second_by_finite_differences(source: str, point: dict[str, float], a: str, b: str) -> float:
    """d/db of autodiff's backpropagated d/da, by a central difference: no printed program involved."""
    h = 1e-5 * max(1.0, abs(point[b]))
    up = evaluate(source, {**point, b: point[b] + h}).gradients[a]
    down = evaluate(source, {**point, b: point[b] - h}).gradients[a]
    return (up - down) / (2 * h)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("shape", "n"), [(_product, 9), (_sum_of_products, 7), (_shared_chain, 4)])
def test_second_derivatives_below_the_limit_are_right_and_each_pair_is_printed_once(shape, n):
    source = shape(n)
    names = [f"x{i}" for i in range(n)]
    point = {name: 0.9 + 0.05 * i for i, name in enumerate(names)}
    found = derivatives(source, order=2)
    assert found.second is not None
    for i, a in enumerate(names):
        for b in names[i:]:
            printed = found.second[a][b]
            assert found.second[b][a] is printed
            want = _second_by_finite_differences(source, point, a, b)
            assert evaluate(printed.text(), point).value == pytest.approx(want, rel=1e-6, abs=1e-6), (source, a, b)
    text = CliRunner().invoke(main, ["diff", "--order", "2", source]).output
    assert text.count("# d") == n * (n + 1) // 2


@pytest.mark.slow
def test_the_limit_grows_with_the_program():
    # A long program whose derivatives are as long as itself is not refused.
    program = " + ".join(f"x{i}*y" for i in range(30000))
    found = derivatives(program, ["y"])
    assert evaluate(found.first["y"].text("; "), {f"x{i}": 1.0 for i in range(30000)}).value == 30000.0


@pytest.mark.timeout(60)
def test_diff_command_limit_exit_status():
    result = CliRunner().invoke(main, ["diff", "--order", "2", _product(200)])
    assert result.exit_code == 1, result.output
    assert "limit error" in result.output and "Traceback" not in result.output


# --- textbook derivatives: as short as SymPy's simplified ones, and still right ---------------


# No exceptions: atan' is printed sech(asinh(x))^2, as short as 1/(1 + x^2) and never overflowing
# (tests/test_scaled_derivatives.py), where a scaled form was 2.6x SymPy's.
SCALED: dict[str, float] = {}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_textbook_derivatives_are_as_short_as_sympys_and_run():
    from .textbook import measure, programs

    corpus = programs()
    assert len(corpus) >= 40
    ours = sympys = 0
    for program in corpus:
        m = measure(program)
        ours, sympys = ours + m.ours, sympys + m.sympys
        print(f"{m.ratio:5.2f}  {m.ours:3d} vs {m.sympys:3d}  {program}")
        assert m.ratio <= SCALED.get(program, 2.0), (program, m.printed)
        names = list(compile_program(program).graph.inputs)
        point = {n: 0.3 + 0.17 * i for i, n in enumerate(names) if n != "pi"}
        gradients = evaluate(program, point).gradients
        for name, text in m.printed.items():  # parsed back by autodiff: the same number as the gradient
            assert evaluate(text, point).value == pytest.approx(gradients[name], rel=1e-10, abs=1e-12), (program, name)
    print(f"total: {ours} operations vs SymPy's {sympys}: {ours / sympys:.3f}")
    assert ours <= 1.2 * sympys
