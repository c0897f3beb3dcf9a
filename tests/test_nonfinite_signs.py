"""Signed infinities under --allow-nonfinite, and the block (columns) path's fallback, as explicit cases.

Values that overflow keep the sign of the true result (sinh(-1000) is -inf,
(-10)^309 is -inf) in every output: eval, batch with one or two workers, and
sweeps by ranges, CSV rows (the block path) and JSON rows (row by row). The
expected signs come from mpmath, not from autodiff.

A block that meets a bad row (an overflow, a domain error, a non-finite
gradient) must give itself up to ``Program.run``: the tests pin that with
named rows in the middle of a block, so that it does not depend on what
Hypothesis happens to draw.
"""

from __future__ import annotations

import json

import mpmath
import pytest
from click.testing import CliRunner

from autodiff_cli import AutodiffError
from autodiff_cli.cli import main
from autodiff_cli.columns import ColumnProgram
from autodiff_cli.program import compile_program

FLOAT_MAX = mpmath.mpf(1.7976931348623157e308)
mpmath.mp.dps = 50


def as_float_text(x: mpmath.mpf) -> float | str:
    """What a float64 result of x is in JSON: the number, or "inf"/"-inf" past the float range."""
    if abs(x) > FLOAT_MAX:
        return "inf" if x > 0 else "-inf"
    return float(x)


# program, input, the true value, the true derivative (mpmath, 50 digits)
SIGNED = [
    ("sinh(x)", -1000.0, lambda x: mpmath.sinh(x), lambda x: mpmath.cosh(x)),
    ("sinh(x)", 1000.0, lambda x: mpmath.sinh(x), lambda x: mpmath.cosh(x)),
    ("x^309", -10.0, lambda x: x**309, lambda x: 309 * x**308),
    ("x^309", 10.0, lambda x: x**309, lambda x: 309 * x**308),
    ("exp(x)", 1000.0, lambda x: mpmath.exp(x), lambda x: mpmath.exp(x)),
    ("x*1e308", -10.0, lambda x: x * mpmath.mpf(1e308), lambda x: mpmath.mpf(1e308)),
]
IDS = [f"{p} at {x:g}" for p, x, _, _ in SIGNED]


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def expected(value, derivative, x: float) -> tuple[float | str, float | str]:
    mx = mpmath.mpf(x)
    return as_float_text(value(mx)), as_float_text(derivative(mx))


def test_the_references_are_really_signed() -> None:
    assert expected(SIGNED[0][2], SIGNED[0][3], -1000.0) == ("-inf", "inf")
    assert expected(SIGNED[2][2], SIGNED[2][3], -10.0) == ("-inf", "inf")
    assert as_float_text(mpmath.mpf(-10) ** 309) == "-inf"


@pytest.mark.parametrize(("program", "x", "value", "derivative"), SIGNED, ids=IDS)
def test_eval_json_keeps_the_sign_of_an_overflow(program, x, value, derivative) -> None:
    result = invoke("eval", program, f"x={x!r}", "--json", "--allow-nonfinite")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["value"], record["gradients"]["x"]) == expected(value, derivative, x)


def test_a_constant_program_keeps_its_sign_too() -> None:
    result = invoke("eval", "(-10)^309", "--json", "--allow-nonfinite")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"] == as_float_text(mpmath.mpf(-10) ** 309) == "-inf"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_json_keeps_the_signs_with_any_number_of_workers(jobs: str) -> None:
    lines = "".join(json.dumps({"expr": p, "vars": {"x": x}}) + "\n" for p, x, _, _ in SIGNED)
    lines += json.dumps({"expr": "(-10)^309", "vars": {}}) + "\n"
    result = invoke("batch", "--json", "--allow-nonfinite", "--jobs", jobs, "-q", input=lines)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(SIGNED) + 1
    for record, (_, x, value, derivative) in zip(records, SIGNED, strict=False):
        assert (record["value"], record["gradients"]["x"]) == expected(value, derivative, x), record
    assert records[-1]["value"] == "-inf"


ROW_SOURCES = {
    # a range and CSV rows go through the block (columns) path first; JSON rows go row by row
    "range": lambda: (["x=-1000:-998:1"], None),
    "csv rows": lambda: (["--rows", "-"], "x\n-1000\n-999\n-998\n"),
    "json rows": lambda: (["--rows", "-"], '{"x": -1000}\n{"x": -999}\n{"x": -998}\n'),
}


