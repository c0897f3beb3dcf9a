"""Hostile text stays inert, and every people output is bounded.

Terminal escapes and bidi overrides in programs, ids and file names must come
out escaped wherever a person sees them; rich markup in them must print
literally; CSV cells must not start a spreadsheet formula; and a huge program
must not make explain, the Hessian table or a caret picture huge or slow.
The references are independent of the code under test: Unicode categories
from ``unicodedata``, the csv module, hand-computed values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.errors import SYNTAX, AutodiffError
from autodiff_cli.render.batch_table import BatchTable
from autodiff_cli.text import caret_picture, printable

OSC_TITLE = "\x1b]0;owned\x07"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
ERASE_ROW = "\x1b[1A\x1b[2K"
BIDI = "\u202e\u2066\u200f\u061c"
C1 = "\x9b\x85"
HOSTILE = OSC_TITLE + OSC_LINK + ERASE_ROW + BIDI + C1 + "\x7f"
# What each must look like once escaped: Python's repr spelling.
ESCAPED = [
    "\\x1b]0;owned\\x07",
    "\\x1b]8;;http://evil.example/",
    "\\x1b[1A\\x1b[2K",
    "\\u202e\\u2066\\u200f\\u061c",
    "\\x9b\\x85\\x7f",
]
MARKUP = "[red]red[/red] [link=http://evil.example/]click[/link] [bold]"

# An SGR sequence (colour, bold) is what autodiff itself writes in colour mode.
_OWN_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def run(args: list[str], input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, input=input, env={"NO_COLOR": "1", "FORCE_COLOR": "", "COLUMNS": "300", **(env or {})})


def assert_inert(out: str, colour: bool = False) -> None:
    """No character a terminal acts on, or that reorders text, except newline and tab."""
    if colour:
        out = _OWN_STYLE.sub("", out)
    bad = [c for c in out if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
    assert not bad, f"raw {sorted(set(map(hex, map(ord, bad))))} in {out[:400]!r}"


def assert_escaped(out: str) -> None:
    for form in ESCAPED:
        assert form in out, f"{form!r} missing from {out[:600]!r}"


# --- printable ----------------------------------------------------------------------


def test_printable_escapes_what_unicode_calls_control_or_format() -> None:
    everything = "".join(map(chr, range(0x3000))) + "\ufeff\U000e0001\ud800"
    shown = printable(everything)
    assert_inert(shown)
    for c in everything:
        if c != "\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            assert c not in shown
    # Letters, digits, operators, CJK and combining marks are shown as they are.
    for text in ("tanh(a*b+c) # ok", "日本 = 1", "e\u0301", "x\ty"):
        assert printable(text) == text


# --- terminal injection ---------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True])
def test_eval_display_leaves_hostile_comments_out(colour: bool) -> None:
    env = {"FORCE_COLOR": "1", "NO_COLOR": ""} if colour else None
    result = run(["eval", f"x*2 # {HOSTILE}\ny = x # {HOSTILE}", "x=1"], env=env)
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout, colour)
    assert "owned" not in result.stdout and "evil" not in result.stdout  # the header shows no comment
    assert _OWN_STYLE.sub("", result.stdout).startswith("x*2\ny = x\n= 1\n")


@pytest.mark.parametrize("flag", ["--check", "--hessian"])
def test_check_and_hessian_outputs_leave_hostile_comments_out(flag: str) -> None:
    result = run(["eval", f"x*y # {HOSTILE}", "x=1", "y=2", flag])
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    assert "owned" not in result.stdout and result.stdout.startswith("x*y = 2\n")


@pytest.mark.parametrize("program", [f"x*2 # {HOSTILE}", f"a = x*2 # {HOSTILE}\na + 1 # {HOSTILE}"])
def test_explain_escapes_the_program(program: str) -> None:
    result = run(["explain", program, "x=1"])
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    assert_escaped(result.stdout)


def test_json_keeps_the_exact_text() -> None:
    program = f"x*2 # {HOSTILE}"
    assert json.loads(run(["eval", program, "x=1", "--json"]).stdout)["expr"] == program
    assert json.loads(run(["explain", program, "x=1", "--json"]).stdout)["expr"] == program


def test_caret_picture_escapes_the_line_and_keeps_the_caret_under_the_column() -> None:
    result = run(["eval", f"x + {HOSTILE} + 1", "x=1"])
    assert result.exit_code == 2
    assert_inert(result.stderr)
    first, line, caret = result.stderr.splitlines()
    assert "U+001B" in first
    # The caret stands under the escaped ESC: the first backslash of the picture.
    assert line.index("\\x1b") == caret.index("^")


def test_error_messages_on_stderr_are_escaped() -> None:
    err = AutodiffError(SYNTAX, f"bad {HOSTILE}", 1, 1, "x")
    from autodiff_cli.cli import report_error

    buffer = io.StringIO()
    old, sys.stderr = sys.stderr, buffer
    try:
        report_error(err)
    finally:
        sys.stderr = old
    assert_inert(buffer.getvalue())
    assert_escaped(buffer.getvalue())


def _jobs(tmp: Path, name: str, jobs: list[dict]) -> str:
    path = tmp / name
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs), encoding="utf-8")
    return str(path)


def _columns(table: str) -> list[str]:
    """The batch table's three columns, each read top to bottom with the folds joined."""
    lines = table.splitlines()
    header = lines[0]
    cuts = [0, header.index("program"), header.index("value and gradient"), None]
    return ["".join(line[cuts[k] : cuts[k + 1]].strip() for line in lines[1:]) for k in range(3)]


