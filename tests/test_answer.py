"""autodiff_cli.answer and read_record: one job from Python, byte for byte what `autodiff batch --json` prints."""

from __future__ import annotations

import json
import math
import shlex
import types

import pytest
from click.testing import CliRunner

import autodiff_cli
from autodiff_cli import AutodiffError, Result, answer, read_record
from autodiff_cli.cli import main

from .conftest import CASES, close


def batch_lines(text: str, *args: str) -> list[str]:
    """What `autodiff batch --json` prints for ``text``, line by line (the reference)."""
    result = CliRunner().invoke(main, ["batch", "--json", "--quiet", *args], input=text.encode("utf-8", "surrogatepass"))
    assert result.exit_code in (0, 1), result.output
    return result.stdout.splitlines()


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def job_of(case: dict) -> dict:
    return {"id": case["id"], "expr": case["expr"], "vars": case["vars"]}


def shell_line(case: dict) -> str:
    return " ".join([shlex.quote(case["expr"]), *(f"{k}={v!r}" for k, v in case["vars"].items())])


# Lines batch must answer with an error record (and answer() too, without raising).
BAD_JOBS = [
    '{"expr": "a+1", "vars": {"a": 1}',
    '{"vars": {"a": 1}}',
    '{"expr": 5, "id": "five"}',
    '{"expr": "a", "vars": [1, 2]}',
    '{"expr": "a", "vars": {"a": "1"}}',
    '{"expr": "a", "vars": {"a": NaN}}',
    '{"expr": "a", "vars": {"a": 1e400}}',
    '{"expr": "a\\ud800", "vars": {}}',
    "[1,2]",
    '"a+b" a=1 b',
    '"a+b a=1',
    "log(x) x=0",
    "exp(x) x=1000",
    "sin(x) + nope x=1",
    '"sin(x) + cos(y" x=1 y=2',
    "x x=1 x=2",
    "caf\udcff x=1",  # a lone surrogate: bytes that are not UTF-8, as in a file
]
# Odd but valid: answered, not refused.
ODD_JOBS = [
    '{"expr": "' + "(" * 3000 + "x" + ")" * 3000 + '", "vars": {"x": 1}}',
    '{"expr": "pi * r^2", "vars": {"r": 2}, "id": {"deep": [1, [2, [3]]]}}',
    "  tanh(x)   x=0.5   # a comment after the job",
]


@pytest.mark.timeout(120)
def test_answer_is_the_cli_record_for_every_corpus_case_in_both_line_forms():
    lines = [json.dumps(job_of(c)) for c in CASES] + [shell_line(c) for c in CASES]
    printed = batch_lines("".join(line + "\n" for line in lines))
    assert len(printed) == len(lines)
    for number, (line, want) in enumerate(zip(lines, printed, strict=True), 1):
        assert dumps(answer(line, number)) == want, line


def test_answer_of_a_mapping_is_the_record_of_its_json_line():
    lines = [json.dumps(job_of(c)) for c in CASES]
    printed = batch_lines("".join(line + "\n" for line in lines))
    for number, (case, want) in enumerate(zip(CASES, printed, strict=True), 1):
        assert dumps(answer(job_of(case), number)) == want, case["id"]


def test_bad_and_odd_jobs_get_the_cli_record_and_never_raise():
    lines = BAD_JOBS + ODD_JOBS
    printed = batch_lines("".join(line + "\n" for line in lines))
    assert len(printed) == len(lines)
    for number, (line, want) in enumerate(zip(lines, printed, strict=True), 1):
        record = answer(line, number)
        assert ("error" in record) == (line in BAD_JOBS), line
        assert dumps(record) == want, line


def test_line_defaults_to_1_the_answer_of_a_one_job_batch():
    for line in ("\ufefftanh(a*b+c) a=2 b=3 c=1", '{"expr": "sqrt(r)", "vars": {"r": 16}, "id": null}', "log(x) x=-1"):
        assert [dumps(answer(line))] == batch_lines(line + "\n")
    assert answer("x^2 x=3") == {"line": 1, "expr": "x^2", "value": 9.0, "gradients": {"x": 6.0}}  # by hand


def test_first_line_numbers_records_as_answer_does():
    lines = [json.dumps(job_of(c)) for c in CASES[:30]]
    printed = batch_lines("".join(line + "\n" for line in lines), "--first-line", "1001")
    assert printed == [dumps(answer(line, 1001 + i)) for i, line in enumerate(lines)]


