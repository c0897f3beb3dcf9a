"""The shape of the command line (issue 12): one package, one decision per run, the same options everywhere.

References are independent of the code under test: exact ranges against
Python's Fraction, values against plain float arithmetic worked out here,
refusals against the flags the user typed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pathlib
import sys
from fractions import Fraction

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.ranges import MAX_SWEEP_ROWS, is_range, parse_axis, split_arguments

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli"
pytestmark = pytest.mark.timeout(120)


def run(args: list[str], input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


# --- 1. the cli package ------------------------------------------------------------------


def test_the_cli_is_a_package_of_small_modules() -> None:
    modules = sorted(p.name for p in (PACKAGE / "cli").glob("*.py"))
    assert {"__init__.py", "options.py", "commands.py", "output.py"} <= set(modules)
    assert not (PACKAGE / "cli.py").exists() and not (PACKAGE / "streaming.py").exists()
    for name in modules:
        assert len((PACKAGE / "cli" / name).read_text(encoding="utf-8").splitlines()) < 400, name


def test_one_function_makes_every_console() -> None:
    # Issue 12: four Consoles and two colour policies; now render.display.make_console is the one maker.
    makers = {str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8").count("Console(") for p in PACKAGE.rglob("*.py")}
    assert makers.pop("render/display.py") == 1
    assert sum(makers.values()) == 0, {name: n for name, n in makers.items() if n}


def test_the_progress_bar_draws_on_the_one_stderr_console() -> None:
    from rich.console import Console

    from autodiff_cli.render.progress import BatchProgress

    sink = io.StringIO()
    progress = BatchProgress(10, redirect_stdout=False, console=Console(file=sink, force_terminal=True, width=60))
    with progress:
        progress.read(5)
        progress.answered()
    assert progress.progress.console.file is sink


def test_every_command_has_help_from_its_docstring() -> None:
    for name, command in main.commands.items():
        assert command.help and command.callback is not None, name
        code, out, _ = run([name, "--help"])
        assert code == 0 and command.help.splitlines()[0] in out


# --- 2. ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["0:1:0.1", "0:0.3:0.1", "-1:1:0.25", "1:0:-0.1", "0.1:0.7:0.2", "1e-3:2e-3:1e-4", "-7.3:4.1:0.37", "3:3:1"],
)
def test_a_range_steps_exactly_in_decimal(spec: str) -> None:
    start, stop, step = (Fraction(p) for p in spec.split(":"))
    expected = []
    i = 0
    while (start + i * step - stop) * step <= 0:
        expected.append(float(start + i * step))
        i += 1
    axis = parse_axis(f"x={spec}")
    assert axis.count == len(expected)
    assert [axis.value(i) for i in range(axis.count)] == expected


def test_a_sweep_prints_0_3_not_its_float_drift() -> None:
    code, out, _ = run(["eval", "x", "x=0:1:0.1"])
    assert code == 0
    xs = [row["x"] for row in csv.DictReader(io.StringIO(out))]
    assert xs == [repr(float(Fraction(i, 10))) for i in range(11)]
    assert "0.30000000000000004" not in out


def test_split_arguments_tells_ranges_from_bindings_once() -> None:
    assert is_range("x=0:1:1") and not is_range("x=1") and not is_range("x")
    constants, axes = split_arguments(["a=2", "x=0:1:0.5"])
    assert constants == {"a": 2.0} and [a.name for a in axes] == ["x"] and axes[0].count == 3
    assert MAX_SWEEP_ROWS == 10_000_000
    import autodiff_cli.sweep as sweep

    assert not hasattr(sweep, "MAX_ROWS") and sweep.parse_axis is parse_axis  # re-exported, not copied


# --- 3. refused combinations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (["eval", "x^2", "x=0:2:1", "--hessian"], ["--hessian", "x=0:2:1"]),
        (["eval", "x^2", "x=0:2:1", "--check"], ["--check", "x=0:2:1"]),
        (["eval", "x^2", "x=0:2:1", "--graph", "dot"], ["--graph", "x=0:2:1"]),
        (["eval", "x^2", "--rows", "-", "--hessian"], ["--hessian", "--rows"]),
        (["eval", "x^2", "x=1", "--format", "csv", "--check"], ["--check", "--format csv"]),
        (["eval", "x^2", "x=1", "--format", "jsonl", "--graph", "mermaid"], ["--graph", "--format jsonl"]),
        (["eval", "x^2", "x=1", "--graph", "dot", "--json"], ["--graph", "--json"]),
        (["eval", "x^2", "x=1", "--graph", "dot", "--check"], ["--graph", "--check"]),
        (["eval", "x^2", "x=1", "--graph", "dot", "--hessian"], ["--graph", "--hessian"]),
        (["eval", "x^2", "x=1", "--hessian", "--allow-nonfinite"], ["--hessian", "--allow-nonfinite"]),
        (["eval", "x^2", "x=1", "--json", "--format", "csv"], ["--json", "--format csv"]),
        (["explain", "x^2", "x=0:1:0.5"], ["explain", "x="]),
        (["eval", "x^2", "x=1", "--keep", "label"], ["--keep", "--rows"]),
        (["eval", "x^2", "--rows", "-", "x=0:1:1"], ["--rows", "x=0:1:1"]),
    ],
)
def test_flags_that_cannot_combine_are_a_usage_error_naming_both(args: list[str], flags: list[str]) -> None:
    code, out, err = run(args, input="x\n1\n")
    assert code == 2, err
    assert out == ""
    for flag in flags:
        assert flag in err


# --- 4. the same options on every command ------------------------------------------------------

COMMANDS = {
    "eval": (["eval", "x*2", "x=1"], None),
    "sweep": (["eval", "x*2", "x=0:1:1"], None),
    "explain": (["explain", "x*2", "x=1"], None),
    "diff": (["diff", "x*2"], None),
    "plot": (["plot", "x*2", "x=0:1"], None),
    "batch": (["batch"], '"x*2" x=1\n'),
}
OPTIONS = {
    "--format": ["--format", "json"],
    "--json": ["--json"],
    "--digits": ["--digits", "3"],
    "--width": ["--width", "60"],
    "--ascii": ["--ascii"],
    "--quiet": ["--quiet"],
    "--allow-nonfinite": ["--allow-nonfinite"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_command_takes_or_refuses_every_shared_option(command: str, option: str) -> None:
    args, stdin = COMMANDS[command]
    code, out, err = run([*args, *OPTIONS[option]], input=stdin)
    if code == 0:
        assert out
    else:
        assert code == 2 and option in err, err


@pytest.mark.parametrize("command", ["eval", "explain", "diff"])
def test_format_json_is_one_json_object(command: str) -> None:
    args = [command, "x*2"] + (["x=1"] if command != "diff" else [])
    for spelling in (["--format", "json"], ["--json"], ["-fjson"]):
        code, out, _ = run([*args, *spelling])
        assert code == 0
        assert isinstance(json.loads(out), dict) and out.count("\n") == 1


def test_batch_json_is_its_older_spelling_of_json_lines() -> None:
    jobs = '"x*2" x=1\n"x*3" x=2\n'
    json_out = run(["batch", "--format", "json", "-q"], jobs)[1]
    assert json_out == run(["batch", "--format", "jsonl", "-q"], jobs)[1]
    assert [json.loads(line)["value"] for line in json_out.splitlines()] == [2.0, 6.0]


def test_digits_reaches_the_display() -> None:
    code, out, _ = run(["eval", "x/3", "x=1", "--digits", "2", "--no-dag"])
    assert code == 0 and "0.33" in out and "0.333" not in out


def test_quiet_silences_a_sweep_summary() -> None:
    loud = run(["eval", "log(x)", "x=-1:1:1"])
    quiet = run(["eval", "log(x)", "x=-1:1:1", "--quiet"])
    assert loud[0] == quiet[0] == 1 and "failed" in loud[2] and quiet[2] == ""
    assert loud[1] == quiet[1]


# --- 5. argument parsing ---------------------------------------------------------------------


def test_double_dash_ends_the_options() -> None:
    code, out, err = run(["eval", "--json", "--", "--x", "x=2"])
    assert code == 0, err
    record = json.loads(out)
    assert record["expr"] == "--x" and record["value"] == 2.0  # minus minus x


def test_an_option_value_may_be_attached() -> None:
    assert run(["eval", "x", "x=2", "-fjson"])[1] == run(["eval", "x", "x=2", "--json"])[1]


def test_did_you_mean_survives() -> None:
    code, _, err = run(["eval", "x", "x=2", "--jsn"])
    assert code == 2 and "--jsn" in err and "Did you mean" in err and "--json" in err


def test_diff_says_it_takes_no_bindings() -> None:
    code, _, err = run(["diff", "a^2", "a=2"])
    assert code == 2 and "takes no bindings" in err and "a=2" in err
    assert "unexpected extra" not in err


# --- 6. --rows --keep ------------------------------------------------------------------------------


def test_keep_passes_a_label_column_through() -> None:
    rows = 'label,x,note\nfirst,1.5,a\n"se,cond",-2,b\nbad,zz,c\n'
    code, out, _ = run(["eval", "x^2", "--rows", "-", "--keep", "label"], rows)
    assert code == 1  # the bad row
    got = list(csv.DictReader(io.StringIO(out)))
    assert [r["label"] for r in got] == ["first", "se,cond", "bad"]
    assert [r["value"] for r in got[:2]] == [repr(1.5 * 1.5), repr(-2.0 * -2.0)]
    assert got[2]["error_kind"] == "input" and "note" not in got[0]


def test_keep_in_json_lines() -> None:
    rows = "x,tag\n3,t3\n4,t4\n"
    code, out, _ = run(["eval", "x*2", "--rows", "-", "--keep", "tag", "--json"], rows)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["kept"]["tag"], r["value"]) for r in records] == [("t3", 6.0), ("t4", 8.0)]


def test_keep_a_missing_column_is_refused() -> None:
    code, out, err = run(["eval", "x", "--rows", "-", "--keep", "nope"], "x\n1\n")
    assert code == 2 and "nope" in err and out == ""


def test_the_range_count_matches_float_math_for_integers() -> None:
    axis = parse_axis("t=0:9999:1")
    assert axis.count == 10_000 and axis.value(9999) == 9999.0 and math.isclose(axis.value(5000), 5000.0)


# --- 7. a binding is checked once, at the edge ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "x*y", "x=1", "y=2"],
        ["eval", "x*y", "x=1", "y=2", "--check"],
        ["eval", "x*y", "x=1", "y=2", "--hessian", "--json"],
        ["explain", "x*y", "x=1", "y=2"],
        ["eval", "x*y", "x=0:1:1", "y=2"],
    ],
)
def test_lower_layers_get_bindings_already_checked(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import autodiff_cli.bindings as bindings
    import autodiff_cli.check as check
    import autodiff_cli.program as program

    seen: list[bool] = []
    real = bindings.check_bindings

    def spy(given: object, *rest: object) -> bindings.CheckedBindings:
        seen.append(type(given) is bindings.CheckedBindings)  # passed through untouched, not checked again
        return real(given, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(program, "check_bindings", spy)
    monkeypatch.setattr(check, "check_bindings", spy)
    code, _, err = run(args)
    assert code == 0, err
    assert all(seen), seen


def test_keep_is_for_csv_rows_only() -> None:
    code, out, err = run(["eval", "x", "--rows", "-", "--keep", "tag"], '{"x": 1}\n')
    assert code == 2 and "--keep tag" in err and out == ""


def test_a_sweep_takes_json_as_its_older_spelling_of_json_lines() -> None:
    lines = [run(["eval", "x*3", "x=1:2:1", *spelling])[1] for spelling in (["--json"], ["-f", "json"], ["-fjsonl"])]
    assert lines[0] == lines[1] == lines[2]
    assert [json.loads(line)["value"] for line in lines[0].splitlines()] == [3.0, 6.0]


def test_an_axis_cannot_be_made_without_its_exact_steps() -> None:
    from autodiff_cli.ranges import Axis

    with pytest.raises(TypeError):
        Axis("x", 0.0, 1.0, 0.1, 11)  # type: ignore[call-arg]


def test_keep_a_column_a_short_row_lacks_is_empty() -> None:
    code, out, _ = run(["eval", "x", "--rows", "-", "--keep", "label"], "x,y,label\n1,2\n3,4\n")
    assert code == 1
    got = list(csv.DictReader(io.StringIO(out)))
    assert [(r["label"], r["x"], r["error_kind"]) for r in got] == [("", "1", "input"), ("", "3", "input")]


def test_nothing_below_the_cli_imports_it() -> None:
    import re

    below = [p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts[:1] and p.name != "__main__.py"]
    assert len(below) > 20
    for path in below:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (\.+|autodiff_cli\.)cli\b", text, re.M), path


def test_the_two_consoles_write_to_their_own_streams() -> None:
    # The progress bar once went to stdout, into the records: the stderr console must follow sys.stderr.
    from autodiff_cli.cli.output import console, error_console

    assert error_console().file is sys.stderr and console().file is sys.stdout


def test_plot_notes_follow_digits() -> None:
    # --digits was declared by plot but reached nothing: the kink note now shows that many digits.
    program = ["plot", "abs(x - 0.123456789)", "x=-1:1", "--width", "60", "--height", "10"]
    _, default, _ = run(program)
    _, seven, _ = run([*program, "--digits", "7"])
    assert "x = 0.1235" in default and "x = 0.1234568" in seven  # f"{0.123456789:.4g}", f"{0.123456789:.7g}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "args",
    [
        ["explain", "c = θ*10; c + θ", "θ=2"],
        ["eval", "x*θ", "x=1", "θ=2", "--hessian"],
        ["eval", "x*θ", "x=1", "θ=2", "--check"],
        ["eval", "x*θ", "x=1", "θ=2"],
    ],
)
def test_an_ascii_terminal_gets_ascii_and_never_an_internal_error(args: list[str]) -> None:
    # The tables printed through rich once raised UnicodeEncodeError (an internal error) where the display did not.
    import subprocess

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", *args], capture_output=True, env=env, timeout=50)
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii() and done.stdout.strip() and b"internal error" not in done.stderr
