"""Limits, non-finite reporting, write failures and hostile batch input (issue: nothing lost)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_cli import AutodiffError, evaluate
from autodiff_cli.cli import main
from autodiff_cli.errors import KINDS
from autodiff_cli.parser import MAX_PROGRAM_CHARS

from .test_fuzz import programs


def strict_json(text: str) -> object:
    """RFC 8259: NaN and Infinity are not JSON."""

    def refuse(token: str) -> object:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("program", "bindings", "check"),
    [
        ("(" * 100_000 + "a" + ")" * 100_000, {"a": 2.0}, lambda r: r.gradients == {"a": 1.0}),
        ("-" * 200_000 + "a", {"a": 2.0}, lambda r: r.gradients == {"a": 1.0}),
        ("^".join(["a"] * 50_000), {"a": 1.0}, lambda r: r.value == 1.0),
        ("+".join(f"a*{i % 7 + 1}.5" for i in range(300_000)), {"a": 1.0}, lambda r: r.gradients["a"] == r.value),
    ],
    ids=["100k-parentheses", "200k-unary-minus", "50k-power-tower", "300k-terms"],
)
def test_huge_programs_evaluate(program: str, bindings: dict, check) -> None:
    assert check(evaluate(program, bindings))


@pytest.mark.parametrize(
    ("program", "kind"),
    [("9^9^9^9", "overflow"), ("2^1e308", "overflow"), ("9" * 5000, "overflow"), ("1e999", "overflow"), ("(-8)^(1/3)", "domain")],
)
def test_hopeless_numbers_fail_with_their_kind(program: str, kind: str) -> None:
    with pytest.raises(AutodiffError) as info:
        evaluate(program, {})
    assert info.value.kind == kind


def test_a_program_over_the_size_limit_is_a_limit_error() -> None:
    with pytest.raises(AutodiffError) as info:
        evaluate("a+" * (MAX_PROGRAM_CHARS // 2) + "a", {"a": 1})
    assert info.value.kind == "limit"
    assert f"{MAX_PROGRAM_CHARS:,}" in info.value.message


def test_allow_nonfinite_eval_json_stays_json() -> None:
    result = CliRunner().invoke(main, ["eval", "log(a) + exp(b)", "a=-1", "b=1000", "--allow-nonfinite", "--json"])
    assert result.exit_code == 0, result.output
    record = strict_json(result.stdout)
    assert record["value"] == "nan" and record["gradients"] == {"a": "nan", "b": "inf"}  # log is undefined at -1, so is its slope
    assert CliRunner().invoke(main, ["eval", "log(a)", "a=-1", "--json"]).exit_code == 1, "the default still fails"


def test_allow_nonfinite_in_the_display_batch_csv_and_sweeps() -> None:
    shown = CliRunner().invoke(main, ["eval", "1/a", "a=0", "--allow-nonfinite"])
    assert shown.exit_code == 0 and "inf" in shown.stdout
    jobs = "exp(a) a=1000\nlog(a) a=-1\n-1/a a=0\n"
    for extra in ([], ["--jobs", "2"]):
        batch = CliRunner().invoke(main, ["batch", "--json", "--allow-nonfinite", *extra], input=jobs)
        assert batch.exit_code == 0, batch.output
        values = [strict_json(line)["value"] for line in batch.stdout.splitlines()]
        assert values == ["inf", "nan", "-inf"]
    csv_out = CliRunner().invoke(main, ["batch", "-f", "csv", "--allow-nonfinite"], input="exp(a) a=1000\n")
    assert csv_out.stdout.splitlines()[1].startswith("1,,exp(a),inf,")
    sweep = CliRunner().invoke(main, ["eval", "log(x)", "x=-1:1:1", "--allow-nonfinite", "-f", "jsonl"])
    assert [strict_json(line)["value"] for line in sweep.stdout.splitlines()] == ["nan", "-inf", 0.0]


@pytest.mark.parametrize(
    "args",
    [["eval", "a*b", "a=1", "b=2", "--json"], ["eval", "a*b", "a=1", "b=2"], ["batch", "--json"], ["eval", "x", "x=0:1:0.5"]],
)
def test_a_full_disk_is_a_clear_error(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [sys.executable, "-m", "autodiff_cli", *args], input="a a=1\n", stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert out.returncode == 1
    assert "No space left on device" in out.stderr
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr


lines = st.one_of(
    programs.map(lambda p: json.dumps({"expr": p, "vars": {"a": 0.5, "b": 2.0, "c": -1.0, "x": 3.0}})),
    programs.map(lambda p: json.dumps(p) + " a=0.5 b=2 c=-1 x=3 y=1 z=2"),
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),
    st.sampled_from(['{"expr": 1}', '{"vars": {}}', '{"expr": "a", "vars": {"a": NaN}}', "[1, 2]", '"a" a=', "'unclosed a=1"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=1, max_size=8))
def test_batch_answers_every_job_whatever_it_is(batch: list[str]) -> None:
    text = "\n".join(batch) + "\n"
    result = CliRunner().invoke(main, ["batch", "--json", "--quiet"], input=text.encode("utf-8", "surrogatepass"))
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    expected = [i for i, line in enumerate(batch, 1) if line.strip() and not line.strip().startswith("#")]
    records = [strict_json(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in records] == expected, "one answer per job, in input order, nothing lost"
    for record in records:
        if "error" in record:
            assert record["error"]["kind"] in KINDS and record["error"]["message"]
        else:
            assert math.isfinite(record["value"])
    assert result.exit_code == (1 if any("error" in r for r in records) else 0)