def test_blank_and_comment_lines_are_input_errors_not_silence():
    for text in ("", "   ", "# just a comment"):
        record = answer(text, 4)
        assert record["line"] == 4
        assert record["error"]["kind"] == "input"


def test_a_line_break_inside_the_text_is_an_input_error_but_a_trailing_one_is_not():
    assert answer("x^2 x=3\n") == answer("x^2 x=3")
    assert answer("x^2 x=3\r\n") == answer("x^2 x=3")
    assert answer("x^2 x=3\ny^2 y=1")["error"]["kind"] == "input"


def test_mappings_that_are_not_dicts_and_values_that_are_not_json():
    proxy = types.MappingProxyType({"expr": "a*b", "vars": types.MappingProxyType({"a": 2, "b": 5})})
    assert answer(proxy) == {"line": 1, "expr": "a*b", "value": 10.0, "gradients": {"a": 5.0, "b": 2.0}}
    record = answer({"expr": "a", "vars": {"a": object()}})
    assert record["error"]["kind"] == "input"
    assert answer(42)["error"]["kind"] == "input"  # type: ignore[arg-type]


def test_infinity_in_a_mapping_is_refused_as_batch_refuses_it():
    record = answer({"expr": "x", "vars": {"x": math.inf}})
    assert record["error"]["kind"] == "input"


@pytest.mark.parametrize("line", [0, -3, 1.0, True, "2"])
def test_a_line_that_is_not_a_positive_int_is_a_programming_error(line):
    with pytest.raises(ValueError, match="line"):
        answer("x x=1", line)


def test_allow_nonfinite_answers_inf_and_reads_back_as_inf():
    record = answer("log(x) x=0", allow_nonfinite=True)
    assert record["value"] == "-inf"  # log(0) = -inf, d/dx = 1/0 = inf, by hand
    assert dumps(record) == batch_lines("log(x) x=0\n", "--allow-nonfinite")[0]
    result = read_record(record)
    assert isinstance(result, Result)
    assert result.value == -math.inf and result.gradients["x"] == math.inf
    assert answer("log(x) x=0")["error"]["kind"] == "domain"


# --- read_record ---------------------------------------------------------------------


def test_read_record_gives_the_corpus_values_and_errors():
    for case in CASES:
        got = read_record(answer(job_of(case)))
        if "error" in case:
            assert isinstance(got, AutodiffError), case["id"]
            assert got.kind == case["error"]
            continue
        assert isinstance(got, Result), case["id"]
        assert close(got.value, case["value"])
        assert list(got.gradients) == list(case["gradients"])
        for name, want in case["gradients"].items():
            assert close(got.gradients[name], want), (case["id"], name)


def test_read_record_of_a_printed_line_is_exact_and_keeps_the_error_position():
    result = read_record('{"line": 3, "expr": "x^3", "value": 0.1, "gradients": {"x": 3.0000000000000004}}')
    assert result == Result(0.1, {"x": 3.0000000000000004})
    error = read_record(dumps(answer('"sin(x) + cos(y" x=1 y=2', 9)))
    assert isinstance(error, AutodiffError)
    assert (error.kind, error.line, error.column) == ("syntax", 1, 15)
    assert error.caret() == "  sin(x) + cos(y\n                ^"


def test_read_record_matches_evaluate_errors():
    error = read_record(answer({"expr": "log(x)", "vars": {"x": -1}}))
    with pytest.raises(AutodiffError) as raised:
        autodiff_cli.evaluate("log(x)", {"x": -1})
    assert isinstance(error, AutodiffError)
    assert (error.kind, error.message, error.line, error.column) == (
        raised.value.kind,
        raised.value.message,
        raised.value.line,
        raised.value.column,
    )


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"line": 1}',
        '{"value": 1.0}',
        '{"value": "1", "gradients": {}}',
        '{"value": true, "gradients": {}}',
        '{"value": 1.0, "gradients": {"x": null}}',
        '{"error": {"kind": "bogus", "message": "m"}}',
        '{"error": {"kind": "domain"}}',
        '{"error": {"kind": "domain", "message": "m", "line": "1", "column": 2}}',
    ],
)
def test_read_record_refuses_what_is_not_a_record(text):
    with pytest.raises(AutodiffError) as raised:
        read_record(text)
    assert raised.value.kind == "input"
    assert "not an autodiff record" in raised.value.message


def test_answer_and_read_record_are_public_and_lazy():
    assert "answer" in autodiff_cli.__all__ and "read_record" in autodiff_cli.__all__
    assert autodiff_cli.answer is answer
    with pytest.raises(AttributeError):
        autodiff_cli.no_such_thing  # noqa: B018