def test_batch_table_escapes_ids_programs_and_file_names(tmp_path: Path) -> None:
    jobs = [{"id": HOSTILE, "expr": f"x*2 # {HOSTILE}", "vars": {"x": 1}}, {"id": HOSTILE, "expr": "x +", "vars": {}}]
    first = _jobs(tmp_path, f"a{ERASE_ROW}{BIDI}.jsonl", jobs)
    second = _jobs(tmp_path, "b.jsonl", jobs[:1])
    result = run(["batch", first, second])
    assert result.exit_code == 1, result.output
    assert_inert(result.stdout)
    where, program, answer = _columns(result.stdout)
    assert f"a\\x1b[1A\\x1b[2K{printable(BIDI)}.jsonl:1" in where
    assert program.count(printable(HOSTILE)) == 5
    assert answer.count("2d/dx  2") == 2 and "syntax error" in answer


def test_batch_table_escapes_error_messages() -> None:
    record = {"line": 1, "expr": "x", "error": {"kind": "input", "message": f"bad {HOSTILE}"}}
    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(BatchTable().row(record))
    assert_inert(console.file.getvalue())
    assert "\\x1b]0;owned\\x07" in console.file.getvalue()


def test_markup_in_user_text_prints_literally(tmp_path: Path) -> None:
    program = f"x*2 # {MARKUP}"
    result = run(["explain", program, "x=1"])
    assert result.exit_code == 0, result.output
    assert MARKUP in result.stdout
    first = _jobs(tmp_path, "[b]j", [{"id": "[red]i", "expr": program, "vars": {"x": 1}}])
    second = _jobs(tmp_path, "k", [{"expr": "x", "vars": {"x": 1}}])
    result = run(["batch", first, second])
    assert result.exit_code == 0, result.output
    where, program, _ = _columns(result.stdout)
    assert "[b]j:1" in where
    assert program.startswith("[red]i") and MARKUP in program


# --- spreadsheet formulas -------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _undo(cell: str) -> str:
    """The documented way back: a cell that starts with ' had one ' added."""
    return cell[1:] if cell.startswith("'") else cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS) or _is_number(cell), (cell, row)


IDS = [
    '=HYPERLINK("http://evil.example/","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "'=x",
    "'plain",
    "plain",
]


def test_batch_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    jobs = [{"id": i, "expr": "-a^2", "vars": {"a": 3}} for i in IDS]
    jobs += [{"id": "-7", "expr": "-a", "vars": {"a": -2.5}}, {"id": "=bad", "expr": "=a", "vars": {"a": 1}}]
    result = run(["batch", "--format", "csv", _jobs(tmp_path, "jobs.jsonl", jobs)])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header, body = rows[0], rows[1:]
    assert header == ["line", "id", "expr", "value", "gradients", "error_kind", "error_message"]
    assert_no_formula(body)
    assert [_undo(r[1]) for r in body] == [*IDS, "-7", "=bad"]  # the rule reverses exactly
    assert [_undo(r[2]) for r in body] == ["-a^2"] * len(IDS) + ["-a", "=a"]
    assert body[0][2] == "'-a^2"
    # Numbers are written as they were: -(3^2) = -9, d/da = -2*3 = -6; -(-2.5) = 2.5.
    assert {r[3] for r in body[: len(IDS)]} == {"-9.0"}
    assert json.loads(body[0][4]) == {"a": -6.0}
    assert body[len(IDS)][1:4] == ["-7", "'-a", "2.5"]
    assert body[-1][5] == "syntax"


