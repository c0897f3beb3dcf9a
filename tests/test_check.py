"""eval --check: finite differences against autodiff, on the corpus, at kinks and edges, and against broken rules."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from autodiff_cli import AutodiffError, ops
from autodiff_cli.check import KINK, MISMATCH, OK, TOLERANCE, UNSETTLED_STATUS, check_gradients
from autodiff_cli.cli import main
from autodiff_cli.program import compile_program

from .conftest import CASES
from .test_properties import NAMES, points, spell, trees

GOOD_CASES = [c for c in CASES if "error" not in c]
NONSMOOTH = ("relu", "abs", "min", "max")
MISSION = ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0})


def check(expr: str, **bindings: float):
    return check_gradients(compile_program(expr), bindings)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not RFC 8259 JSON")

    return json.loads(text, parse_constant=refuse)


# --- the conformance corpus: no false alarms, and the differences are right ------------


@pytest.mark.parametrize("case", GOOD_CASES, ids=[c["id"] for c in GOOD_CASES])
def test_check_is_ok_on_the_corpus(case: dict) -> None:
    report = check_gradients(compile_program(case["expr"]), case["vars"])
    assert report.ok, [c for c in report.inputs if c.failed]
    assert report.max_rel_error <= TOLERANCE
    assert [c.name for c in report.inputs] == list(case["gradients"])
    for c in report.inputs:
        assert c.status in (OK, KINK), c
        if c.status == KINK:
            assert any(f"{f}(" in case["expr"] for f in NONSMOOTH), f"a kink in a smooth program: {c}"
            continue
        # The corpus's gradients come from SymPy: the differences must find them on their own.
        want = case["gradients"][c.name]
        assert abs(c.finite_difference - want) <= 1e-6 * abs(want) + c.resolution, (c, want)


@pytest.mark.parametrize(
    ("case_id", "name", "left", "right"),
    [("relu-kink", "a", 0.0, 1.0), ("abs-kink", "a", -1.0, 1.0), ("max-tie", "a", 0.0, 1.0), ("min-tie", "b", 1.0, 0.0)],
)
def test_kinks_are_reported_with_both_slopes_and_do_not_fail(case_id: str, name: str, left: float, right: float) -> None:
    case = next(c for c in CASES if c["id"] == case_id)
    report = check_gradients(compile_program(case["expr"]), case["vars"])
    c = next(c for c in report.inputs if c.name == name)
    assert c.status == KINK and report.ok
    assert math.isclose(c.left, left, abs_tol=1e-9) and math.isclose(c.right, right, abs_tol=1e-9)
    assert "one-sided slopes disagree" in c.note and "between them" in c.note
    assert c.rel_error is None  # a convention is not compared


def test_a_smooth_point_near_a_kink_is_not_a_kink() -> None:
    (c,) = check("relu(x)", x=1e-6).inputs
    assert c.status == OK and c.finite_difference == pytest.approx(1.0, rel=1e-9)


# --- broken derivatives are caught ------------------------------------------------------


def test_a_wrong_tanh_derivative_is_flagged(plant: Callable[[str, Any], None]) -> None:
    # 1 - tanh(x) instead of 1 - tanh(x)^2: off by a factor 1 + tanh(x), about 2 here.
    plant("tanh", dataclasses.replace(ops.OPS["tanh"], derivative=lambda x, out: 1.0 - out))
    report = check_gradients(compile_program(MISSION[0]), MISSION[1])
    assert not report.ok
    assert [c.status for c in report.inputs] == [MISMATCH] * 3
    for c in report.inputs:
        assert c.finite_difference == pytest.approx(2 * c.autodiff, rel=1e-6)
    assert report.max_rel_error == pytest.approx(0.5, rel=1e-5)


def test_swapped_product_rule_flags_exactly_the_inputs_it_feeds(plant: Callable[[str, Any], None]) -> None:
    plant("*", dataclasses.replace(ops.OPS["*"], derivative=lambda x, y, out: (x, y)))
    report = check_gradients(compile_program(MISSION[0]), MISSION[1])
    assert {c.name: c.status for c in report.inputs} == {"a": MISMATCH, "b": MISMATCH, "c": OK}


UNARY_POINTS = {"log": 1.3, "log2": 1.3, "log10": 1.3, "sqrt": 1.3, "acosh": 1.3, "asin": 0.3, "acos": 0.3, "atanh": 0.3}


def program_for(op: ops.Op) -> tuple[str, dict[str, float]]:
    if op.arity == 1:
        return ("-a" if op.name == "neg" else f"{op.name}(a)"), {"a": UNARY_POINTS.get(op.name, 0.7)}
    return (f"a {op.symbol} b" if op.symbol else f"{op.name}(a, b)"), {"a": 1.3, "b": 0.7}


# Programs cannot call internal operations; sign and step are flat: 0 off by a factor is still 0.
@pytest.mark.parametrize("name", sorted(set(ops.OPS) - {op.name for op in ops.INTERNAL} - {"sign", "step"}))
def test_every_derivative_off_by_a_few_millionths_is_flagged(name: str, plant: Callable[[str, Any], None]) -> None:
    op = ops.OPS[name]
    expr, bindings = program_for(op)
    assert check_gradients(compile_program(expr), bindings).ok, "the true rule passes"

    def slightly_wrong(*args: float) -> object:
        d = op.derivative(*args)
        return tuple(v * (1 + 5e-6) for v in d) if isinstance(d, tuple) else d * (1 + 5e-6)  # type: ignore[operator]

    plant(name, dataclasses.replace(op, derivative=slightly_wrong))
    report = check_gradients(compile_program(expr), bindings)
    assert not report.ok, (expr, report)


def test_the_cli_fails_with_status_1_on_a_broken_derivative(plant: Callable[[str, Any], None]) -> None:
    plant("tanh", dataclasses.replace(ops.OPS["tanh"], derivative=lambda x, out: 1.0 - out))
    args = ["eval", MISSION[0], "a=2", "b=3", "c=1", "--check"]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "check failed: d/da" in result.stderr and "FAILED" in result.stdout and "mismatch" in result.stdout
    result = run(*args, "--json")
    assert result.exit_code == 1
    assert strict_json(result.stdout)["check"]["ok"] is False


# --- edges: domains, poles, cancellation, discontinuities -------------------------------


@pytest.mark.parametrize(
    ("expr", "x", "want", "method"),
    [
        ("x^1.5", 0.0, 0.0, "forward"),  # x - h < 0 leaves the domain at every step
        ("sqrt(x)", 1e-9, 0.5 / math.sqrt(1e-9), "central"),  # the step shrinks to fit
        ("log(x)", 1e-3, 1e3, "central"),
        ("acosh(x)", 1 + 1e-6, 1 / math.sqrt((1e-6) * (2 + 1e-6)), "central"),
        ("tan(x)", 1.5707963, 1 / math.cos(1.5707963) ** 2, "central"),  # a pole 3e-8 away
        ("atan2(x, -1)", 0.0, -1.0, "forward"),  # the branch cut: atan2 jumps from pi to -pi below 0
    ],
)
def test_edges_are_handled_without_false_alarms(expr: str, x: float, want: float, method: str) -> None:
    (c,) = check(expr, x=x).inputs
    assert c.status == OK, c
    assert c.method == method
    assert abs(c.finite_difference - want) <= 1e-6 * abs(want) + c.resolution


def test_cancellation_widens_the_margin_instead_of_raising_an_alarm() -> None:
    # x^2 + 1e10 carries the rounding noise of 1e10 (about 2e-6), which subtraction does not remove.
    (c,) = check("x^2 + 1e10 - 1e10", x=0.3).inputs
    assert c.status == OK and c.resolution > 1e-6
    assert "resolve this derivative only to" in c.note


def test_a_pole_closer_than_any_step_is_reported_unsettled() -> None:
    # (log(x) at 1e-300 is resolved now, by steps scaled to x; a pole one ulp away cannot be.)
    for expr, x in [("log(x - 1)", 1.0000000000000002), ("1/(x - 1)", 1.0000000000000002)]:
        (c,) = check(expr, x=x).inputs
        assert c.status == UNSETTLED_STATUS and c.rel_error is None and not c.failed, c


def test_conventions_that_cancel_into_a_smooth_function_are_reported() -> None:
    # |x| - 2 relu(x) is -x, smooth, but each piece is differentiated by convention at 0:
    # autodiff says 0, the truth is -1, and the check says so.
    (c,) = check("abs(x) - 2*relu(x)", x=0.0).inputs
    assert c.status == MISMATCH and c.finite_difference == pytest.approx(-1.0)


def test_errors_are_raised_as_by_eval() -> None:
    with pytest.raises(AutodiffError) as info:
        check("sqrt(x)", x=0.0)
    assert info.value.kind == "domain"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, xs=points)
def test_random_programs_never_raise_a_false_alarm(tree: tuple, xs: list[float]) -> None:
    env = dict(zip(NAMES, xs, strict=True))
    try:
        report = check_gradients(compile_program(spell(tree)), env)
    except AutodiffError:
        return
    assert report.ok, (spell(tree), env, [c for c in report.inputs if c.failed])


# --- the command line -------------------------------------------------------------------


def test_check_json_has_the_promised_members() -> None:
    result = run("eval", MISSION[0], "a=2", "b=3", "c=1", "--check", "--json")
    assert result.exit_code == 0, result.output
    record = strict_json(result.stdout)
    assert list(record) == ["expr", "value", "gradients", "check"]
    checked = record["check"]
    assert checked["ok"] is True and checked["tolerance"] == TOLERANCE
    assert list(checked["finite_differences"]) == ["a", "b", "c"]
    assert 0 <= checked["max_rel_error"] <= TOLERANCE
    for name, fd in checked["finite_differences"].items():
        assert fd == pytest.approx(record["gradients"][name], rel=1e-6)
        assert checked["details"][name]["status"] == "ok"


def test_check_json_at_a_kink_is_valid_json() -> None:
    result = run("eval", "relu(a) * sqrt(b)", "a=0", "b=4", "--check", "--json")
    assert result.exit_code == 0, result.output
    details = strict_json(result.stdout)["check"]["details"]
    assert details["a"]["status"] == "kink" and details["a"]["rel_error"] is None
    assert details["b"]["status"] == "ok"


def test_check_text_follows_the_normal_output() -> None:
    plain = run("eval", MISSION[0], "a=2", "b=3", "c=1")
    result = run("eval", MISSION[0], "a=2", "b=3", "c=1", "--check")
    assert result.exit_code == 0
    assert result.stdout.startswith(plain.stdout)
    assert "Finite-difference check: ok" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour when the output is not a terminal"


def test_without_check_nothing_changes() -> None:
    result = run("eval", MISSION[0], "a=2", "b=3", "c=1", "--json")
    assert "check" not in strict_json(result.stdout)


@pytest.mark.timeout(30)
def test_check_table_in_plain_ascii() -> None:
    import io

    from rich.console import Console

    from autodiff_cli.check import check_gradients
    from autodiff_cli.program import compile_program
    from autodiff_cli.render.check import render_check

    report = check_gradients(compile_program("tanh(a*b+c)"), {"a": 2.0, "b": 3.0, "c": 1.0})
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(render_check(report, ascii=True))
    text = out.getvalue()
    assert text.isascii() and "--" in text and "9.978e-6" in text
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(render_check(report))
    assert "─" in out.getvalue()  # box drawing unless asked
