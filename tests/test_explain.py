"""autodiff explain: the replay is the engine's backward pass, step for step, and reads well."""

from __future__ import annotations

import io
import json
import math
import os
import pathlib

import pytest
import sympy as sp
from click.testing import CliRunner
from rich.console import Console

from autodiff_cli import AutodiffError, ops
from autodiff_cli.cli import main
from autodiff_cli.explain import SKIPPED_DEAD, SKIPPED_ZERO, explain
from autodiff_cli.program import compile_program
from autodiff_cli.records import dumps, explanation_record
from autodiff_cli.render.explain import render_explanation

from .conftest import CASES

GOLDEN = pathlib.Path(__file__).parent / "data" / "golden"
SEED = ("c = a + b; d = c * 4", {"a": 2.0, "b": 3.0})
MISSION = ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0})


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


def same(x: float, y: float) -> bool:
    """Equal, counting nan as equal to itself (a number's gradient may be nan: it is never used)."""
    return x == y or (math.isnan(x) and math.isnan(y))


def final_grads(e) -> dict[str, float]:
    """Each node's gradient after the replay: the last value a contribution left it with."""
    grads = {e.result: 1.0}
    for step in e.backward:
        for c in step.contributions:
            grads[c.child] = c.grad_after
    return grads


# --- the replay is the engine's backward pass -----------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_explain_gives_evals_gradients_on_the_corpus(case: dict) -> None:
    if "error" in case:
        with pytest.raises(AutodiffError) as info:
            explain(compile_program(case["expr"]), case["vars"])
        assert info.value.kind == case["error"]
        return
    program = compile_program(case["expr"])
    e = explain(program, case["vars"])
    nodes = dict(zip((s.id for s in e.forward), program.order, strict=True))
    result = compile_program(case["expr"]).run(case["vars"])
    replayed = final_grads(e)
    # Bit for bit, input by input: the same accumulation in the same order.
    assert {n: replayed.get(n, 0.0) for n in result.gradients} == result.gradients
    assert e.gradients == result.gradients and e.value == result.value
    explain(program, case["vars"])  # leave the engine's own grads in the graph
    for step in e.backward:
        assert same(step.grad, nodes[step.id].grad), step  # a node is reached once its gradient is complete
    for s in e.forward:
        assert s.value == nodes[s.id].data or math.isnan(s.value)
        seen = {f.id for f in e.forward[: e.forward.index(s)]}
        assert set(s.args) <= seen, "children before parents"
    json.loads(dumps(explanation_record(e)))  # RFC 8259 even where a number's gradient is nan


def test_the_seed_example_by_hand() -> None:
    # shared/seeds/000: c = a + b = 2 + 3 = 5; d = c * 4 = 5 * 4 = 20; d'(c) = 4, so a.grad = b.grad = 4.
    e = explain(compile_program(SEED[0]), SEED[1])
    ops_forward = [(s.id, s.expr, s.value) for s in e.forward if s.op]
    assert ops_forward == [("c", "a + b", 5.0), ("d", "c * 4", 20.0)]
    d, c = e.backward
    assert (d.id, d.grad, d.is_result) == ("d", 1.0, True)
    to_c, to_4 = d.contributions
    assert (to_c.child, to_c.formula_here, to_c.local, to_c.grad_after) == ("c", "4", 4.0, 4.0)
    assert (to_4.label, to_4.kind, to_4.local) == ("4", "number", 5.0)  # d(c*4)/d4 = c = 5, computed but not reported
    assert (c.id, c.grad) == ("c", 4.0)
    steps = [(k.child, k.local, k.contribution, k.grad_after) for k in c.contributions]
    assert steps == [("a", 1.0, 4.0, 4.0), ("b", 1.0, 4.0, 4.0)]
    assert e.gradients == {"a": 4.0, "b": 4.0}


