"""What a newcomer meets: programs from files (@FILE), people output without trailing spaces, hints.

References are independent of autodiff: math for values, the file's own text
for positions, the inline program's output for what a file program prints.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import random

import pytest
from click.testing import CliRunner

from autodiff_cli import parser
from autodiff_cli.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(args: list[str], input: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=input, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


PROGRAMS = [
    ("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1}, lambda v: math.tanh(v["a"] * v["b"] + v["c"])),
    ("z = x*y\nw = exp(z) # a comment\nw - z", {"x": 0.3, "y": -1.7}, lambda v: math.exp(v["x"] * v["y"]) - v["x"] * v["y"]),
    ("# only a comment line first\r\nlog(q)/q\r\n", {"q": 2.5}, lambda v: math.log(v["q"]) / v["q"]),
    ("ϑ^2 + 1", {"ϑ": 1.25}, lambda v: v["ϑ"] ** 2 + 1),
]


# --- @FILE ------------------------------------------------------------------------------


@pytest.mark.parametrize(("program", "values", "reference"), PROGRAMS)
def test_a_file_program_answers_as_the_same_program_inline(tmp_path, program, values, reference) -> None:
    path = tmp_path / "p.ad"
    path.write_text(program + "\n", encoding="utf-8")
    bindings = [f"{k}={v}" for k, v in values.items()]
    code, out, err = run(["eval", f"@{path}", *bindings, "--json"])
    assert code == 0, err
    from_file = json.loads(out)
    assert math.isclose(from_file["value"], reference(values), rel_tol=1e-12)
    _, inline, _ = run(["eval", program, *bindings, "--json"])
    assert from_file == json.loads(inline)
    _, piped, _ = run(["eval", "@-", *bindings, "--json"], input=program + "\n")
    assert json.loads(piped) == from_file


def test_a_byte_order_mark_is_no_part_of_the_program(tmp_path) -> None:
    path = tmp_path / "bom.ad"
    path.write_bytes(b"\xef\xbb\xbfx^3")
    code, out, _ = run(["eval", f"@{path}", "x=2", "--json"])
    assert code == 0 and json.loads(out)["gradients"] == {"x": 12.0}


@pytest.mark.parametrize("command", [["explain"], ["diff"], ["plot", "--width", "60", "--height", "12"]])
def test_explain_diff_and_plot_read_a_file_as_they_read_the_program(tmp_path, command) -> None:
    program = "u = sin(x)*x\nu^2"
    path = tmp_path / "p.ad"
    path.write_text(program, encoding="utf-8")
    bindings = {"explain": ["x=0.7"], "diff": [], "plot": ["x=-2:2"]}[command[0]]
    inline = run([command[0], program, *bindings, *command[1:]])
    from_file = run([command[0], f"@{path}", *bindings, *command[1:]])
    assert inline[0] == 0 and from_file == inline


def test_a_syntax_error_in_a_file_is_placed_as_a_compiler_places_it(tmp_path) -> None:
    rng = random.Random(7)
    for _ in range(12):
        good = [f"v{k} = {rng.choice(['x', 'x*2', 'sin(x)'])} + {k}" for k in range(rng.randint(0, 6))]
        indent = " " * rng.randint(0, 5)
        bad = f"{indent}y = x +* 1"
        lines = [*good, bad, "y"]
        path = tmp_path / f"case{_}.ad"
        path.write_text("\n".join(lines), encoding="utf-8")
        code, _, err = run(["eval", f"@{path}", "x=1"])
        line, column = len(good) + 1, len(indent) + len("y = x +") + 1  # where '*' stands
        assert code == 2
        assert err.startswith(f"autodiff: {path}:{line}:{column}: syntax error: "), err
        assert bad in err  # the caret picture shows the line itself


def test_an_error_that_is_not_in_the_program_names_no_file(tmp_path) -> None:
    path = tmp_path / "p.ad"
    path.write_text("log(x)", encoding="utf-8")
    code, _, err = run(["eval", f"@{path}", "x=oops"])
    assert code == 2 and str(path) not in err
    code, _, err = run(["eval", f"@{path}", "x=-1"])  # an error placed in the program: the file's position
    assert code == 1 and err.startswith(f"autodiff: {path}:1:1: domain error: ")


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda d: str(d / "missing.ad"), 2, "no such file"),
        (lambda d: str(d), 2, "directory"),
        (lambda d: "", 2, "@ needs a file name"),
        (lambda d: _write(d / "latin1.ad", b"x + \xe9"), 2, "not valid UTF-8 (byte 4)"),
    ],
)
def test_a_file_that_cannot_be_read_is_an_input_error(tmp_path, make, code, words) -> None:
    got, out, err = run(["eval", "@" + make(tmp_path), "x=1"])
    assert got == code and out == "" and words in err and err.startswith("autodiff: input error: ")


def _write(path: pathlib.Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("limit", [8, 50])
def test_a_file_larger_than_the_program_limit_is_read_no_further(tmp_path, monkeypatch, limit) -> None:
    monkeypatch.setattr(parser, "MAX_PROGRAM_CHARS", limit)
    path = tmp_path / "big.ad"
    path.write_text("x" + "+x" * (2 * limit), encoding="utf-8")  # more than 4 bytes a character allows
    code, _, err = run(["eval", f"@{path}", "x=1"])
    assert code == 1 and f"more than {4 * limit:,} bytes" in err
    path.write_text("x" + "+x" * (limit // 2 - 1), encoding="utf-8")  # within the limit: answered
    assert run(["eval", f"@{path}", "x=1"])[0] == 0


def test_at_at_names_a_file_whose_name_starts_with_at(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "@notes").write_text("x*3", encoding="utf-8")
    code, out, _ = run(["eval", "@@notes", "x=2", "--json"])
    assert code == 0 and json.loads(out)["value"] == 6.0


def test_a_hostile_file_name_is_escaped(tmp_path) -> None:
    name = tmp_path / "a\x1b]0;pwned\x07.ad"
    code, _, err = run(["eval", f"@{name}", "x=1"])
    assert code == 2 and "\x1b" not in err and "\\x1b" in err


def test_program_and_rows_cannot_both_be_standard_input() -> None:
    code, _, err = run(["eval", "@-", "--rows", "-"], input="x\n")
    assert code == 2 and "standard input" in err


@pytest.mark.parametrize("program", ["examples/neuron.ad", "model.ad", "nope/thing.ad", "examples/jobs.txt"])
def test_a_program_that_reads_as_a_file_name_gets_a_hint_naming_at(program, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    code, _, err = run(["eval", program, "x=1"])
    assert code == 2 and f"write @{program}" in err
    assert ("is a file" in err) == os.path.isfile(program)


def test_a_program_that_parses_but_names_a_file_gets_the_hint(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a").write_text("x^2", encoding="utf-8")
    code, _, err = run(["eval", "models/a", "x=1"])  # models divided by a: a name error
    assert code == 2 and "models/a is a file: write @models/a" in err


@pytest.mark.parametrize(
    ("program", "args"),
    [("a/b", []), ("x +* 1", ["x=1"]), ("a/b", ["a=1", "b=0"]), ("x + y/ * 2", ["x=1"]), ("exp(x) # see a/b.ad", [])],
)
def test_no_hint_where_no_file_was_meant(program, args) -> None:
    _, _, err = run(["eval", program, *args])
    assert "hint" not in err and "@" not in err


# --- people output in a pipe ------------------------------------------------------------

PEOPLE = [
    ["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1"],
    ["eval", "z = a*b + c; y = tanh(z); y*z + y", "a=0.5", "b=-1", "c=2", "--width", "60"],
    ["explain", "tanh(a*b+c)", "a=2", "b=3", "c=1"],
    ["explain", "c = a + b; d = c * 4", "a=2", "b=3", "--ascii"],
    ["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1", "--check", "--no-dag"],
    ["eval", "x^3*y + sin(x*y)", "x=0.5", "y=2", "--hessian", "--no-dag"],
    ["batch", str(ROOT / "examples" / "jobs.txt")],
    ["eval", "x^2*y", "x=0:1:0.25", "y=1:2:1", "--format", "text"],
    ["eval", "log(a)*b", "--rows", str(ROOT / "examples" / "points.csv"), "--format", "text", "--keep", "label"],
    ["diff", "tanh(a*b+c)"],
    ["plot", "tanh(x)", "x=-3:3", "--height", "12"],
]


@pytest.mark.parametrize("args", PEOPLE, ids=[" ".join(a[:2]) for a in PEOPLE])
def test_people_output_in_a_pipe_has_no_spaces_at_line_ends(args) -> None:
    code, out, err = run(args)
    assert code in (0, 1) and out.strip(), err
    assert [line for line in out.split("\n") if line != line.rstrip()] == []


# --- hints ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "args"),
    [
        ("sqrt(x^2+y^2)", ["x=0", "y=0"]),
        ("sqrt(x)", ["x=0"]),
        ("log(x)", ["x=0"]),
        ("1/x", ["x=0"]),
        ("exp(x)", ["x=800"]),
        ("asin(x)", ["x=1"]),
        ("x^0.5 * y", ["x=0", "y=3"]),
    ],
)
@pytest.mark.parametrize("command", ["eval", "explain"])
def test_a_nonfinite_answer_names_the_flag_that_shows_it(program, args, command) -> None:
    code, _, err = run([command, program, *args])
    assert code == 1 and "--allow-nonfinite" in err
    code, out, _ = run([command, program, *args, "--allow-nonfinite", "--json"])
    record = json.loads(out)
    numbers = [record["value"], *record["gradients"].values()]
    assert code == 0 and any(n in ("inf", "-inf", "nan") for n in numbers)  # the hint told the truth


@pytest.mark.parametrize(("program", "args"), [("sqrt(x)", ["x=0", "--hessian"]), ("log(x", ["x=1"]), ("y", ["x=1"])])
def test_no_flag_is_named_where_it_would_not_answer(program, args) -> None:
    _, _, err = run(["eval", program, *args])
    assert err and "--allow-nonfinite" not in err


@pytest.mark.parametrize(
    ("args", "joined"),
    [
        (["x", "=", "3"], "x=3"),
        (["x=", "3"], "x=3"),
        (["x", "=3"], "x=3"),
        (["a=1", "rate", "=", "-0.5"], "rate=-0.5"),
        (["θ", "=", "1e3"], "θ=1e3"),
    ],
)
def test_a_binding_split_at_its_spaces_gets_the_joined_spelling(args, joined) -> None:
    code, _, err = run(["eval", "x", *args])
    assert code == 2 and f"write {joined}" in err


def test_no_joined_spelling_for_a_binding_that_is_simply_wrong() -> None:
    code, _, err = run(["eval", "x", "x=1", "y"])
    assert code == 2 and "no spaces" not in err
