"""The language: precedence, statements and names against Python's own arithmetic; error positions."""

from __future__ import annotations

import math

import pytest

from autodiff_cli import AutodiffError, evaluate
from autodiff_cli.parser import parse

from .conftest import close

A, B, C = 1.3, 0.7, 2.2

# (program, the same computation in Python) -- Python is the reference LANGUAGE.md names.
PRECEDENCE = [
    ("-a^2", lambda a, b, c: -(a**2)),
    ("2^3^a", lambda a, b, c: 2 ** (3**a)),
    ("a^-1", lambda a, b, c: a**-1),
    ("2^-a^2", lambda a, b, c: 2 ** (-(a**2))),
    ("a**b**2", lambda a, b, c: a ** (b**2)),
    ("2*-a", lambda a, b, c: 2 * -a),
    ("a - -b", lambda a, b, c: a - -b),
    ("a/b/c", lambda a, b, c: a / b / c),
    ("a-b-c", lambda a, b, c: a - b - c),
    ("a + b * c", lambda a, b, c: a + b * c),
    ("(a + b) * c", lambda a, b, c: (a + b) * c),
    ("-a * -b", lambda a, b, c: -a * -b),
    ("+a - +b", lambda a, b, c: a - b),
    ("a * b ^ 2 / c", lambda a, b, c: a * b**2 / c),
    ("-(a)^2", lambda a, b, c: -(a**2)),
    ("(-a)^2", lambda a, b, c: (-a) ** 2),
    ("a^b^c", lambda a, b, c: a ** (b**c)),
    ("pow(a, b) - a^b", lambda a, b, c: 0.0),
    ("2.5e-1*a + .5 + 5. + 1E1", lambda a, b, c: 0.25 * a + 0.5 + 5.0 + 10.0),
    ("pi*a + e + tau", lambda a, b, c: math.pi * a + math.e + math.tau),
]


@pytest.mark.parametrize(("program", "python"), PRECEDENCE, ids=[p for p, _ in PRECEDENCE])
def test_precedence_matches_python(program: str, python) -> None:
    bindings = {"a": A, "b": B, "c": C}
    result = evaluate(program, bindings)
    assert close(result.value, python(A, B, C), rel=1e-14, abs_=1e-15)
    for name in result.gradients:
        h = 1e-6

        def f(x: float, name: str = name) -> float:
            return python(**{**bindings, name: x})

        slope = (f(bindings[name] + h) - f(bindings[name] - h)) / (2 * h)
        assert close(result.gradients[name], slope, rel=1e-6, abs_=1e-7), name


STATEMENTS = [
    ("a;;b;", {"a": 1.0, "b": 2.0}, 2.0, {"a": 0.0, "b": 1.0}),
    ("a = a * 2; a + b", {"a": 3.0, "b": 1.0}, 7.0, {"a": 2.0, "b": 1.0}),
    ("s = a\ns += b\ns *= a # scale\ns", {"a": 2.0, "b": 3.0}, 10.0, {"a": 7.0, "b": 2.0}),
    ("x = a*b\n\n# comment only\n\ny = x + 1", {"a": 2.0, "b": 3.0}, 7.0, {"a": 3.0, "b": 2.0}),
    ("(a +\n b)", {"a": 1.0, "b": 2.0}, 3.0, {"a": 1.0, "b": 1.0}),
    ("θ = α1 * 2; θ^2", {"α1": 1.5}, 9.0, {"α1": 12.0}),
    ("pi = 3; pi * a", {"a": 2.0}, 6.0, {"a": 3.0}),
    ("pi * a", {"a": 2.0, "pi": 1.0}, 2.0, {"pi": 2.0, "a": 1.0}),
    ("a + 1", {"a": 1.0, "unused": 9.0}, 2.0, {"a": 1.0}),
    ("y = a*2", {"a": 1.5}, 3.0, {"a": 2.0}),
    ("a = 5; a", {}, 5.0, {}),
]


@pytest.mark.parametrize(("program", "bindings", "value", "gradients"), STATEMENTS, ids=[s[0] for s in STATEMENTS])
def test_statements(program: str, bindings: dict, value: float, gradients: dict) -> None:
    result = evaluate(program, bindings)
    assert result.value == value
    assert result.gradients == gradients
    assert list(result.gradients) == list(gradients), "inputs in order of first use"


def test_same_name_same_node() -> None:
    graph = parse("z = a*b; y = z + z; y * a")
    z = graph.names["z"]
    y = graph.names["y"]
    assert y._prev[0] is y._prev[1] is z
    assert graph.result._prev[1] is graph.inputs["a"] is z._prev[0]


def test_unicode_names_are_normalized_like_python() -> None:
    # NFKC: the ligature "ﬁ" is the same identifier as "fi" in Python.
    assert evaluate("ﬁ * 2", {"fi": 3.0}).gradients == {"fi": 2.0}


