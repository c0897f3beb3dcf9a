"""What a syntax error says: lark's exception turned into one line a person can act on.

The driver (lalr.py) only succeeds; on a text it cannot read, parser.py
parses it again with lark's own loop, whose ``UnexpectedInput`` says where it
stopped and what it expected. ``syntax_error`` reads that, with the token
before it (parser's postlexer remembers it), and names the mistake as a person
would: an implicit multiplication, a missing operand, an unmatched bracket,
a superscript or non-ASCII digit.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from .bindings import name_problem
from .errors import SYNTAX, AutodiffError

if TYPE_CHECKING:
    from lark import Token
    from lark.exceptions import UnexpectedInput

__all__ = ["abbrev", "syntax_error"]

_TOKEN_WORDS = {
    "NAME": "name",
    "NUMBER": "number",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "EQUAL": "'='",
    "SEMICOLON": "';'",
    "_NL": "end of line",
    "$END": "end of input",
}


def abbrev(text: str, width: int = 24) -> str:
    """``text`` cut in the middle when it is long: a message quotes a 10,000-digit number by its ends."""
    return text if len(text) <= width else f"{text[:10]}...{text[-10:]} ({len(text)} characters)"


def _describe_token(tok: Token) -> str:
    if tok.type in ("NAME", "NUMBER"):
        return f"{_TOKEN_WORDS[tok.type]} '{abbrev(tok.value)}'"
    if tok.type in _TOKEN_WORDS:
        return _TOKEN_WORDS[tok.type]
    return f"'{tok.value}'"


def _end_position(source: str) -> tuple[int, int]:
    lines = source.split("\n")
    return len(lines), len(lines[-1]) + 1


def _adjacent(previous: Token | None, position: int | None) -> str:
    """The text of ``previous`` if it ends right at ``position`` and could be a base: ``2`` in ``2²``."""
    if previous is not None and previous.type in ("NAME", "NUMBER") and previous.end_pos == position:
        return str(previous.value)
    return ""


def syntax_error(err: UnexpectedInput, source: str, previous: Token | None) -> AutodiffError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    if isinstance(err, UnexpectedCharacters):
        ch = source[err.pos_in_stream] if err.pos_in_stream < len(source) else ""  # type: ignore[index, operator]
        if ch in "⁺⁻":  # x⁻¹: a superscript sign, which no token matches
            problem = name_problem(source[err.pos_in_stream :].split(maxsplit=1)[0], _adjacent(previous, err.pos_in_stream))
            if problem is not None:
                return AutodiffError(SYNTAX, problem[1], err.line, err.column, source)
        if ch.isdecimal() and not ch.isascii():  # ١ or ５: a digit to float(), not to the language
            run = "".join(itertools.takewhile(str.isdecimal, source[err.pos_in_stream : err.pos_in_stream + 20]))  # type: ignore[operator]
            message = f"'{ch}' (U+{ord(ch):04X}) is not an ASCII digit: numbers are written with 0-9 ({run} is {int(run)})"
            return AutodiffError(SYNTAX, message, err.line, err.column, source)
        shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}" if ch else "end"
        return AutodiffError(SYNTAX, f"unexpected character {shown}", err.line, err.column, source)
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    if tok.type == "$END":
        line, column = _end_position(source)
        what = "the program ends too soon"
        if "RPAR" in err.expected and previous is not None and previous.type in ("NAME", "NUMBER", "RPAR"):
            what = "the program ends before ')' closes a '('"
        elif previous is not None and previous.type not in ("NAME", "NUMBER", "RPAR"):
            what = f"the program ends after '{previous.value}'; an operand is missing"
        return AutodiffError(SYNTAX, what, line, column, source)
    line, column = tok.line, tok.column
    if tok.type == "NAME" and not tok.value.isascii():  # 2²: a NAME to lark, not a name to the language
        problem = name_problem(tok.value, _adjacent(previous, tok.start_pos))
        if problem is not None:
            return AutodiffError(SYNTAX, problem[1], line, column + problem[0], source)
    if tok.type == "_NL" and previous is not None and previous.type not in ("NAME", "NUMBER", "RPAR", "_NL"):
        return AutodiffError(SYNTAX, f"the line ends after '{previous.value}'; an operand is missing", line, column, source)
    starts_operand = tok.type in ("NAME", "NUMBER", "LPAR")
    if previous is not None and starts_operand and previous.type in ("NUMBER", "NAME", "RPAR"):
        left = "(...)" if previous.type == "RPAR" else previous.value
        right = "(...)" if tok.type == "LPAR" else tok.value
        if previous.type == "NUMBER":
            message = f"implicit multiplication is not supported: write {left}*{right}"
        else:
            message = f"missing an operator before {_describe_token(tok)}: write {left}*{right}?"
        return AutodiffError(SYNTAX, message, line, column, source)
    if tok.type == "RPAR":
        return AutodiffError(SYNTAX, "unmatched ')'", line, column, source)
    if tok.value == "=" and previous is not None:
        return AutodiffError(SYNTAX, "only a name can be assigned to", line, column, source)
    return AutodiffError(SYNTAX, f"unexpected {_describe_token(tok)}", line, column, source)