def test_the_mission_example_by_hand() -> None:
    e = explain(compile_program(MISSION[0]), MISSION[1])
    tanh_step, plus_step, times_step = e.backward
    (to_n2,) = tanh_step.contributions
    assert to_n2.formula_here == "1 - tanh(n2)^2"
    assert to_n2.local == pytest.approx(1 - math.tanh(7) ** 2, rel=1e-12)
    assert [k.local for k in plus_step.contributions] == [1.0, 1.0]
    to_a, to_b = times_step.contributions
    assert (to_a.formula_here, to_a.local) == ("b", 3.0)  # d(a*b)/da = b = 3
    assert (to_b.formula_here, to_b.local) == ("a", 2.0)
    assert to_a.contribution == 3.0 * times_step.grad
    assert e.gradients["a"] == pytest.approx(3 * (1 - math.tanh(7) ** 2), rel=1e-12)


def test_accumulation_when_a_node_is_used_three_times() -> None:
    # a*a + a at a = 3: a gets 1 from +, then 3 and 3 from *: 1, 4, 7.
    e = explain(compile_program("a*a + a"), {"a": 3.0})
    to_a = [c for step in e.backward for c in step.contributions if c.child == "a"]
    assert [(c.grad_before, c.contribution, c.grad_after) for c in to_a] == [(0.0, 1.0, 1.0), (1.0, 3.0, 4.0), (4.0, 3.0, 7.0)]
    assert [c.accumulates for c in to_a] == [False, True, True]
    assert [c.position for c in to_a] == [1, 0, 1]


def test_skipped_steps_say_why() -> None:
    # The outer relu passes 0 to the inner one, which then has nothing to pass on.
    e = explain(compile_program("q = exp(b); relu(relu(c)) * a"), {"a": 2.0, "b": 1.0, "c": -1.0})
    by_expr = {s.expr: s for s in e.backward}
    assert by_expr["relu(n2)"].grad == 2.0 and by_expr["relu(n2)"].contributions[0].contribution == 0.0
    assert by_expr["relu(c)"].skipped == SKIPPED_ZERO and by_expr["relu(c)"].contributions == ()
    assert by_expr["exp(b)"].skipped == SKIPPED_DEAD
    assert e.gradients == {"b": 0.0, "c": 0.0, "a": 0.0}


def test_ids_never_collide_with_names() -> None:
    e = explain(compile_program("a = a*2; n1 + a"), {"a": 1.0, "n1": 5.0})
    ids = [s.id for s in e.forward]
    assert len(ids) == len(set(ids))
    rebound = next(s for s in e.forward if s.expr == "a * 2")
    assert rebound.id not in ("a", "n1") and rebound.names == ("a",)


def test_constants_and_leaf_results() -> None:
    e = explain(compile_program("sin(pi*a)"), {"a": 0.25})
    assert next(s for s in e.forward if s.id == "pi").kind == "constant"
    assert list(e.gradients) == ["a"]
    e = explain(compile_program("z = a; z"), {"a": 2.0})
    assert e.backward == () and e.result == "a" and e.gradients == {"a": 1.0}


def test_numbers_read_like_numbers() -> None:
    e = explain(compile_program("a*4.0 + a*0.1 + a*3.14159265358979"), {"a": 2.0})
    labels = [s.label for s in e.forward if s.kind == "number"]
    assert labels == ["4", "0.1", "3.14159265358979"]  # as written, not rounded to six digits


# --- the formulas people read say what the engine computes ------------------------------

X, Y = sp.symbols("x y")
SYMPY_NAMES = {"sigmoid": lambda z: 1 / (1 + sp.exp(-z)), "sign": sp.sign, "log": sp.log, "x": X, "y": Y}
POINTS = {1: [(0.3,), (0.8,), (-0.6,)], 2: [(0.7, 1.3), (2.1, 0.4), (1.5, -2.5)]}
WRITTEN_AS_CASES = {"relu", "min", "max"}  # "1 if x > 0 else 0": checked by hand below


@pytest.mark.parametrize("name", sorted(set(ops.OPS) - WRITTEN_AS_CASES))
def test_formula_strings_match_the_derivatives(name: str) -> None:
    op = ops.OPS[name]
    assert len(op.formula) == op.arity
    for args in POINTS[op.arity]:
        if name == "acosh":
            args = (args[0] + 2,)
        if op.domain and op.domain(*args):
            continue
        numbers = op.derivative(*args, op.forward(*args))
        numbers = numbers if isinstance(numbers, tuple) else (numbers,)
        for formula, number in zip(op.formula, numbers, strict=True):
            value = sp.sympify(formula, locals=SYMPY_NAMES).subs({X: args[0], Y: args[-1]})
            assert float(value) == pytest.approx(number, rel=1e-12), (name, formula, args)


