"""The Python API checks what it is given as the command line does: one rule for names and values.

Every entry point (``evaluate``, ``compile_program(...).run``, ``Value(...)``,
Value arithmetic, batch JSON ``vars``, ``NAME=VALUE`` arguments) must refuse
the same bad numbers and names with an AutodiffError of kind ``input``; a
wrong Python type for the program or the bindings container is a TypeError.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from click.testing import CliRunner

from autodiff_cli import AutodiffError, Value, compile_program, evaluate
from autodiff_cli.batch import run_job
from autodiff_cli.bindings import CheckedBindings, check_bindings, parse_bindings
from autodiff_cli.check import check_gradients
from autodiff_cli.cli import main
from autodiff_cli.hessian import hessian
from autodiff_cli.job_lines import parse_job

# Values no entry point may take, each with why.
BAD_VALUES = [
    pytest.param(10**400, id="int-too-large-for-float64"),
    pytest.param(-(10**400), id="negative-int-too-large"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
    pytest.param(math.nan, id="nan"),
    pytest.param(True, id="bool"),
    pytest.param(False, id="bool-false"),
    pytest.param("1_000", id="str-with-underscore"),
    pytest.param(" 12 ", id="str-with-spaces"),
    pytest.param("5", id="plain-str"),
    pytest.param(b"5", id="bytes"),
    pytest.param(None, id="None"),
    pytest.param([1.0], id="list"),
    pytest.param(1 + 2j, id="complex"),
]


def input_error(call) -> AutodiffError:
    with pytest.raises(AutodiffError) as info:
        call()
    assert info.value.kind == "input", info.value
    return info.value


@pytest.mark.parametrize("value", BAD_VALUES)
def test_evaluate_refuses_a_bad_value_as_an_input_error(value: object) -> None:
    input_error(lambda: evaluate("x + 1", {"x": value}))


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_compiled_program_refuses_a_bad_value_as_an_input_error(value: object) -> None:
    program = compile_program("x * 2")
    input_error(lambda: program.run({"x": value}))
    input_error(lambda: program.run({"x": value}, strict=False))  # --allow-nonfinite is about results, not inputs


@pytest.mark.parametrize("value", BAD_VALUES)
def test_value_refuses_a_bad_number_as_an_input_error(value: object) -> None:
    input_error(lambda: Value(value))


@pytest.mark.parametrize("value", BAD_VALUES)
def test_check_and_hessian_refuse_a_bad_value_as_an_input_error(value: object) -> None:
    input_error(lambda: check_gradients(compile_program("x * 2"), {"x": value}))
    input_error(lambda: hessian("x * x", {"x": value}))


def test_an_unused_binding_is_still_checked() -> None:
    # The CLI refuses y=abc even when the program never reads y; so does the API.
    input_error(lambda: evaluate("x", {"x": 1.0, "y": "abc"}))


def test_the_message_names_the_binding_and_the_problem() -> None:
    assert "x" in input_error(lambda: evaluate("x", {"x": 10**400})).message
    assert "float64" in input_error(lambda: evaluate("x", {"x": 10**400})).message
    assert "str" in input_error(lambda: evaluate("x", {"x": "5"})).message
    assert "bool" in input_error(lambda: evaluate("x", {"x": True})).message


@pytest.mark.parametrize(
    ("value", "json_text"),
    [(True, "true"), ("5", '"5"'), (None, "null"), (math.inf, "1e400"), (10**400, "1" + "0" * 400)],
)
def test_batch_json_and_the_api_refuse_the_same_values(value: object, json_text: str) -> None:
    line = f'{{"expr": "x + 1", "vars": {{"x": {json_text}}}}}'
    record = run_job(parse_job(1, line.encode()))
    assert record["error"]["kind"] == "input", record
    input_error(lambda: evaluate("x + 1", {"x": value}))


@pytest.mark.parametrize(
    "text",
    ["1_000", "inf", "nan", "1e400", "True", "0x10", "\x1c5", "١", "1\u00a0", "\u20092", "１", "𝟗", "1e٣", "٠.٥", "²"],
)
def test_the_cli_refuses_text_the_api_would_not_take_either(text: str) -> None:
    result = CliRunner().invoke(main, ["eval", "x + 1", f"x={text}"])
    assert result.exit_code == 2, result.output
    input_error(lambda: parse_bindings([f"x={text}"]))


def test_a_binding_takes_ascii_digits_only_though_python_reads_every_decimal_digit() -> None:
    import sys
    import unicodedata

    digits = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Nd" and not chr(c).isascii()]
    assert len(digits) > 500  # float() reads each of them as its digit: the rule must not
    for ch in digits:
        for text in (ch, f"1{ch}", f"{ch}.5", f"1e{ch}"):
            input_error(lambda text=text: parse_bindings([f"x={text}"]))
    assert parse_bindings(["x= 12.5e-1\t"]) == {"x": 1.25}  # spaces and tabs around it are fine


# --- good values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (-7, -7.0),
        (2**53 + 1, 9007199254740992.0),  # rounds to nearest, as float() does
        (1e308, 1e308),
        (5e-324, 5e-324),
        (-0.0, -0.0),
        (Fraction(1, 4), 0.25),
    ],
)
def test_ints_floats_and_other_reals_are_values(value: object, expected: float) -> None:
    result = evaluate("x", {"x": value})
    assert result.value == expected and math.copysign(1.0, result.value) == math.copysign(1.0, expected)
    assert Value(value).data == expected


# --- names ---------------------------------------------------------------------------


def test_two_spellings_of_one_name_that_disagree_are_an_input_error() -> None:
    # "ｘ" (fullwidth) is "x" after NFKC, as in batch JSON and on the command line.
    error = input_error(lambda: evaluate("x", {"x": 1, "ｘ": 2}))
    assert "bound twice" in error.message
    assert evaluate("x", {"x": 1, "ｘ": 1}).value == 1.0, "two spellings that agree are one binding"


def test_a_binding_reaches_the_program_under_its_nfkc_name() -> None:
    assert evaluate("x * 2", {"ｘ": 4}).gradients == {"x": 2.0}


@pytest.mark.parametrize(
    ("name", "hint"),
    [("x²", "x^2"), ("½", "1/2"), ("x₂", "x_2"), ("2x", "cannot start"), ("a b", "not a name"), ("", "not a name")],
)
def test_a_bad_name_is_an_input_error(name: str, hint: str) -> None:
    assert hint in input_error(lambda: evaluate("x", {"x": 1, name: 2})).message


def test_a_function_name_is_not_a_binding() -> None:
    assert "function" in input_error(lambda: evaluate("x", {"x": 1, "sin": 2})).message


def test_a_name_that_is_not_a_str_is_an_input_error() -> None:
    input_error(lambda: evaluate("x", {"x": 1, 1: 2}))
    input_error(lambda: evaluate("x", {"x": 1, b"y": 2}))


def test_a_superscript_name_is_refused_on_the_command_line_too() -> None:
    result = CliRunner().invoke(main, ["eval", "x", "x=1", "x²=2"])
    assert result.exit_code == 2 and "x^2" in result.output


# --- wrong Python types: TypeError ------------------------------------------------------


@pytest.mark.parametrize("program", [5, b"x", None, ["x"]])
def test_a_program_that_is_not_a_str_is_a_type_error(program: object) -> None:
    with pytest.raises(TypeError, match="program must be a str"):
        evaluate(program, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="program must be a str"):
        compile_program(program)  # type: ignore[arg-type]


@pytest.mark.parametrize("bindings", [[("x", 1)], (("x", 1),), {"x"}, "x=1", 5])
def test_bindings_that_are_not_a_mapping_are_a_type_error(bindings: object) -> None:
    with pytest.raises(TypeError, match="mapping of names to numbers"):
        evaluate("x", bindings)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping of names to numbers"):
        compile_program("x").run(bindings)  # type: ignore[arg-type]


# --- Value arithmetic with plain numbers ----------------------------------------------


def test_an_overflowing_result_is_an_overflow_error_in_every_operator() -> None:
    for make in (lambda: Value(1e308) * 10, lambda: Value(2) ** 1e300, lambda: 10 ** Value(400.0), lambda: Value(1e308) + 1e308):
        with pytest.raises(AutodiffError) as info:
            make()
        assert info.value.kind == "overflow"


def test_an_infinite_operand_is_refused_not_propagated() -> None:
    # 1e400 is inf before autodiff sees it: not a value, as x=1e400 is not on the command line.
    for make in (lambda: Value(2) ** 1e400, lambda: Value(2) * math.inf, lambda: math.nan + Value(1), lambda: Value(1) - 10**400):
        input_error(make)


def test_a_bool_operand_is_refused() -> None:
    input_error(lambda: Value(2) * True)


def test_a_non_number_operand_is_python_s_type_error() -> None:
    with pytest.raises(TypeError):
        Value(2) + "a"  # type: ignore[operator]
    with pytest.raises(TypeError):
        Value(2) * None  # type: ignore[operator]


def test_value_arithmetic_with_good_numbers_is_exact_float_arithmetic() -> None:
    assert (Value(1.5) * 2 + 0.25).data == 3.25
    assert (2 ** Value(10)).data == 1024.0
    assert (Value(Fraction(1, 4)) * 4).data == 1.0


# --- checked once ---------------------------------------------------------------------


def test_checked_bindings_pass_through_unchanged() -> None:
    checked = check_bindings({"ｘ": 2, "y": 0.5})
    assert type(checked) is CheckedBindings and checked == {"x": 2.0, "y": 0.5}
    assert type(checked["x"]) is float
    assert check_bindings(checked) is checked, "a second hop must not check again"
    assert type(parse_bindings(["a=1"])) is CheckedBindings


def test_batch_vars_arrive_checked_and_answer_like_the_api() -> None:
    job = parse_job(1, json.dumps({"expr": "x*y", "vars": {"x": 3, "ｙ": 0.5}}).encode())
    assert type(job.bindings) is CheckedBindings
    record = run_job(job)
    assert record["value"] == 1.5 and record["gradients"] == {"x": 0.5, "y": 3.0}