def test_batch_csv_file_column_is_defused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the file column holds the names as given: relative ones here
    _jobs(tmp_path, "=f.jsonl", [{"expr": "a", "vars": {"a": 1}}])
    _jobs(tmp_path, "@g.jsonl", [{"expr": "a", "vars": {"a": 1}}])
    rows = list(csv.reader(io.StringIO(run(["batch", "--format", "csv", "=f.jsonl", "@g.jsonl"]).stdout)))
    assert_no_formula(rows)
    assert [r[0] for r in rows[1:]] == ["'=f.jsonl", "'@g.jsonl"]


def test_sweep_csv_echoes_are_defused_and_numbers_unchanged(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text('x,y\n-2.5,+1\n=1+2,2\n"@SUM(A1)",-0.5\n-1e3,3\n', encoding="utf-8")
    result = run(["eval", "x*y", "--rows", str(rows), "--format", "csv"])
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert_no_formula(table)
    assert table[0] == ["x", "y", "value", "d/dx", "d/dy", "error_kind", "error_message"]
    assert table[1][:3] == ["-2.5", "+1", "-2.5"]  # as written in the rows, value -2.5*1
    assert [_undo(c) for c in table[2][:2]] == ["=1+2", "2"] and table[2][5] == "input"
    assert [_undo(c) for c in table[3][:2]] == ["@SUM(A1)", "-0.5"]
    assert float(table[4][2]) == -3000.0


def test_sweep_ranges_write_negative_numbers_as_numbers() -> None:
    result = run(["eval", "-x^2", "x=-1:1:1", "--format", "csv"])
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert [r[0] for r in table[1:]] == ["-1.0", "0.0", "1.0"]
    # -(x^2) and its derivative -2x, at -1, 0 and 1.
    assert [[float(c) for c in r[1:3]] for r in table[1:]] == [[-1.0, 2.0], [0.0, 0.0], [-1.0, -2.0]]


# --- bounds ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_explain_of_ten_thousand_terms_starts_at_once_and_leaves_nothing_out() -> None:
    import itertools

    from rich.console import Console

    from autodiff_cli.explain import explain
    from autodiff_cli.program import compile_program
    from autodiff_cli.render.explain import explanation_parts

    n = 10_000
    source = " + ".join(f"x{i}" for i in range(n))
    explanation = explain(compile_program(source), {f"x{i}": float(i) for i in range(n)})
    console = Console(width=100, file=io.StringIO(), color_system=None)
    start = time.perf_counter()
    parts = explanation_parts(explanation)
    for part in itertools.islice(parts, 12):  # the header and the first screens of the forward pass
        console.print(part)
    assert time.perf_counter() - start < 3.0, "the first screen waits for no more than itself"
    for part in parts:
        console.print(part)
    out = console.file.getvalue()
    assert "left out" not in out
    assert "\n9999. n9999 = n9998+x9999" not in out and "\n1. n9999 = n9998+x9999" in out  # the result's step first
    assert "\n9999. n1 = x0+x1" in out  # ... and the last, nearest the inputs
    assert sum(line.startswith(" ∂/∂x") for line in out.splitlines()) == n
    assert f"{sum(range(n))}" in out  # the result, 49995000
    assert len(out) < 500 * n, len(out)  # linear: a few lines a step


def test_explain_json_stays_complete() -> None:
    n = 300
    source = " + ".join(f"x{i}" for i in range(n))
    result = run(["explain", source, *[f"x{i}=1" for i in range(n)], "--json"])
    record = json.loads(result.stdout)
    assert len(record["forward"]) == 2 * n - 1 and len(record["backward"]) == n - 1
    assert record["gradients"] == {f"x{i}": 1.0 for i in range(n)}


def _ring(n: int) -> tuple[str, list[str]]:
    """x0*x1 + x1*x2 + ... + x(n-1)*x0: its Hessian is 1 between neighbours, 0 elsewhere."""
    return " + ".join(f"x{i}*x{(i + 1) % n}" for i in range(n)), [f"x{i}={1 + i / n}" for i in range(n)]


def test_hessian_table_shows_at_most_twelve_inputs() -> None:
    n = 40
    program, bindings = _ring(n)
    result = run(["eval", program, *bindings, "--hessian", "--no-dag", "--width", "200"])
    assert result.exit_code == 0, result.output
    table = result.stdout.split("hessian:")[1].splitlines()
    assert len(table) <= 17
    assert "the first 12 of 40 inputs shown" in table[-1]
    rows = [line.split() for line in table if line.startswith("∂/∂x")]
    assert [r[0] for r in rows] == [f"∂/∂x{i}" for i in range(12)]
    for i, row in enumerate(rows):
        assert [float(c) for c in row[1:]] == [1.0 if abs(i - j) == 1 else 0.0 for j in range(12)]
    full = json.loads(run(["eval", program, *bindings, "--hessian", "--json"]).stdout)["hessian"]
    assert len(full) == n and all(len(row) == n for row in full.values())
    assert full["x0"][f"x{n - 1}"] == 1.0 and full["x0"]["x2"] == 0.0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_hessian_display_of_two_thousand_inputs_costs_little() -> None:
    program, bindings = _ring(2000)
    code = (
        "import json, resource, sys, time\n"
        "from click.testing import CliRunner\n"
        "from autodiff_cli.cli import main\n"
        "args = json.loads(sys.stdin.read())\n"
        "start = time.perf_counter()\n"
        "out = CliRunner().invoke(main, args).stdout\n"
        "print(json.dumps([time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(out)]))\n"
    )
    args = ["eval", program, *bindings, "--hessian", "--no-dag"]
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(args), capture_output=True, text=True, check=True)
    seconds, kilobytes, size = json.loads(done.stdout)
    assert seconds < 20, seconds  # was 61 s
    assert kilobytes < 600 * 1024, kilobytes  # was 1.5 GB
    assert size < 20_000, size