def test_formulas_written_as_cases() -> None:
    assert ops.OPS["relu"].formula == ("1 if x > 0 else 0",)
    assert "0.5 if x = y" in ops.OPS["min"].formula[0] and "0.5 if x = y" in ops.OPS["max"].formula[1]
    e = explain(compile_program("max(a, b)"), {"a": 1.0, "b": 1.0})
    assert [c.local for c in e.backward[0].contributions] == [0.5, 0.5]


# --- what people and scripts see ------------------------------------------------------------


def render(program: str, bindings: dict[str, float], width: int = 100) -> str:
    console = Console(width=width, color_system=None, file=io.StringIO(), legacy_windows=False)
    console.print(render_explanation(explain(compile_program(program), bindings)))
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"


@pytest.mark.parametrize(("name", "example"), [("explain_seed", SEED), ("explain_mission", MISSION)])
def test_golden_output(name: str, example: tuple[str, dict[str, float]]) -> None:
    path = GOLDEN / f"{name}.txt"
    text = render(*example)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_the_display_shows_each_step() -> None:
    text = render("a*a + a", {"a": 3.0})
    assert "∂(a*a)/∂a (argument 1) = a = 3" in text
    assert "a.grad += 3 × 1 = 3  →  a.grad = 4 + 3 = 7" in text
    assert "(a is reached a 3rd time: what it receives adds up)" in text


def test_explain_json() -> None:
    result = run("explain", *MISSION[0:1], "a=2", "b=3", "c=1", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert list(record) == ["expr", "value", "gradients", "forward", "backward", "result"]
    assert record["result"] == "n3"
    eval_record = json.loads(run("eval", MISSION[0], "a=2", "b=3", "c=1", "--json").stdout)
    assert {k: record[k] for k in ("expr", "value", "gradients")} == eval_record
    assert [s["id"] for s in record["forward"]] == ["a", "b", "c", "n1", "n2", "n3"]
    assert [s["id"] for s in record["backward"]] == ["n3", "n2", "n1"]
    to_a = record["backward"][2]["children"][0]
    assert to_a == {
        "id": "a",
        "position": 0,
        "formula": "y",
        "formula_here": "b",
        "local": 3.0,
        "contribution": to_a["contribution"],
        "grad_before": 0.0,
        "grad_after": record["gradients"]["a"],
        "accumulates": False,
    }


def test_explain_text_from_the_command_line() -> None:
    result = run("explain", SEED[0], "a=2", "b=3")
    assert result.exit_code == 0, result.output
    assert "Forward pass" in result.stdout and "Backward pass" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour into a pipe"
    forced = run("explain", SEED[0], "a=2", "b=3", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout
    no_colour = run("explain", SEED[0], "a=2", "b=3", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[3" not in no_colour.stdout  # no foreground colours (bold may stay)


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["explain", "2a", "a=1"], 2, "syntax error at line 1, column 2"),
        (["explain", "q + 1"], 2, "name error"),
        (["explain", "log(a)", "a=-1"], 1, "domain error"),
        (["explain", "exp(a)", "a=1000"], 1, "overflow error"),
        (["explain", "a", "a"], 2, "NAME=VALUE"),
        (["explain", "a", "a=1", "--bogus"], 2, "No such option"),
    ],
)
def test_explain_fails_like_eval(args: list[str], status: int, words: str) -> None:
    result = run(*args)
    assert result.exit_code == status, result.output
    assert words in result.stderr and result.stdout == "" and "Traceback" not in result.output


def test_programs_starting_with_minus_and_from_standard_input() -> None:
    result = run("explain", "-a^2", "a=3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradients"] == {"a": -6.0}
    result = run("explain", "-", "a=2", "b=3", "--json", input="c = a + b\nd = c * 4\n")
    assert json.loads(result.stdout)["gradients"] == {"a": 4.0, "b": 4.0}


def test_explain_has_help() -> None:
    result = run("explain", "--help")
    assert result.exit_code == 0 and "backward pass" in result.stdout
