"""autodiff explain: the replay is the engine's backward pass, step for step, and reads well."""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import re

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
    assert by_expr["relu(n1)"].grad == 2.0 and by_expr["relu(n1)"].contributions[0].contribution == 0.0
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


# --- nothing left out ------------------------------------------------------------------------

STEP = re.compile(r"^(\d+)\. ", re.M)


def one_sum(nodes: int) -> tuple[str, dict[str, float]]:
    """A one-statement program of ``nodes`` operations: a sum of products."""
    terms = (nodes + 1) // 2
    return " + ".join(f"a{k % 7}*x" for k in range(terms)), {**{f"a{k}": k - 2.5 for k in range(7)}, "x": 0.75}


def statements(nodes: int) -> tuple[str, dict[str, float]]:
    """A program of one statement per three operations, each reading the one before."""
    lines = ["h = x", *(f"h = tanh(w{k % 5}*h + 0.25)" for k in range(nodes // 3))]
    return "\n".join(lines), {**{f"w{k}": 0.4 - k / 7 for k in range(5)}, "x": -0.6}


def text_and_record(program: str, bindings: dict[str, float]) -> tuple[str, dict]:
    args = ["explain", "-", *(f"{k}={v!r}" for k, v in bindings.items())]
    text, record = run(*args, input=program), run(*args, "--json", input=program)
    assert text.exit_code == 0 and record.exit_code == 0, text.output + record.output
    return text.stdout, json.loads(record.stdout)


def assert_nothing_left_out(text: str, record: dict) -> None:
    numbers = [int(n) for n in STEP.findall(text)]
    assert numbers == list(range(1, len(record["backward"]) + 1)), "every backward step, numbered in order"
    forward, backward = text.split("Forward pass", 1)[1].split("Backward pass", 1)
    assert "left out" not in text and "…" not in forward
    # Each step's heading names its node, in the JSON's order.
    assert re.findall(r"^\d+\. (\S+) = ", backward, re.M) == [s["id"] for s in record["backward"]]
    rows = {line.split()[0]: line for line in forward.splitlines() if line.startswith("  ") and line.strip()}
    for s in record["forward"]:
        assert s["expr"] in rows[s["id"]] if s["op"] else s["label"] in rows, s["id"]
    assert re.findall(r"^ ∂/∂(\S+) ", text, re.M) == list(record["gradients"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("nodes", [10, 200])
@pytest.mark.parametrize("shape", [one_sum, statements])
def test_a_pipe_gets_every_step_the_json_lists(nodes: int, shape) -> None:
    program, bindings = shape(nodes)
    text, record = text_and_record(program, bindings)
    assert abs(len(record["backward"]) - nodes) <= 2
    assert_nothing_left_out(text, record)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("shape", [one_sum, statements])
def test_two_thousand_nodes_are_all_shown(shape) -> None:
    program, bindings = shape(2000)
    text, record = text_and_record(program, bindings)
    assert len(record["backward"]) >= 1998
    assert_nothing_left_out(text, record)


def test_long_programs_are_grouped_by_statement() -> None:
    source = (pathlib.Path(__file__).parent.parent / "examples" / "mlp.ad").read_text()
    values = dict.fromkeys(("w11", "w12", "w21", "w22", "w31", "w32", "b1", "b2", "b3", "v1", "v2", "v3", "c"), 0.3)
    values |= {"x1": 0.5, "x2": -1.2, "t": 1.0, "w32": 2.0}
    e = explain(compile_program(source), values)
    written = [line.strip() for line in source.splitlines() if line.strip() and not line.startswith("#")]
    assert list(e.statements) == written
    text = render(source, values)
    backward = text.split("Backward pass", 1)[1]
    headings = re.findall(r"^Statement (\d+) of (\d+):  (.*)$", backward, re.M)
    assert [(int(k), int(n)) for k, n, _ in headings] == [(k, 5) for k in range(5, 0, -1)], "from the result back"
    assert [h for _, _, h in headings] == written[::-1]
    # Under each heading, as many steps as the statement's own right-hand side has operations.
    sections = re.split(r"^Statement \d+ of \d+:.*$", backward, flags=re.M)[1:]
    for (_, _, heading), section in zip(headings, sections, strict=True):
        rhs = heading.split("=", 1)[1] if re.match(r"\w+ = ", heading) else heading
        assert len(STEP.findall(section)) == len(compile_program(rhs).nodes), heading
    forward = text.split("Backward pass", 1)[0]
    assert [h for _, _, h in re.findall(r"^Statement (\d+) of (\d+):  (.*)$", forward, re.M)] == written


def test_statements_as_the_language_separates_them() -> None:
    source = "a = x*2  # a comment; not a statement\n\n b = a*a;; a + b ;"
    e = explain(compile_program(source), {"x": 1.5})
    assert e.statements == ("a = x*2", "b = a*a", "a + b")
    by_id = {s.id: s.statement for s in e.forward if s.op}
    assert by_id == {"a": 0, "b": 1, "n1": 2}  # n1: the first operation the program did not name
    assert {s.id: s.statement for s in e.backward} == by_id
    assert "Statement" not in render(source, {"x": 1.5}), "one step a statement: nothing to group"


def test_the_seed_is_not_grouped_but_a_statement_of_several_steps_is() -> None:
    assert "Statement" not in render(*SEED)
    assert "Statement 1 of 2:  c = a*b + a" in render("c = a*b + a; c*4", {"a": 2.0, "b": 3.0})


# --- every number reads as what it is -----------------------------------------------------------

ARITHMETIC = re.compile(r"^  (\S+) +\S.*?   (.+) = (\S+)(?:  ← the result)?$", re.M)


def python_value(arithmetic: str) -> float:
    """What the shown arithmetic means, read as Python reads it (the language's ^ is Python's **)."""
    if not re.fullmatch(r"[\d.e+\-*/^() ]+", arithmetic):
        raise AssertionError(arithmetic)
    return float(eval(arithmetic.replace("^", "**")))  # digits, signs and operators only: checked above


@pytest.mark.parametrize(
    "bindings",
    [{"a": -0.5, "b": -2.0}, {"a": 0.5, "b": -2.0}, {"a": -3.0, "b": 0.25}, {"a": -1.25, "b": -0.75}],
)
def test_shown_arithmetic_means_the_value_it_shows(bindings: dict[str, float]) -> None:
    program = "-a + -b + (a - b) + a*b + a/b - b*-a + (-a)^2 + b^2 + 2^b + -(a*b) + -(-a) + abs(a)^3"
    e = explain(compile_program(program), bindings)
    console = Console(width=200, color_system=None, file=io.StringIO(), legacy_windows=False)
    console.print(render_explanation(e, digits=17))
    text = "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())
    rows = {node: (arithmetic, value) for node, arithmetic, value in ARITHMETIC.findall(text)}
    operations = [s for s in e.forward if s.op and s.op != "abs"]
    assert {s.id for s in operations} <= set(rows)
    for s in operations:
        arithmetic, shown = rows[s.id]
        assert not re.search(r"--|[-+*/^] -", arithmetic), f"a sign right after an operator: {arithmetic}"
        assert python_value(arithmetic) == pytest.approx(s.value, rel=1e-12), (s.expr, arithmetic)
        assert float(shown) == pytest.approx(s.value, rel=1e-15)
    # The backward lines too: "child.grad += local × grad = product" and "before + contribution = after".
    for local, grad, product in re.findall(r"\.grad \+= (\S+) × (\S+) = (\S+)", text):
        if "nan" in local + grad:  # a number's own gradient, d(x^2)/d2 at x < 0: computed, not reported
            continue
        assert python_value(f"{local} * {grad}") == pytest.approx(float(product), rel=1e-12, abs=1e-300)
    for before, added, after in re.findall(r"\.grad = (\S+) \+ (\S+) = (\S+)", text):
        assert not added.startswith("-"), "a negative addend is in parentheses"
        assert python_value(f"{before} + {added}") == pytest.approx(float(after), rel=1e-12, abs=1e-300)


def test_the_result_is_named_as_the_user_named_it() -> None:
    def result_row(program: str, bindings: dict[str, float]) -> str:
        return render(program, bindings).split("\nResult\n", 1)[1].splitlines()[0].split()[0]

    assert result_row("L = log(1 + exp(-y*w))", {"y": 1.0, "w": 0.5}) == "L"
    assert result_row("log(1 + exp(-y*w))", {"y": 1.0, "w": 0.5}) == "result"
    assert result_row("z = a*b; z + 1", {"a": 1.0, "b": 2.0}) == "result"
    assert result_row("z = a; z", {"a": 2.0}) == "a"
    assert "the value (n3 above)" in render(*MISSION)
