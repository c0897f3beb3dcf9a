"""Sweeps: `autodiff eval PROGRAM --rows FILE` and NAME=START:STOP:STEP ranges.

Values are checked against the conformance corpus and against derivatives
worked out by hand; the block-at-a-time evaluator is checked against the same
references, and against Program.run bit for bit.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli.cli import main
from autodiff_cli.columns import ColumnProgram
from autodiff_cli.errors import AutodiffError
from autodiff_cli.ops import OPS
from autodiff_cli.program import compile_program
from autodiff_cli.sweep import Sweep, parse_axis

from .ptys import run_on_terminal

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "cases.jsonl").read_text().splitlines()]
OK_CASES = [c for c in CASES if "error" not in c]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def run(args: list[str], input: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def rows_of(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def sweep_csv(case: dict, repeat: int) -> str:
    names = list(case["vars"])
    row = ",".join(repr(case["vars"][n]) for n in names)
    return ",".join(names) + "\n" + (row + "\n") * repeat


# --- ranges --------------------------------------------------------------------------


def test_a_range_includes_its_stop_and_gives_exact_derivatives():
    code, out, err = run(["eval", "x^3", "x=-1:1:0.25"])
    rows = rows_of(out)
    xs = [float(r["x"]) for r in rows]
    assert xs == [-1 + 0.25 * i for i in range(9)]
    for r, x in zip(rows, xs, strict=True):
        assert close(float(r["value"]), x**3)
        assert close(float(r["d/dx"]), 3 * x**2)
        assert r["error_kind"] == ""
    assert code == 0 and err == ""


def test_the_last_value_is_the_stop_itself_within_rounding():
    assert [parse_axis("x=0:0.3:0.1").value(i) for i in range(4)] == [0.0, 0.1, 0.2, 0.3]
    assert parse_axis("x=0:1:0.1").count == 11
    assert parse_axis("x=1:0:-0.5").count == 3
    assert parse_axis("x=2:2:1").count == 1
    assert parse_axis("x=0:1:0.3").count == 4  # 0, 0.3, 0.6, 0.9: 1.2 would pass the stop


def test_several_ranges_give_their_cartesian_product_last_fastest():
    code, out, _ = run(["eval", "x^2 * y + k", "x=0:1:0.5", "y=1:2:1", "k=10"])
    rows = rows_of(out)
    assert [(float(r["x"]), float(r["y"])) for r in rows] == [(x, y) for x in (0, 0.5, 1) for y in (1, 2)]
    assert list(rows[0]) == ["x", "y", "k", "value", "d/dx", "d/dy", "d/dk", "error_kind", "error_message"]
    for r in rows:
        x, y = float(r["x"]), float(r["y"])
        assert float(r["k"]) == 10.0
        assert close(float(r["value"]), x * x * y + 10)
        assert (float(r["d/dx"]), float(r["d/dy"]), float(r["d/dk"])) == (2 * x * y, x * x, 1.0)
    assert code == 0


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("x=0:1:0", "the step cannot be 0"),
        ("x=0:1:-0.1", "never reaches"),
        ("x=1:0:0.5", "never reaches"),
        ("x=0:1e300:1e-300", "too many values"),
        ("x=0:1", "write NAME=START:STOP:STEP"),
        ("x=0:one:1", "not a number"),
        ("sin=0:1:1", "function"),
    ],
)
def test_bad_ranges_are_usage_errors(arg, message):
    code, out, err = run(["eval", "x + 1", arg])
    assert code == 2
    assert message in err
    assert out == ""


def test_too_many_rows_together_is_a_usage_error():
    code, _, err = run(["eval", "x*y", "x=0:9999:1", "y=0:9999:1"])
    assert code == 2 and "more than 10,000,000 rows" in err


def test_a_name_bound_twice_is_a_usage_error():
    code, _, err = run(["eval", "x*y", "x=0:1:1", "x=2"])
    assert code == 2 and "more than once" in err


def test_a_long_range_streams_every_row():
    code, out, _ = run(["eval", "sin(t)", "t=0:9999:1", "--format", "jsonl"])
    lines = out.splitlines()
    assert len(lines) == 10_000
    for i in (0, 1, 4095, 4096, 9999):
        record = json.loads(lines[i])
        assert record["row"] == i + 1
        assert record["inputs"] == {"t": float(i)}
        assert close(record["value"], math.sin(i)) and close(record["gradients"]["t"], math.cos(i))
    assert code == 0


def test_csv_output_without_ranges_is_one_row():
    code, out, _ = run(["eval", "a*b", "a=2", "b=5", "--format", "csv"])
    assert out == "a,b,value,d/da,d/db,error_kind,error_message\n2.0,5.0,10.0,5.0,2.0,,\n"
    assert code == 0


# --- rows from CSV -------------------------------------------------------------------


@pytest.mark.parametrize("case", OK_CASES, ids=[c["id"] for c in OK_CASES])
def test_corpus_program_swept_over_csv_rows_matches_expected(case):
    out = "".join(Sweep(compile_program(case["expr"]), {}, [], "jsonl").run(io.BytesIO(sweep_csv(case, 3).encode())))
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["row"] for r in records] == [1, 2, 3]
    for record in records:
        assert "error" not in record, record
        assert close(record["value"], case["value"])
        assert record["gradients"].keys() == case["gradients"].keys()
        assert all(close(record["gradients"][k], g) for k, g in case["gradients"].items())


def test_rows_from_a_file_with_shared_constants_and_extra_columns(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("label,a,b\nfirst,2,3\nsecond,0.5,-1\n")
    code, out, _ = run(["eval", "tanh(a*b+c)", "--rows", str(path), "c=1"])
    rows = rows_of(out)
    assert list(rows[0])[:4] == ["a", "b", "c", "value"]
    for r, (a, b) in zip(rows, [(2, 3), (0.5, -1)], strict=True):
        t = math.tanh(a * b + 1)
        d = 1 - t * t
        assert close(float(r["value"]), t)
        assert close(float(r["d/da"]), d * b) and close(float(r["d/db"]), d * a) and close(float(r["d/dc"]), d)
    assert [r["a"] for r in rows] == ["2", "0.5"]  # inputs are echoed as written
    assert code == 0


def test_quoted_crlf_and_plain_csv_give_the_same_answers():
    plain = "x,y\n1.5,2\n-3,0.25\n"
    quoted = 'x,"y"\r\n"1.5",2\r\n-3,"0.25"\r\n'
    crlf = plain.replace("\n", "\r\n")
    outs = [run(["eval", "x/y + sqrt(y)", "--rows", "-"], text)[1] for text in (plain, quoted, crlf)]
    assert outs[0] == outs[1] == outs[2]
    rows = rows_of(outs[0])
    assert close(float(rows[1]["d/dy"]), 3 / 0.25**2 + 0.5 / math.sqrt(0.25))


def test_bad_rows_are_error_rows_and_the_others_are_answered():
    text = "x\n4\nabc\n\n-1\n1_000\ninf\n9\n"
    code, out, err = run(["eval", "log(x)", "--rows", "-"], text)
    rows = rows_of(out)
    assert [r["x"] for r in rows] == ["4", "abc", "-1", "1_000", "inf", "9"]
    assert [r["error_kind"] for r in rows] == ["", "input", "domain", "input", "input", ""]
    assert "not a number" in rows[1]["error_message"]
    assert "log needs an argument > 0" in rows[2]["error_message"]
    assert rows[2]["value"] == rows[2]["d/dx"] == ""
    assert close(float(rows[5]["value"]), math.log(9)) and close(float(rows[5]["d/dx"]), 1 / 9)
    assert code == 1
    assert err.strip() == "autodiff: 2 rows ok, 4 failed"


def test_a_ragged_row_is_an_input_error():
    code, out, _ = run(["eval", "a+b", "--rows", "-"], "a,b\n1,2\n3\n4,5,6\n7,8\n")
    rows = rows_of(out)
    assert [r["error_kind"] for r in rows] == ["", "input", "input", ""]
    assert "1 fields; the header has 2" in rows[1]["error_message"]
    assert code == 1


def test_invalid_utf8_in_one_row_spoils_only_that_row():
    code, out, _ = run(["eval", "a*2", "--rows", "-"], b"a\n1\n\xff2\n3\n")
    rows = rows_of(out)
    assert [r["error_kind"] for r in rows] == ["", "input", ""]
    assert rows[1]["error_message"] == "the row is not valid UTF-8"
    assert rows[1]["a"] == "\ufffd2"
    assert [r["value"] for r in rows] == ["2.0", "", "6.0"]
    assert code == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("a,c\n", "b is not bound"),
        ("a,b,a\n", "two columns named a"),
        ("a,b,k\n", "both a column"),
        ("", "the rows are empty"),
    ],
)
def test_a_bad_header_is_a_usage_error(header, message):
    code, out, err = run(["eval", "a*b + k", "--rows", "-", "k=1"], header + "1,2,3\n" if header else "")
    assert code == 2
    assert message in err
    assert out == ""


def test_json_rows_and_jsonl_output():
    text = '{"a": 1, "b": 2}\n\n{"a": 3}\n{"a": 1, "b": "x"}\nnot json\n{"a": 2, "b": 0.5}\n'
    code, out, _ = run(["eval", "a^b", "--rows", "-", "--json"], text)
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["row"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0] == {"row": 1, "inputs": {"a": 1.0, "b": 2.0}, "value": 1.0, "gradients": {"a": 2.0, "b": 0.0}}
    assert records[1]["error"]["kind"] == "name"
    assert records[2]["error"]["kind"] == "input" and records[3]["error"]["kind"] == "input"
    assert close(records[4]["value"], math.sqrt(2))
    assert close(records[4]["gradients"]["b"], math.sqrt(2) * math.log(2))
    assert code == 1


def test_program_and_rows_cannot_both_come_from_stdin():
    code, _, err = run(["eval", "-", "--rows", "-"], "x\n1\n")
    assert code == 2 and "standard input" in err


def test_rows_and_ranges_together_are_refused():
    code, _, err = run(["eval", "x*y", "--rows", "-", "y=0:1:1"], "x\n1\n")
    assert code == 2 and "not both" in err


def test_a_sweep_in_the_text_format_is_a_table():
    code, out, _ = run(["eval", "x", "x=0:1:1", "--format", "text"])
    assert code == 0 and out.split("\n")[0].split() == ["x", "value", "d/dx"]


# --- the block evaluator -------------------------------------------------------------


def test_fast_operators_match_the_table():
    from autodiff_cli.columns import _FAST_FORWARD

    samples = [0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, 3.0]
    for name, fast in _FAST_FORWARD.items():
        op = OPS[name]
        for x in samples:
            for y in samples:
                args = (x, y) if op.arity == 2 else (x,)
                try:
                    expected = op.forward(*args)
                except ArithmeticError:
                    continue
                assert math.copysign(1, fast(*args)) == math.copysign(1, expected) and fast(*args) == expected


FINITE = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_blocks_agree_with_program_run_bit_for_bit(case, data):
    try:
        program = compile_program(case["expr"])
    except AutodiffError:
        return
    names = [n for n in program.inputs if n in case["vars"]]
    if len(names) != len([n for n in program.inputs if n not in ("pi", "e", "tau")]):
        return
    n = data.draw(st.integers(1, 6))
    columns = [data.draw(st.lists(FINITE, min_size=n, max_size=n)) for _ in names]
    done = ColumnProgram(program, names).run(columns, n)
    for i in range(n):
        bindings = {name: col[i] for name, col in zip(names, columns, strict=True)}
        try:
            result = program.run(bindings)
        except AutodiffError:
            assert done is None  # the block must not answer where a row fails
            continue
        if done is None:
            continue  # the block may always defer to Program.run
        values, gradients = done
        assert repr(values[i]) == repr(result.value)
        assert [repr(g[i]) for g in gradients] == [repr(result.gradients[name]) for name in names]


def test_blocks_answer_the_corpus_themselves_and_match_expected():
    answered = 0
    for case in OK_CASES:
        program = compile_program(case["expr"])
        names = [n for n in program.inputs if n in case["vars"]]
        done = ColumnProgram(program, names).run([[case["vars"][n]] * 2 for n in names], 2)
        if done is None:
            continue
        answered += 1
        values, gradients = done
        assert close(values[1], case["value"]), case
        assert all(close(g[1], case["gradients"][n]) for n, g in zip(names, gradients, strict=True)), case
    assert answered >= 0.95 * len(OK_CASES)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_block_run_row_by_row_writes_the_same_answers(fmt):
    good = "x,y\n1.5,2\n-0.25,3e-2\n7,1\n"
    # One bad row sends its whole block down the careful path, row by row.
    _, fast, _ = run(["eval", "x*y + exp(y)", "--rows", "-", "--format", fmt], good)
    code, careful, _ = run(["eval", "x*y + exp(y)", "--rows", "-", "--format", fmt], good + "oops,1\n")
    assert careful.startswith(fast)
    assert careful != fast and code == 1


# --- the table for people (a sweep on a terminal, or --format text) ------------------------


def table_rows(out: str) -> tuple[list[str], list[list[str]]]:
    """The column titles and each row's cells of a sweep table; a folded row's further lines are indented."""
    lines = out.rstrip("\n").split("\n")
    rule = next(i for i, line in enumerate(lines) if set(line) <= {"─", "-"} and line)
    titles = " ".join(lines[:rule]).split()
    rows: list[list[str]] = []
    for line in lines[rule + 1 :]:
        if line.startswith("autodiff:"):
            break
        if line.startswith(" ") and rows:  # a row starts at the margin; a folded row goes on indented
            rows[-1] += line.split()
        else:
            rows.append(line.split())
    return titles, rows


def table(args: list[str], input: str | None = None, width: int = 80) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--format", "text"], input=input, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _agrees(cell: str, reference: float, digits: int) -> bool:
    return math.isclose(float(cell), reference, rel_tol=0.51 * 10 ** (1 - digits), abs_tol=1e-300)


@pytest.mark.parametrize("digits", [2, 4, 7])
def test_a_sweep_table_shows_each_point_to_its_digits(digits):
    code, out, _ = table(["eval", "x^2*y + sin(x)", "x=-1.5:2:0.25", "y=-2:3:1.25", "--digits", str(digits)], width=200)
    titles, rows = table_rows(out)
    assert code == 0 and titles == ["x", "y", "value", "d/dx", "d/dy"]
    assert len(rows) == 15 * 5
    for cells in rows:
        x, y = float(cells[0]), float(cells[1])
        want = [x * x * y + math.sin(x), 2 * x * y + math.cos(x), x * x]
        assert all(_agrees(c, w, digits) for c, w in zip(cells[2:], want, strict=True)), cells
        assert all(len(c.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) <= digits for c in cells[2:])


def test_in_a_pipe_a_sweep_is_still_exactly_the_csv_and_jsonl():
    args = ["eval", "tanh(a*b + c)", "--rows", str(Path(__file__).parent.parent / "examples" / "points.csv"), "c=1"]
    assert run(args) == run([*args, "--format", "csv"])
    assert run(["eval", "x^3", "x=-1:1:0.5"])[1].startswith("x,value,d/dx,error_kind,error_message\n-1.0,-1.0,3.0,,\n")
    assert run(["eval", "x^3", "x=0:1:1", "--json"])[1].startswith('{"row": 1, "inputs": {"x": 0.0}')


def test_on_a_terminal_a_sweep_is_a_table(monkeypatch):
    from autodiff_cli.cli import run as run_module

    monkeypatch.setattr(run_module, "is_terminal", lambda stream: True)
    code, out, _ = run(["eval", "x*y", "x=1:3:1", "y=2"])
    titles, rows = table_rows(out)
    assert code == 0 and titles == ["x", "value", "d/dx", "d/dy"]  # y is the same on every row: no column
    assert rows == [["1", "2", "2", "1"], ["2", "4", "2", "2"], ["3", "6", "2", "3"]]
    assert run(["eval", "x*y", "x=1:3:1", "y=2", "-f", "csv"])[1].startswith("x,y,value")  # -f csv still wins


@pytest.mark.timeout(60)
def test_a_real_terminal_gets_the_table():
    import os

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}
    out = run_on_terminal(["eval", "x^2", "x=0:1:0.5"], env, streams=("stdout", "stderr"), deadline=50).terminal
    assert table_rows(out) == (["x", "value", "d/dx"], [["0", "0", "0"], ["0.5", "0.25", "1"], ["1", "1", "2"]])


def test_a_long_sweep_table_has_one_header_and_every_row():
    n = 3 * 4096 + 7  # several blocks
    code, out, _ = table(["eval", "x/4", f"x=1:{n}:1"])
    _, rows = table_rows(out)
    assert code == 0 and out.count("d/dx") == 1 and len(rows) == n
    assert [float(r[0]) for r in rows] == list(range(1, n + 1))
    assert all(_agrees(r[1], float(r[0]) / 4, 4) and r[2] == "0.25" for r in rows)


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_wide_sweep_table_folds_to_the_width_and_loses_no_cell(width):
    names = ["a", "b", "c", "d", "e", "f"]
    program = "sigmoid(a*b - c) * exp(d/4) + e*f"
    ranges = ["a=-1:1:1", "b=0.5:1:0.5", "c=2", "d=-3:3:3", "e=1", "f=0.125:0.25:0.125"]
    code, out, _ = table(["eval", program, *ranges], width=width)
    assert code == 0
    assert max(map(len, out.rstrip("\n").split("\n"))) <= width
    titles, rows = table_rows(out)
    assert titles == ["a", "b", "d", "f", "value", *(f"d/d{n}" for n in names)]
    assert len(rows) == 3 * 2 * 3 * 2
    for cells in rows:
        a, b, d, f = map(float, cells[:4])
        s = 1 / (1 + math.exp(-(a * b - 2)))
        value = s * math.exp(d / 4) + f
        ds = s * (1 - s) * math.exp(d / 4)
        want = [value, ds * b, ds * a, -ds, s * math.exp(d / 4) / 4, f, 1]
        assert all(_agrees(c, w, 4) for c, w in zip(cells[4:], want, strict=True)), cells


def test_a_failed_row_shows_its_error_and_the_others_go_on():
    rows_in = "a,b,label\n1,2,first\n0,x,bad cell\n-1,0,log of -1\n4,0.5,last\n"
    code, out, err = table(["eval", "log(a)*b", "--rows", "-", "--keep", "label"], input=rows_in)
    titles, rows = table_rows(out)
    assert code == 1 and "2 rows ok, 2 failed" in err
    assert titles == ["row", "label", "a", "b", "value", "d/da", "d/db"]
    assert rows[0] == ["1", "first", "1", "2", "0", "2", "0"]
    assert " ".join(rows[1]).startswith("2 bad cell 0 x input error:")
    assert " ".join(rows[2]).startswith("3 log of -1 -1 0 domain error: log needs an argument > 0")
    assert rows[3][:4] == ["4", "last", "4", "0.5"] and _agrees(rows[3][4], math.log(4) * 0.5, 4)


def test_a_sweep_table_escapes_what_the_rows_say():
    rows_in = 'x,label\n1,"\x1b[2J\x1b]0;t\x07"\n2,"\u202eevil"\n'
    code, out, _ = table(["eval", "x", "--rows", "-", "--keep", "label"], input=rows_in)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\\x1b" in out and "\\u202e" in out


def test_json_rows_make_a_table_too():
    code, out, _ = table(["eval", "x*y", "--rows", "-", "y=3"], input='{"x": 1}\n{"z": 2}\n{"x": 2.5}\n')
    titles, rows = table_rows(out)
    assert code == 1 and titles == ["row", "x", "value", "d/dx", "d/dy"]
    assert rows[0] == ["1", "1", "3", "3", "1"] and rows[2] == ["3", "2.5", "7.5", "3", "2.5"]
    assert "name error" in " ".join(rows[1]) or "error" in " ".join(rows[1])


@pytest.mark.parametrize(
    ("keep", "kept"),
    [(["x"], []), (["x", "label"], ["label"]), (["label", "label"], ["label"]), (["y", "x", "y"], ["y"])],
)
def test_a_kept_column_appears_once_even_when_it_is_an_input(keep: list[str], kept: list[str]) -> None:
    rows = "x,label,y\n1,a,7\n2,b,8\n"
    flags = [arg for name in keep for arg in ("--keep", name)]
    code, out, _ = run(["eval", "x*2", "--rows", "-", *flags], rows)
    assert code == 0
    header = out.splitlines()[0].split(",")
    assert len(header) == len(set(header))  # no column twice
    assert header[: len(kept) + 1] == [*kept, "x"]
    code, out, _ = run(["eval", "x*2", "--rows", "-", "--json", *flags], rows)
    records = [json.loads(line) for line in out.splitlines()]
    assert [r.get("kept", {}) for r in records] == [
        {k: row[k] for k in kept} for row in ({"label": "a", "y": "7"}, {"label": "b", "y": "8"})
    ]
    assert [r["inputs"]["x"] for r in records] == [1.0, 2.0]