# (program, bindings, kind, line, column, words in the message)
ERRORS = [
    ("", {}, "syntax", 1, 1, "empty program"),
    ("a*", {"a": 1}, "syntax", 1, 3, "operand is missing"),
    ("(a", {"a": 1}, "syntax", 1, 3, "')'"),
    ("a)", {"a": 1}, "syntax", 1, 2, "unmatched ')'"),
    ("2a", {"a": 1}, "syntax", 1, 2, "write 2*a"),
    ("2(a+b)", {"a": 1, "b": 1}, "syntax", 1, 2, "write 2*(...)"),
    ("a b", {"a": 1, "b": 2}, "syntax", 1, 3, "missing an operator"),
    ("a $ b", {"a": 1, "b": 2}, "syntax", 1, 3, "unexpected character '$'"),
    ("a + * b", {"a": 1, "b": 2}, "syntax", 1, 5, "unexpected '*'"),
    ("3 = a", {"a": 1}, "syntax", 1, 3, "only a name can be assigned"),
    ("x = 1\ny = x +\nz", {}, "syntax", 2, 8, "operand is missing"),
    ("q + 1", {}, "name", 1, 1, "q is not bound"),
    ("a = 1\nb + a", {}, "name", 2, 1, "b is not bound"),
    ("foo(a)", {"a": 1}, "name", 1, 1, "unknown function foo"),
    ("tahn(a)", {"a": 1}, "name", 1, 1, "did you mean tan or tanh?"),
    ("tanh(a, b)", {"a": 1, "b": 2}, "name", 1, 1, "tanh takes 1 argument, got 2"),
    ("pow(a)", {"a": 1}, "name", 1, 1, "pow takes 2 arguments, got 1"),
    ("exp + 1", {}, "name", 1, 1, "exp is a function"),
    ("exp = 2", {}, "name", 1, 1, "cannot be assigned"),
    ("a + a(2)", {"a": 1}, "name", 1, 5, "a is a variable, not a function"),
    ("log(a)", {"a": -1}, "domain", 1, 1, "log needs an argument > 0"),
    ("x = 2\n1/(a - x)", {"a": 2}, "domain", 2, 2, "division by zero"),
    ("a^0.5", {"a": -2}, "domain", 1, 2, "negative base"),
    ("0^a", {"a": -1}, "domain", 1, 2, "negative power"),
    ("sqrt(a)", {"a": 0}, "domain", 1, 1, "derivative of sqrt(0) is infinite"),
    ("asin(a)", {"a": 1}, "domain", 1, 1, "derivative of asin(1) is infinite"),
    ("b^a", {"a": 2, "b": -2}, "domain", 1, 2, "undefined"),
    ("atan2(a, b)", {"a": 0, "b": 0}, "domain", 1, 1, "atan2(0, 0)"),
    ("exp(a)", {"a": 1000}, "overflow", 1, 1, "exp(1000) overflows"),
    ("a*b", {"a": 1e300, "b": 1e300}, "overflow", 1, 2, "overflows"),
    ("1e999 + a", {"a": 1}, "overflow", 1, 1, "too large"),
    ("a^2", {"a": 1e200}, "overflow", 1, 2, "overflows"),
    ("1/a", {"a": 1e-200}, "overflow", 1, 2, "derivative of '/' at (1, 1e-200) overflows"),
    ("(-2)^a", {"a": 2}, "domain", 1, 5, "derivative of '^' at (-2, 2) is undefined"),
]


