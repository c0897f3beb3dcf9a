"""The command line: output formats, standard input, exit statuses, help, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from autodiff_cli import evaluate
from autodiff_cli.cli import main


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_eval_json_is_the_contract() -> None:
    result = run("eval", "tanh(a*b+c)", "a=2", "b=3", "c=1", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    reference = evaluate("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1})
    assert record == {"expr": "tanh(a*b+c)", "value": reference.value, "gradients": reference.gradients}
    assert list(record["gradients"]) == ["a", "b", "c"]


def test_format_json_equals_json_flag() -> None:
    assert run("eval", "a*b", "a=2", "b=3", "-f", "json").stdout == run("eval", "a*b", "a=2", "b=3", "--json").stdout


def test_json_floats_read_back_exactly() -> None:
    result = run("eval", "a/3", "a=1", "--json")
    assert json.loads(result.stdout)["value"] == 1 / 3
    assert "0.3333333333333333" in result.stdout


def test_program_from_standard_input() -> None:
    result = run("eval", "-", "x=2", "--json", input="y = log(x)\ny / x\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"] == evaluate("y = log(x)\ny / x", {"x": 2}).value


def test_default_output_is_readable_text() -> None:
    result = run("eval", "a*b", "a=2", "b=3")
    assert result.exit_code == 0
    assert "a*b = 6" in result.stdout and "a(2)" in result.stdout and "b(3)" in result.stdout


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["eval", "2a", "a=1"], 2, "syntax error at line 1, column 2"),
        (["eval", "q + 1"], 2, "name error"),
        (["eval", "log(a)", "a=-1"], 1, "domain error"),
        (["eval", "exp(a)", "a=1000"], 1, "overflow error"),
        (["eval", "a", "a"], 2, "NAME=VALUE"),
        (["eval", "a", "a="], 2, "no value"),
        (["eval", "a", "=1"], 2, "not a name"),
        (["eval", "a", "a=nan"], 2, "not a number"),
        (["eval", "a", "a=1e999"], 2, "not a finite"),
        (["eval", "a", "a=1", "a=2"], 2, "bound twice"),
        (["eval", "a", "exp=1"], 2, "is a function"),
        (["eval", "a", "a=1", "--bogus"], 2, "No such option"),
        (["eval"], 2, "Missing argument"),
    ],
)
def test_exit_statuses_and_messages(args: list[str], status: int, words: str) -> None:
    result = run(*args)
    assert result.exit_code == status, result.output
    assert words in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_source_errors_show_a_caret() -> None:
    result = run("eval", "x = 1\ny = x +* 2")
    assert result.stderr.splitlines()[1:] == ["  y = x +* 2", "         ^"]


def test_programs_may_start_with_a_minus() -> None:
    result = run("eval", "-(tanh(h))", "h=0.5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value"] == evaluate("-(tanh(h))", {"h": 0.5}).value


def test_same_binding_twice_with_same_value_is_fine() -> None:
    assert run("eval", "a", "a=1", "a=1.0").exit_code == 0


def test_every_command_has_help() -> None:
    for name, command in main.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert command.help and len(command.help.strip()) > 20, name


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and "autodiff" in result.stdout


def test_module_entry_point_and_no_traceback_in_a_real_process() -> None:
    ok = subprocess.run([sys.executable, "-m", "autodiff_cli", "eval", "a^2", "a=3", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["gradients"] == {"a": 6.0}
    bad = subprocess.run([sys.executable, "-m", "autodiff_cli", "eval", "1/a", "a=0"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "domain error" in bad.stderr and "Traceback" not in bad.stderr


def test_invalid_utf8_on_standard_input() -> None:
    result = CliRunner().invoke(main, ["eval", "-", "a=1"], input=b"a +\xff 1")
    assert result.exit_code == 2
    assert "UTF-8" in result.stderr


def test_help_text_is_the_docstring() -> None:
    assert isinstance(main, click.Group)
    assert "tanh(a*b+c)" in run("eval", "--help").stdout


def test_importing_the_library_loads_neither_click_nor_rich() -> None:
    code = (
        "import sys, autodiff_cli; autodiff_cli.evaluate('a*b', {'a': 1, 'b': 2}); "
        "print(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