@pytest.mark.parametrize("source", sorted(ROW_SOURCES))
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_sweeps_keep_the_sign_by_every_path(source: str, fmt: str) -> None:
    args, rows = ROW_SOURCES[source]()
    result = invoke("eval", "sinh(x)", *args, "-f", fmt, "--allow-nonfinite", input=rows)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    if fmt == "jsonl":
        got = [(json.loads(line)["value"], json.loads(line)["gradients"]["x"]) for line in lines]
    else:
        assert lines[0].split(",")[:3] == ["x", "value", "d/dx"]
        got = [tuple(line.split(",")[1:3]) for line in lines[1:]]
    want = [expected(mpmath.sinh, mpmath.cosh, x) for x in (-1000.0, -999.0, -998.0)]
    assert got == want


# --- the block path gives up a block with a bad row ---------------------------------------

# program, good rows, the bad row, what is wrong with it
BAD_ROW_IN_A_BLOCK = [
    ("x*1e300", [1.0, -1.5], 1e10, "overflows without an exception: 1e310 is inf"),
    ("x*1e300", [1.0, 1.5], -1e10, "overflows to -inf"),
    ("(x*1e308) - (x*1e308)", [0.5, 1.0], 3.0, "inf - inf is nan"),
    ("exp(x)", [1.0, 2.0], 710.0, "math.exp raises OverflowError"),
    ("sinh(x)", [1.0, -2.0], -1000.0, "math.sinh raises OverflowError"),
    ("sqrt(x)", [4.0, 9.0], -1.0, "a domain error"),
    ("atan2(x, x)", [1.0, -2.0], 0.0, "a domain error math.atan2 does not raise"),
    ("sqrt(x)", [4.0, 9.0], 0.0, "a finite value with an infinite gradient"),
    ("atan(x*1e300)*1e10", [1.0, -2.0], 0.0, "a finite value whose gradient overflows"),
]
BAD_IDS = [why for *_, why in BAD_ROW_IN_A_BLOCK]


def per_row(program: str, x: float, strict: bool) -> tuple[str, str] | tuple[str, str, str]:
    """Program.run on one row, the authority: reprs of the value and gradient, or the error."""
    try:
        result = compile_program(program).run({"x": x}, strict=strict)
    except AutodiffError as err:
        return ("error", err.kind, err.message)
    return (repr(result.value), repr(result.gradients["x"]))


@pytest.mark.parametrize(("program", "good", "bad", "why"), BAD_ROW_IN_A_BLOCK, ids=BAD_IDS)
def test_a_block_with_a_bad_row_defers_and_its_good_rows_do_not(program, good, bad, why) -> None:
    compiled = compile_program(program)
    columns = ColumnProgram(compiled, ["x"])
    done = columns.run([good], len(good))
    assert done is not None, "the good rows alone are answered by the block path"
    values, (grads,) = done
    assert [(repr(v), repr(g)) for v, g in zip(values, grads, strict=True)] == [per_row(program, x, True) for x in good]
    assert columns.run([[good[0], bad, good[1]]], 3) is None, why


def sweep_records(program: str, rows: str, strict: bool) -> list[tuple]:
    """A sweep's answers, as (value, gradient) or (error, kind, message) per row."""
    args = ["eval", program, "--rows", "-", "-f", "jsonl"] + ([] if strict else ["--allow-nonfinite"])
    result = invoke(*args, input=rows)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out = []
    for line in result.stdout.splitlines():
        record = json.loads(line)
        if "error" in record:
            out.append(("error", record["error"]["kind"], record["error"]["message"]))
        else:
            # reprs, so that bit for bit means bit for bit (-0.0 is not 0.0); "inf" reads as inf
            out.append((repr(float(record["value"])), repr(float(record["gradients"]["x"]))))
    return out


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "allow-nonfinite"])
@pytest.mark.parametrize(("program", "good", "bad", "why"), BAD_ROW_IN_A_BLOCK, ids=BAD_IDS)
def test_a_sweep_with_a_bad_row_in_the_middle_matches_program_run_row_by_row(program, good, bad, why, strict) -> None:
    xs = [good[0], bad, good[1]]
    want = [per_row(program, x, strict) for x in xs]
    csv_rows = "x\n" + "".join(f"{x!r}\n" for x in xs)  # CSV: the block path first
    json_rows = "".join(json.dumps({"x": x}) + "\n" for x in xs)  # JSON lines: row by row
    assert sweep_records(program, csv_rows, strict) == want
    assert sweep_records(program, json_rows, strict) == want
    if strict:
        assert want[1][0] == "error", why  # the bad row fails, the others do not
        assert want[0][0] != "error" and want[2][0] != "error"