@pytest.mark.parametrize(("program", "bindings", "kind", "line", "column", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_kind_and_place(program: str, bindings: dict, kind: str, line: int, column: int, words: str) -> None:
    with pytest.raises(AutodiffError) as info:
        evaluate(program, bindings)
    err = info.value
    assert (err.kind, err.line, err.column) == (kind, line, column), str(err)
    assert words in err.message
    assert "\n" not in err.message
    source_line = program.split("\n")[line - 1]
    assert err.caret() == f"  {source_line}\n  {' ' * (column - 1)}^"


def test_exponent_constant_needs_no_log() -> None:
    # x^2 at x = 0: ln(0) is never needed because the exponent is a constant.
    assert evaluate("a^2 + a^3 + a^0", {"a": 0.0}).gradients == {"a": 0.0}


def test_dead_branch_does_not_poison_the_gradient() -> None:
    # sqrt(a) is never used by the result, so its infinite slope at 0 is irrelevant.
    assert evaluate("x = sqrt(a); a + 1", {"a": 0.0}).gradients == {"a": 1.0}


@pytest.mark.slow
def test_deep_and_long_programs_parse_without_recursion() -> None:
    n = 100_000
    assert evaluate("+".join(["a"] * n), {"a": 1.5}).gradients == {"a": float(n)}
    assert evaluate("(" * 50_000 + "a" + ")" * 50_000, {"a": 2.0}).value == 2.0
    assert evaluate("-" * 50_001 + "a", {"a": 2.0}).gradients == {"a": -1.0}


# --- the language's numbers and blanks are ASCII; its names are Python's identifiers ---------

import unicodedata  # noqa: E402

# Decimal digits Python's float() and regex \d accept, from several scripts and planes.
DIGITS = ["١", "۵", "१", "১", "๓", "５", "𝟏", "᠑", "߄"]


@pytest.mark.parametrize("digit", DIGITS, ids=[f"U+{ord(d):04X}" for d in DIGITS])
@pytest.mark.parametrize("template", ["{d}+1", "1+{d}", "a^{d}", "1.{d}", "{d}{d}*a", "x = 2\ny*{d}", "max({d}, a)"])
def test_a_digit_that_is_not_ascii_is_a_syntax_error_at_its_place(digit: str, template: str) -> None:
    assert float(digit) == unicodedata.decimal(digit)  # Python reads it as a number: the language must not
    program = template.format(d=digit)
    with pytest.raises(AutodiffError) as info:
        evaluate(program, {"a": 1.0, "y": 2.0})
    err = info.value
    line = program[: program.index(digit)].count("\n") + 1
    column = program.index(digit) - (program.rfind("\n", 0, program.index(digit)) + 1) + 1
    assert (err.kind, err.line, err.column) == ("syntax", line, column), str(err)
    assert "ASCII digit" in err.message and f"is {unicodedata.decimal(digit)}" in err.message


def test_every_non_ascii_decimal_digit_is_refused_as_a_number() -> None:
    digits = [chr(i) for i in range(0x80, 0x110000) if unicodedata.category(chr(i)) == "Nd"]
    assert len(digits) > 500
    for d in digits:
        with pytest.raises(AutodiffError) as info:
            evaluate(f"2*{d}")
        assert (info.value.kind, info.value.column) == ("syntax", 3), d


@pytest.mark.parametrize(
    ("program", "column", "words"),
    [("²", 1, "superscript"), ("a*x²", 4, "superscript"), ("½ + a", 1, "write 1/2"), ("a^⁵", 3, "superscript"),
     ("x₁ + 1", 2, "subscript"), ("1e٣", 2, "")],
)  # fmt: skip
def test_other_numerals_are_not_numbers(program: str, column: int, words: str) -> None:
    with pytest.raises(AutodiffError) as info:
        evaluate(program, {"a": 1.0, "x": 1.0})
    assert (info.value.kind, info.value.column) == ("syntax", column), str(info.value)
    assert words in info.value.message


# Spaces Python's str.split() and regex \s take for blanks; the language's blanks are " \t\f\r\v" only.
SPACES = ["\u00a0", "\u2028", "\u2029", "\u3000", "\u1680", "\u2003", "\u0085", "\u202f"]


@pytest.mark.parametrize("space", SPACES, ids=[f"U+{ord(s):04X}" for s in SPACES])
@pytest.mark.parametrize("template", ["a{s}+ b", "{s}a", "a +{s}b", "a = 1;{s}a"])
def test_a_space_that_is_not_ascii_is_a_syntax_error_at_its_place(space: str, template: str) -> None:
    assert space.isspace()
    program = template.format(s=space)
    with pytest.raises(AutodiffError) as info:
        evaluate(program, {"a": 1.0, "b": 2.0})
    assert (info.value.kind, info.value.column) == ("syntax", program.index(space) + 1), str(info.value)
    assert f"U+{ord(space):04X}" in info.value.message
    assert (
        evaluate(template.format(s=" "), {"a": 1.0, "b": 2.0}).value
        == evaluate("a + b" if "+" in template else "a", {"a": 1.0, "b": 2.0}).value
    )


# Identifiers Python accepts that regex \w cannot spell: combining marks, connector punctuation, U+00B7.
NAMES = ["नमस्ते", "cafe\u0301", "x‿y", "x·y", "ஆம்", "สวัสดี", "a\u0308b", "x١", "ｘ１"]


@pytest.mark.parametrize("name", NAMES)
def test_names_are_what_python_calls_identifiers(name: str) -> None:
    assert name.isidentifier()
    normal = unicodedata.normalize("NFKC", name)
    result = evaluate(f"{name} * 2 - 1", {normal: 1.5})
    assert result.value == 2.0 and result.gradients == {normal: 2.0}
    assert evaluate(f"y = {name}^2; y", {normal: 3.0}).value == 9.0


def test_a_name_holds_exactly_python_identifiers() -> None:
    # A sample of every plane's characters after a letter: a name if Python says so, else a syntax error there.
    for i in [*range(0x80, 0x3000, 7), *range(0x3000, 0x30000, 97)]:
        ch = chr(i)
        if 0xD800 <= i <= 0xDFFF:
            continue
        name = f"a{ch}"
        normal = unicodedata.normalize("NFKC", name)
        if name.isidentifier() and normal.isidentifier():
            assert evaluate(f"{name} * 2", {normal: 1.5}).value == 3.0, hex(i)
        else:
            with pytest.raises(AutodiffError) as info:
                evaluate(f"{name} * 2", {"a": 1.5})
            assert (info.value.kind, info.value.column) == ("syntax", 2), (hex(i), str(info.value))