# --- one reading rule with batch, for values of every type and size --------------------

VALUES = [
    0,
    -7,
    2**53 + 1,
    10**308,
    10**309,  # past float64: too large
    10**400,
    10**4299,
    -(10**4299),
    1.5,
    -0.0,
    5e-324,
    1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
    None,
    "1",
    "inf",
    "nan",
    "",
    [1.0],
    {"x": 1.0},
    [[[[1]]]],
]


def record_verdict(record: object) -> float | str:
    """read_record's value, or "input" for its input error; anything else raised fails the test."""
    try:
        result = read_record(record)  # type: ignore[arg-type]
    except AutodiffError as err:
        assert err.kind == "input" and "\n" not in err.message and len(err.message) < 300
        return "input"
    assert isinstance(result, Result)
    return result.value


@pytest.mark.parametrize("value", VALUES, ids=lambda v: repr(v)[:20])
def test_read_record_reads_a_value_of_any_type_and_size_by_the_rule_for_numbers(value: object) -> None:
    finite = (type(value) is int and abs(value) <= 10**308) or (type(value) is float and math.isfinite(value))
    in_dict = record_verdict({"value": value, "gradients": {"x": 1.0}})
    in_gradient = record_verdict({"value": 1.0, "gradients": {"x": value}})
    word = value if value in ("inf", "nan") else None
    if finite:
        assert in_dict == float(value)  # type: ignore[arg-type]
    elif word:
        assert math.isnan(in_dict) if word == "nan" else in_dict == math.inf  # type: ignore[arg-type]
    else:
        assert in_dict == "input" and in_gradient == "input"
    try:
        text = json.dumps({"value": value, "gradients": {"x": 1.0}})
    except ValueError:  # an int past Python's 4,300 digits: see the next test
        return
    in_text = record_verdict(text)
    # The same verdict as the dict, except where json writes what JSON has no word for (NaN, Infinity).
    if isinstance(value, float) and not math.isfinite(value):
        assert in_text == "input"
    elif isinstance(in_dict, float) and math.isnan(in_dict):
        assert math.isnan(in_text)  # type: ignore[arg-type]
    else:
        assert in_text == in_dict


@pytest.mark.parametrize("digits", [310, 400, 4300, 5000, 20_000])  # 310 digits: 1e309, past float64
def test_a_long_int_in_a_record_or_a_job_is_an_input_error(digits: int) -> None:
    text = "1" + "0" * (digits - 1)
    assert record_verdict(f'{{"value": {text}, "gradients": {{}}}}') == "input"
    assert record_verdict(f'{{"value": 1.0, "gradients": {{"x": {text}}}}}') == "input"
    line = f'{{"expr": "x", "vars": {{"x": {text}}}}}'
    reference = json.loads(batch_lines(line + "\n")[0])
    assert answer(line) == reference
    if digits <= 4300:
        assert answer({"expr": "x", "vars": {"x": int(text)}}) == reference
    else:
        as_mapping = answer({"expr": "x", "vars": {"x": 10 ** (digits - 1)}})
        assert as_mapping["error"] == reference["error"]  # no "Exceeds the limit" from Python
        assert "sys.set_int_max_str_digits" not in as_mapping["error"]["message"]


@pytest.mark.parametrize(
    "text",
    [
        '{"value": NaN, "gradients": {}}',
        '{"value": Infinity, "gradients": {}}',
        '{"value": 1e400, "gradients": {}}',
        '{"value": -1e999, "gradients": {}}',
        '{"value": 1.0, "value": 2.0, "gradients": {}}',
        '{"value": 1.0, "gradients": {"x": 1.0, "x": 2.0}}',
        '{"value": 1.0, "gradients": {"x": -Infinity}}',
    ],
)
def test_read_record_refuses_what_batch_refuses(text: str) -> None:
    assert record_verdict(text) == "input"
    job = text.replace('"value"', '"vars"', 1) if "vars" not in text else text
    assert "error" in json.loads(batch_lines(job + "\n")[0])  # batch refuses its line too


@pytest.mark.parametrize("value", VALUES, ids=lambda v: repr(v)[:20])
def test_answer_of_a_mapping_is_the_batch_answer_of_its_json_line(value: object) -> None:
    job = {"expr": "x*2", "vars": {"x": value}}
    got = answer(job)
    try:
        line = json.dumps(job)
    except ValueError:
        assert got["error"]["kind"] == "input"
        return
    assert got == json.loads(batch_lines(line + "\n")[0])
