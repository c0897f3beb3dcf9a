"""Reading ``NAME=VALUE`` arguments, shared by ``eval`` and batch lines."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from .errors import INPUT, AutodiffError
from .ops import FUNCTIONS
from .parser import normalize_name

# Python's float() also takes "inf", "nan", "1_000" and spaces; a binding takes
# only a plain decimal, optionally signed, so that typos are caught.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str, name: str = "") -> float:
    """A finite float64 from decimal text, or AutodiffError(kind='input')."""
    what = f"the value for {name}" if name else "the value"
    # Only spaces and tabs around the number: str.strip() also drops
    # U+001C-U+001F and other separators, which float() then refuses.
    number = _NUMBER.fullmatch(text.strip(" \t"))
    if not number:
        raise AutodiffError(INPUT, f"{what} is not a number: {text!r}")
    x = float(number.group())
    if not math.isfinite(x):
        raise AutodiffError(INPUT, f"{what} is not a finite float64: {text!r}")
    return x


def check_name(name: str, where: str) -> str:
    """``name`` as the program will see it (NFKC), if a variable could have it; ``where`` starts the error."""
    name = normalize_name(name.strip())
    if not name.isidentifier():
        raise AutodiffError(INPUT, f"{where}: {name!r} is not a name")
    if name in FUNCTIONS:
        raise AutodiffError(INPUT, f"{where}: {name} is a function, not a variable")
    return name


def parse_binding(arg: str) -> tuple[str, float]:
    """``'a=-2.5'`` -> ``('a', -2.5)``; a malformed one raises AutodiffError(kind='input')."""
    name, sep, value = arg.partition("=")
    if not sep:
        raise AutodiffError(INPUT, f"bad binding {arg!r}: write NAME=VALUE, e.g. a=2")
    name = check_name(name, f"bad binding {arg!r}")
    if not value.strip():
        raise AutodiffError(INPUT, f"bad binding {arg!r}: no value after '='")
    return name, parse_number(value, name)


def parse_bindings(args: Iterable[str]) -> dict[str, float]:
    """All of ``args`` as one mapping; the same name twice must agree."""
    out: dict[str, float] = {}
    for arg in args:
        name, value = parse_binding(arg)
        if name in out and out[name] != value:
            raise AutodiffError(INPUT, f"{name} is bound twice, to {out[name]!r} and {value!r}")
        out[name] = value
    return out
