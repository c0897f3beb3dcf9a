"""``autodiff eval`` for people: options, colour conventions, and what stays the same for scripts."""

from __future__ import annotations

import json
import math
import os
import pathlib
import re

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.render.layout import cell_width

from .ptys import run_on_terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLEAN = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None, "TTY_COMPATIBLE": None}
MISSION = ["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1"]
CORPUS = pathlib.Path(__file__).parent / "data" / "cases.jsonl"


def invoke(args: list[str], input: str | None = None, **env: str | None):
    return CliRunner().invoke(main, args, input=input, env={**CLEAN, **env})


def corpus_case(case_id: str) -> dict:
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case["id"] == case_id:
            return case
    raise KeyError(case_id)


# --- what a person sees --------------------------------------------------------------------


def test_the_display_is_the_default() -> None:
    result = invoke(MISSION)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"tanh(a*b+c) = {math.tanh(7)!r}"  # as the JSON shows it: not exactly 1
    table = [line.split() for line in lines if line.split()[:1] in (["a"], ["b"], ["c"])]
    assert table == [["a", "2", "9.978e-6"], ["b", "3", "6.652e-6"], ["c", "1", "3.326e-6"]]
    assert "[tanh]→ 1.000 ∂1" in result.output
    rounded = invoke([*MISSION, "--digits", "4"]).output
    assert rounded.splitlines()[0] == "tanh(a*b+c) = 1.000" and rounded.splitlines()[1:] == lines[1:]


def test_named_intermediates_have_their_own_table() -> None:
    output = invoke(["eval", "z = a*b + c; y = tanh(z); y*z + y", "a=0.5", "b=-1", "c=2", "--no-dag"]).output
    rows = {line.split()[0]: line.split()[1:] for line in output.splitlines() if line[:1] in ("z", "y")}
    # d(result)/dz = y + (1 - y^2) * (z + 1), d(result)/dy = z + 1, at z = 1.5, y = tanh(1.5)
    import math

    y = math.tanh(1.5)
    assert rows["z"] == ["1.5", f"{y + (1 - y * y) * 2.5:.4g}"]
    assert rows["y"] == [f"{y:.4g}", "2.5"]


def test_digits() -> None:
    output = invoke([*MISSION, "--digits", "2"]).output
    assert output.splitlines()[0] == "tanh(a*b+c) = 1.0"
    assert "a        2     1.0e-5" in output or "1.0e-5" in output
    assert "9.978" not in output


def test_json_keeps_full_precision_and_ignores_display_options() -> None:
    case = corpus_case("mission")
    plain = invoke([*MISSION, "--json"])
    assert plain.exit_code == 0
    record = json.loads(plain.output)
    assert record["expr"] == case["expr"] and list(record["gradients"]) == ["a", "b", "c"]
    assert record["value"] == pytest.approx(case["value"], rel=1e-14)
    for name, g in case["gradients"].items():
        assert record["gradients"][name] == pytest.approx(g, rel=1e-14)  # all the digits, not 4
    for extra in (["--digits", "2"], ["--width", "30", "--ascii", "--no-dag"], ["-f", "json", "--digits", "3"]):
        assert invoke([*MISSION, "--json", *extra]).output == plain.output


def test_no_dag() -> None:
    output = invoke([*MISSION, "--no-dag"]).output
    assert "[tanh]" not in output and "∂:" not in output
    assert "9.978e-6" in output


def test_ascii() -> None:
    output = invoke(["eval", "θ2 = a*b; θ2 + b", "a=2", "b=3", "--ascii"]).output
    non_ascii = {ch for ch in output if not ch.isascii()}
    assert non_ascii == {"θ"}  # only the name itself
    assert "+-[*]> " in output