def test_check_table_is_bounded_and_keeps_what_is_not_ok() -> None:
    n = 80
    program = " + ".join(f"x{i}" for i in range(n - 1)) + f" + abs(x{n - 1})"
    bindings = [f"x{i}=1" for i in range(n - 1)] + [f"x{n - 1}=0"]
    result = run(["eval", program, *bindings, "--check", "--no-dag"])
    assert result.exit_code == 0, result.output
    check = result.stdout.split("Finite-difference check")[1]
    names = re.findall(r"^\s+(x\d+)\s", check, re.MULTILINE)
    assert len(names) == 30
    assert names[-1] == f"x{n - 1}"  # the kink at position 80 is not left out
    assert "50 more inputs, all ok" in check
    record = json.loads(run(["eval", program, *bindings, "--check", "--json"]).stdout)["check"]
    assert len(record["details"]) == n and record["details"][f"x{n - 1}"]["status"] == "kink"


def test_batch_table_rows_are_bounded() -> None:
    n = 100
    job = {
        "id": "big",
        "expr": " + ".join(f"x{i}" for i in range(n)) + " # " + "c" * 10_000,
        "vars": {f"x{i}": 1 for i in range(n)},
    }
    result = run(["batch"], input=json.dumps(job) + "\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) < 40 and sum(len(line.strip()) for line in lines) < 3_000  # was 10,000 c's and 100 rows
    _, program, answer = _columns(result.stdout)
    assert "70more(--formatjsonlhasthemall)" in answer.replace(" ", "")
    assert "morecharacters)" in program.replace(" ", "")


# --- caret pictures -------------------------------------------------------------------


def _caret_at(picture: str) -> tuple[str, int]:
    line, caret = picture.split("\n")
    return line, caret.index("^")


def test_caret_of_a_huge_line_is_a_window() -> None:
    line = "x+" * 1_900_000 + "$"
    err = AutodiffError(SYNTAX, "unexpected character '$'", 1, len(line), line)
    picture = err.caret()
    shown, at = _caret_at(picture)
    assert len(picture) < 300  # was 7.6 MB
    assert shown.startswith("  ...") and shown[at] == "$"


def test_caret_window_in_the_middle_marks_both_cuts_and_stays_aligned() -> None:
    line = "a" * 500 + "$" + "b" * 500
    shown, at = _caret_at(caret_picture(line, 501))
    assert shown.startswith("  ...") and shown.endswith("...") and shown[at] == "$"
    assert len(shown) <= 110


@pytest.mark.parametrize(
    ("line", "column", "under"),
    [("x\t+\t$", 5, "$"), ("x + \x1b + 1", 5, "\\"), ("日本 + $", 6, "$"), ("\u202ex + $", 6, "$")],
)
def test_caret_stays_under_its_character(line: str, column: int, under: str) -> None:
    shown, caret = AutodiffError(SYNTAX, "unexpected", 1, column, line).caret().split("\n")
    # Expand tabs the way a terminal does, on both lines alike; count wide characters twice.
    shown, caret = shown.expandtabs(8), caret.expandtabs(8)
    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in shown[: shown.index(under)])
    assert caret.index("^") == width


@pytest.mark.timeout(60)
def test_cli_caret_of_a_four_megabyte_line_is_short() -> None:
    result = run(["eval", "x + " + " " * 3_800_000 + "$", "x=1"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(result.stderr) < 400 and len(lines) == 3
    assert lines[1].rstrip().endswith("$") and lines[2].index("^") == len(lines[1]) - 1


def test_caret_counts_lines_as_the_parser_does() -> None:
    # \v and \f are blanks inside a line; only \n ends one.
    result = run(["eval", "x\v+\f1\n+* 2", "x=1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == ["  +* 2", "   ^"]
