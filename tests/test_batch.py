"""`autodiff batch`: reading jobs, answering each in order, formats, exit status.

Values are checked against the conformance corpus (tests/data/cases.jsonl),
whose expected numbers were computed independently of this code.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from autodiff_cli.batch import Report, run_job
from autodiff_cli.cli import main
from autodiff_cli.job_lines import parse_job

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "cases.jsonl").read_text().splitlines()]
OK_CASES = [c for c in CASES if "error" not in c]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def strict_json(line: str) -> dict:
    """RFC 8259: no NaN or Infinity may appear."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in output")

    return json.loads(line, parse_constant=refuse)


def run(args: list[str], input: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def check_against_corpus(records: list[dict], cases: list[dict], first_line: int = 1) -> None:
    assert [r["line"] for r in records] == list(range(first_line, first_line + len(cases)))
    for record, case in zip(records, cases, strict=True):
        assert record["expr"] == case["expr"]
        if "error" in case:
            assert record["error"]["kind"] == case["error"], (case, record)
            assert "value" not in record
            continue
        assert "error" not in record, (case, record)
        assert close(record["value"], case["value"]), (case, record)
        assert list(record["gradients"]) == list(case["gradients"]), (case, record)
        for name, g in case["gradients"].items():
            assert close(record["gradients"][name], g), (case, name, record)


def corpus_jsonl(cases: list[dict]) -> str:
    return "".join(json.dumps({"id": c["id"], "expr": c["expr"], "vars": c["vars"]}) + "\n" for c in cases)


# --- the corpus as a batch ----------------------------------------------------------


def test_corpus_as_json_lines_matches_expected_values():
    code, out, err = run(["batch", "--json"], corpus_jsonl(CASES))
    records = [strict_json(line) for line in out.splitlines()]
    check_against_corpus(records, CASES)
    assert [r["id"] for r in records] == [c["id"] for c in CASES]
    failed = sum("error" in c for c in CASES)
    assert code == 1
    assert err.strip() == f"{len(CASES) - failed} ok, {failed} failed"


def test_corpus_as_shell_quoted_lines_matches_expected_values():
    lines = [" ".join([shlex.quote(c["expr"]), *(f"{k}={v!r}" for k, v in c["vars"].items())]) for c in CASES]
    code, out, _ = run(["batch", "--format", "jsonl"], "\n".join(lines) + "\n")
    check_against_corpus([strict_json(line) for line in out.splitlines()], CASES)
    assert code == 1


def test_corpus_with_two_workers_keeps_input_order():
    code, out, _ = run(["batch", "--json", "--jobs", "2", "-q"], corpus_jsonl(CASES))
    check_against_corpus([strict_json(line) for line in out.splitlines()], CASES)
    assert code == 1


def test_all_ok_exits_0_and_quiet_says_nothing():
    code, out, err = run(["batch", "--json", "--quiet"], corpus_jsonl(OK_CASES[:20]))
    assert code == 0
    assert err == ""
    assert len(out.splitlines()) == 20


# --- reading lines -------------------------------------------------------------------


def test_blank_and_comment_lines_are_skipped_but_counted():
    text = '# a comment\n\n   \n"a*b" a=2 b=3\n  # indented comment\n{"expr": "a+1", "vars": {"a": 1}}\n'
    code, out, _ = run(["batch", "--json"], text)
    records = [strict_json(line) for line in out.splitlines()]
    assert [(r["line"], r["value"]) for r in records] == [(4, 6.0), (6, 2.0)]
    assert code == 0


def test_ids_of_any_json_type_are_echoed_back():
    jobs = [{"id": i, "expr": "x*2", "vars": {"x": 1}} for i in ("a", 7, 2.5, None, [1, "b"], {"k": True})]
    code, out, _ = run(["batch", "--json"], "".join(json.dumps(j) + "\n" for j in jobs))
    assert [strict_json(line)["id"] for line in out.splitlines()] == [j["id"] for j in jobs]
    assert code == 0


def test_shell_line_takes_a_trailing_comment_like_a_shell():
    code, out, _ = run(["batch", "--json"], "'a * b'  a=2 b=4   # the product\n")
    assert strict_json(out)["value"] == 8.0
    assert code == 0


BAD_LINES = [
    ('{"expr": "a+1", "vars": {"a": 1}', "not valid JSON"),
    ('{"vars": {"a": 1}}', 'no "expr"'),
    ('{"expr": 5}', '"expr" must be a string'),
    ('{"expr": "a", "vars": [1, 2]}', '"vars" must be an object'),
    ('{"expr": "a", "vars": {"a": "1"}}', "not a number"),
    ('{"expr": "a", "vars": {"a": true}}', "not a number"),
    ('{"expr": "a", "vars": {"a": null}}', "not a number"),
    ('{"expr": "a", "vars": {"a": NaN}}', "NaN"),
    ('{"expr": "a", "vars": {"a": -Infinity}}', "Infinity"),
    ('{"expr": "a", "vars": {"a": 1e400}}', "finite"),
    ('{"expr": "a", "vars": {"sin": 1}}', "function"),
    ('{"expr": "a", "vars": {"2x": 1}}', "not a name"),
    ('{"expr": "a\\ud800", "vars": {}}', "surrogate"),
    ("[1,2]", None),  # not JSON (no brace): a shell line whose program is not valid
    ('"a+b" a=1 b', "bad binding"),
    ('"a+b" a=1 b=two', "not a number"),
    ('"a+b" a=1 b=inf', "not a number"),
    ('"a+b a=1', "No closing quotation"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_a_bad_line_is_an_error_record_and_the_next_line_still_runs(line, message):
    code, out, err = run(["batch", "--json"], f'{line}\n"x^2" x=3\n')
    first, second = (strict_json(x) for x in out.splitlines())
    assert first["line"] == 1
    if message is None:
        assert first["error"]["kind"] == "syntax"
    else:
        assert first["error"]["kind"] == "input", first
        assert message in first["error"]["message"]
    assert second == {"line": 2, "expr": "x^2", "value": 9.0, "gradients": {"x": 6.0}}
    assert code == 1
    assert err.strip() == "1 ok, 1 failed"


def test_invalid_utf8_on_one_line_spoils_only_that_line():
    data = b'"a*2" a=1\n"a\xff\xfe*2" a=1\n{"expr": "caf\xc3\xa9*2", "vars": {"caf\xc3\xa9": 2}}\n'
    code, out, _ = run(["batch", "--json"], data)
    records = [strict_json(line) for line in out.splitlines()]
    assert records[0]["value"] == 2.0
    assert records[1] == {"line": 2, "error": {"kind": "input", "message": "the line is not valid UTF-8 (byte 3)"}}
    assert records[2]["value"] == 4.0 and records[2]["gradients"] == {"café": 2.0}
    assert code == 1


def test_source_errors_carry_the_program_position():
    code, out, _ = run(["batch", "--json"], '{"id": "q", "expr": "b = a*2\\n  log(a - b)", "vars": {"a": 1}}\n')
    record = strict_json(out)
    assert code == 1
    assert record["id"] == "q"
    assert record["error"]["kind"] == "domain"
    assert (record["error"]["line"], record["error"]["column"]) == (2, 3)


def test_a_byte_order_mark_is_not_part_of_the_first_job():
    code, out, _ = run(["batch", "--json"], '\ufeff"a+1" a=1\n'.encode())
    assert strict_json(out)["value"] == 2.0
    assert code == 0


# --- files ---------------------------------------------------------------------------


def test_several_files_are_read_in_order_and_named(tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.jsonl"
    one.write_text('"x+1" x=1\n\n"x+2" x=1\n')
    two.write_text('{"expr": "y*3", "vars": {"y": 2}}\n')
    code, out, _ = run(["batch", "--json", str(one), "-", str(two)], '"z" z=5\n')
    records = [strict_json(line) for line in out.splitlines()]
    assert [(r["file"], r["line"], r["value"]) for r in records] == [
        (str(one), 1, 2.0),
        (str(one), 3, 3.0),
        ("-", 1, 5.0),
        (str(two), 1, 6.0),
    ]
    assert code == 0


def test_a_missing_file_is_a_usage_error(tmp_path):
    code, _, err = run(["batch", str(tmp_path / "nope.txt")])
    assert code == 2
    assert "does not exist" in err


# --- formats -------------------------------------------------------------------------


def test_csv_layout_has_one_row_per_job_and_gradients_as_json():
    cases = CASES[:60]
    code, out, _ = run(["batch", "--format", "csv"], corpus_jsonl(cases))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == (1 if any("error" in c for c in cases) else 0)
    assert list(rows[0]) == ["line", "id", "expr", "value", "gradients", "error_kind", "error_message"]
    assert len(rows) == len(cases)
    for row, case in zip(rows, cases, strict=True):
        # A text cell that could start a spreadsheet formula has a ' in front (docs: CSV injection).
        expr = row["expr"][1:] if row["expr"].startswith("'") else row["expr"]
        assert row["id"] == case["id"] and expr == case["expr"]
        assert row["expr"] == expr or case["expr"][0] in "=+-@"
        if "error" in case:
            assert row["error_kind"] == case["error"] and row["error_message"]
            assert row["value"] == row["gradients"] == ""
            continue
        assert row["error_kind"] == row["error_message"] == ""
        assert close(float(row["value"]), case["value"])
        gradients = json.loads(row["gradients"])
        assert gradients.keys() == case["gradients"].keys()
        assert all(close(gradients[k], v) for k, v in case["gradients"].items())


def test_people_table_streams_rows_that_line_up(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    jobs = '{"id": "m", "expr": "tanh(a*b+c)", "vars": {"a": 2, "b": 3, "c": 1}}\n"log(x)" x=-1\n'
    code, out, _ = run(["batch"], jobs)
    expected = (  # lines end without the padding rich adds: the results console trims it
        "  line  program                       value and gradient\n"
        "     1  m tanh(a*b+c)                 1.000\n"
        "                                        d/da  9.978e-6\n"
        "                                        d/db  6.652e-6\n"
        "                                        d/dc  3.326e-6\n"
        "     2  log(x)                        domain error: log needs an argument > 0,\n"
        "                                      got -1 (line 1, column 1)\n"
    )
    assert out == expected
    assert code == 1


def test_format_json_is_json_lines_for_batch():
    _, out_json, _ = run(["batch", "-f", "json"], '"x" x=1\n"x" x=2\n')
    _, out_jsonl, _ = run(["batch", "--json"], '"x" x=1\n"x" x=2\n')
    assert out_json == out_jsonl
    assert [strict_json(line)["value"] for line in out_json.splitlines()] == [1.0, 2.0]


def test_batch_has_help():
    code, out, _ = run(["batch", "--help"])
    assert code == 0
    assert "--jobs" in out and "Exit status" in out


# --- the library ---------------------------------------------------------------------


def test_report_owns_the_exit_status():
    report = Report()
    assert report.return_code == 0
    report.add({"line": 1, "value": 1.0})
    assert report.return_code == 0 and str(report) == "1 ok, 0 failed"
    report.add({"line": 2, "error": {"kind": "domain", "message": "x"}})
    assert report.return_code == 1 and str(report) == "1 ok, 1 failed"


def test_parse_job_skips_and_reads():
    assert parse_job(1, b"   \n") is None
    assert parse_job(2, b"# note\n") is None
    job = parse_job(3, b'"a*b" a=1 b=2\n')
    assert job is not None and job.expr == "a*b" and dict(job.bindings) == {"a": 1.0, "b": 2.0}
    assert run_job(job) == {"line": 3, "expr": "a*b", "value": 2.0, "gradients": {"a": 2.0, "b": 1.0}}