def test_width_from_option_then_columns_then_80() -> None:
    program = ["eval", "θ = α*β; λ = sin(θ) + 变量; λ/θ", "α=0.5", "β=2", "变量=3"]
    narrow = invoke(program).output  # a pipe: 80 columns, too few for the full labels
    assert "λ(3.841)" not in narrow and "=3.84" in narrow  # compact labels: value under the name
    wide = invoke(program, COLUMNS="120").output
    assert "[sin]→" in wide and "λ(3.841)" in wide and "tree" not in wide
    assert invoke([*program, "--width", "80"], COLUMNS="120").output == narrow
    for output, width in ((narrow, 80), (wide, 120)):
        assert all(cell_width(line) <= width for line in output.splitlines())


def test_bad_options_are_usage_errors() -> None:
    for extra in (["--width", "5"], ["--digits", "0"], ["--graph", "png"], ["--graph", "dot", "--json"]):
        result = invoke([*MISSION, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert "Traceback" not in result.output


def test_errors_still_go_to_stderr() -> None:
    result = CliRunner().invoke(main, ["eval", "tanh(a*", "a=1"], env=CLEAN)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "syntax error" in result.stderr


def test_help_lists_the_display_options() -> None:
    output = invoke(["eval", "--help"]).output
    for option in ("--digits", "--width", "--ascii", "--no-dag", "--graph"):
        assert option in output


# --- colour ---------------------------------------------------------------------------------


def test_no_colour_when_piped() -> None:
    assert not ANSI.search(invoke(MISSION).output)


def test_force_color_forces_it_and_no_color_wins() -> None:
    plain = invoke(MISSION).output
    forced = invoke(MISSION, FORCE_COLOR="1").output
    assert ANSI.search(forced)
    assert ANSI.sub("", forced) == plain  # the same display, only coloured
    assert not ANSI.search(invoke(MISSION, FORCE_COLOR="1", NO_COLOR="1").output)
    assert not ANSI.search(invoke(MISSION, NO_COLOR="1").output)


def _in_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run autodiff with its standard output on a pseudo-terminal; return what it wrote."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    return run_on_terminal(args, {**full_env, **env}).terminal


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color() -> None:
    coloured = _in_a_terminal(MISSION, {"TERM": "xterm"})
    assert ANSI.search(coloured) and "tanh(a*b+c)" in coloured
    plain = _in_a_terminal(MISSION, {"TERM": "xterm", "NO_COLOR": "1"})
    assert not ANSI.search(plain) and "tanh(a*b+c)" in plain


# --- big programs ----------------------------------------------------------------------------


def test_a_3000_term_program_stays_under_400_lines() -> None:
    source = " + ".join(f"sin({k}*x)*y" for k in range(1, 3001))
    result = invoke(["eval", "-", "x=0.5", "y=2"], input=source)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) < 400
    assert any("more nodes" in line for line in lines)
    assert len(result.output) < 20_000


def test_3000_inputs_are_summed_up() -> None:
    source = " + ".join(f"a{k}" for k in range(3000))
    bindings = [f"a{k}={k % 7}" for k in range(3000)]
    result = invoke(["eval", "-", *bindings], input=source)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) < 400
    assert any("2,970 more inputs" in line for line in lines)


# --- the header says what was computed, not what the file says about it ----------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "source",
    ["x^2  # the square", "# softmax of two\nz = exp(x) # top\n\n# below\nz / (z + 1)", "a = x # one\r\n a*a # two"],
)
def test_display_header_leaves_comments_out(source: str) -> None:
    from autodiff_cli.program import compile_program
    from autodiff_cli.render.display import without_comments

    shown = without_comments(source)
    assert "#" not in shown and all(line.strip() for line in shown.split("\n"))
    # the parser ignores comments: what the header shows computes the same thing
    assert compile_program(shown).run({"x": 1.5}) == compile_program(source).run({"x": 1.5})
    result = invoke(["eval", source, "x=1.5"])
    assert result.exit_code == 0, result.output
    assert "#" not in result.output.split("\n= ")[0].split(" = ")[0]
