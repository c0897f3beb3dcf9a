"""The one rule for names and numbers given to autodiff, whichever door they come in by.

``NAME=VALUE`` arguments, batch JSON ``vars``, sweep rows, ``evaluate`` and
``Program.run`` bindings, ``Value(...)`` and the plain numbers in Value
arithmetic all pass through ``as_number`` and ``check_name``, so a value the
command line refuses is refused from Python too, with the same kind (``input``).

This module sits just above ``ops`` (the engine and the parser use it), so it
imports nothing else of the package but errors.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping

from .errors import INPUT, AutodiffError
from .ops import FUNCTIONS

__all__ = [
    "NUMBER",
    "CheckedBindings",
    "as_number",
    "check_bindings",
    "check_name",
    "name_problem",
    "normalize_name",
    "parse_binding",
    "parse_bindings",
    "parse_number",
    "spelled",
]

# Python's float() also takes "inf", "nan", "1_000", Unicode digits and
# whitespace; a binding takes only a plain decimal in ASCII digits, optionally
# signed, so that typos are caught. Each digit run has one way to match (no
# ``\d+\.?\d*``, whose splits of a long run made a failed match quadratic),
# so a match costs time linear in the text.
NUMBER = re.compile(r"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
"""The one spelling of a number: sign, integer digits, fraction digits (group 3 or 4), exponent."""


class CheckedBindings(dict[str, float]):
    """Bindings that already passed ``check_bindings``: names in NFKC, values finite floats.

    Only this module makes them (and code that merges two of them). Program.run
    takes them as they are, so a sweep or a batch checks each row once, not
    once per hop.
    """

    __slots__ = ()


# --- numbers -------------------------------------------------------------------------


def spelled(x: object) -> str:
    """``x`` as Python writes it, cut to 40 characters: how a rejected value is echoed."""
    text = repr(x)
    return text if len(text) <= 40 else f"{text[:37]}..."


def as_number(x: object, what: str = "the value", spell: Callable[[object], str] = spelled) -> float:
    """``x`` as a finite float64, or AutodiffError(kind='input') saying why it is not one.

    An int or a float is a number; so is any other ``numbers.Real`` (a
    Fraction, a NumPy scalar). A bool is not, nor is text: the Python API does
    not guess what a string means (the command line reads text, by its own
    strict rule, before it gets here). ``spell`` shows a rejected value.
    """
    if type(x) is float:
        if x - x == 0.0:
            return x
        raise AutodiffError(INPUT, f"{what} is not a finite float64: {x!r}")
    if isinstance(x, bool) or not _is_real(x):
        kind = type(x).__name__
        hint = " (text is read as a number only on the command line)" if isinstance(x, (str, bytes)) else ""
        raise AutodiffError(INPUT, f"{what} is not a number: {spell(x)}, a {kind}; give an int or a float{hint}")
    try:
        y = float(x)  # type: ignore[arg-type]
    except OverflowError:
        bits = x.bit_length() if isinstance(x, int) else None
        size = f" (an int of {bits} bits)" if bits else ""
        raise AutodiffError(INPUT, f"{what} is too large for float64{size}") from None
    if y - y != 0.0:
        raise AutodiffError(INPUT, f"{what} is not a finite float64: {spell(x)}")
    return y


def _is_real(x: object) -> bool:
    if isinstance(x, (int, float)):
        return True
    import numbers  # rarely needed: only for Fractions, NumPy scalars and the like

    return isinstance(x, numbers.Real)


def parse_number(text: str, name: str = "") -> float:
    """A finite float64 from decimal text, or AutodiffError(kind='input')."""
    what = f"the value for {name}" if name else "the value"
    # Only spaces and tabs around the number: str.strip() also drops
    # U+001C-U+001F and other separators, which float() then refuses.
    number = NUMBER.fullmatch(text.strip(" \t"))
    if not number:
        raise AutodiffError(INPUT, f"{what} is not a number: {spelled(text)}")
    x = float(number.group())  # float() reads any length of digits and exponent in linear time
    if not math.isfinite(x):
        raise AutodiffError(INPUT, f"{what} is not a finite float64: {spelled(text)}")
    return x


# --- names ---------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """The identity of a name, as Python defines it for identifiers (NFKC)."""
    return unicodedata.normalize("NFKC", name)


_SUPERSCRIPTS = frozenset("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_SUBSCRIPTS = frozenset("₀₁₂₃₄₅₆₇₈₉")


def _run_of(text: str, i: int, kind: frozenset[str]) -> str:
    j = i
    while j < len(text) and text[j] in kind:
        j += 1
    return normalize_name(text[i:j]).replace("\u2212", "-")  # NFKC makes ⁻ a minus sign, U+2212


def name_problem(text: str, before: str = "") -> tuple[int, str] | None:
    """Why ``text`` cannot be a name: (index of the first bad character, message), or None.

    Names are identifiers as Python defines them, before NFKC: ``x²`` is not
    ``x2`` and ``½`` is not a name. The message suggests what was meant;
    ``before`` is the text just before ``text`` (for ``2²``: ``2``).
    """
    if text.isidentifier():
        return None
    if not text:
        return 0, "no name given"
    i = next((k for k in range(len(text)) if not (text[k] if k == 0 else "a" + text[k]).isidentifier()), 0)
    ch = text[i]
    base = text[:i] or before or "x"
    if ch in _SUPERSCRIPTS:
        return i, f"{_shown(ch)} is a superscript: for a power write {base}^{_run_of(text, i, _SUPERSCRIPTS)}"
    if ch in _SUBSCRIPTS:
        return i, f"{_shown(ch)} is a subscript: for a name write {base}_{_run_of(text, i, _SUBSCRIPTS)}"
    if "\u2044" in normalize_name(ch):
        return i, f"{_shown(ch)} is not a number autodiff reads: write {normalize_name(ch).replace(chr(0x2044), '/')}"
    if i == 0 and ("a" + ch).isidentifier():
        return i, f"a name cannot start with {_shown(ch)}"
    return i, f"{_shown(ch)} cannot be part of a name (names are letters, digits and _)"


def _shown(ch: str) -> str:
    return repr(ch) if ch.isascii() and ch.isprintable() else f"'{ch}' (U+{ord(ch):04X})"


@functools.lru_cache(maxsize=4096)
def _name_or_problem(text: str) -> tuple[str, str | None]:
    """The NFKC name of ``text``, or why it cannot be a variable: names repeat, so this is cached."""
    stripped = text.strip()
    problem = name_problem(stripped)
    if problem is not None:
        return stripped, f"{stripped!r} is not a name: {problem[1]}"
    name = normalize_name(stripped)
    if not name.isidentifier():
        return name, f"{name!r} is not a name"
    if name in FUNCTIONS:
        return name, f"{name} is a function, not a variable"
    return name, None


def check_name(name: object, where: str) -> str:
    """``name`` as the program will see it (NFKC), if a variable could have it; ``where`` starts the error."""
    if not isinstance(name, str):
        raise AutodiffError(INPUT, f"{where}: a name must be a str, not {type(name).__name__}: {spelled(name)}")
    normal, problem = _name_or_problem(name)
    if problem is not None:
        raise AutodiffError(INPUT, f"{where}: {problem}")
    return normal


# --- bindings ------------------------------------------------------------------------


def _add(out: dict[str, float], name: str, x: float) -> None:
    """Bind ``name`` in ``out``: the same name twice (in any NFKC spelling) must agree."""
    old = out.get(name, x)
    if old != x:
        raise AutodiffError(INPUT, f"{name} is bound twice, to {old!r} and {x!r}")
    out[name] = x


def check_bindings(bindings: object, where: str = "bad binding", spell: Callable[[object], str] = spelled) -> CheckedBindings:
    """A mapping of name -> number, checked by the one rule: AutodiffError(kind='input') if any is bad.

    ``bindings`` that is not a Mapping at all is a mistake in the calling code,
    not in the data: TypeError.
    """
    if type(bindings) is CheckedBindings:
        return bindings
    if type(bindings) is not dict and not isinstance(bindings, Mapping):
        raise TypeError(f"bindings must be a mapping of names to numbers, such as {{'x': 1.5}}, not {type(bindings).__name__}")
    out = CheckedBindings()
    for key, value in bindings.items():
        # Program.run checks plain dicts on every call: the common case (a str
        # name seen before, a finite float) is inlined.
        name, problem = _name_or_problem(key) if type(key) is str else (check_name(key, where), None)
        if problem is not None:
            raise AutodiffError(INPUT, f"{where}: {problem}")
        x = value if type(value) is float and value - value == 0.0 else as_number(value, f"the value for {name}", spell)
        if name in out:
            _add(out, name, x)
        out[name] = x
    return out


def parse_binding(arg: str) -> tuple[str, float]:
    """``'a=-2.5'`` -> ``('a', -2.5)``; a malformed one raises AutodiffError(kind='input')."""
    name, sep, value = arg.partition("=")
    if not sep:
        raise AutodiffError(INPUT, f"bad binding {arg!r}: write NAME=VALUE, e.g. a=2")
    name = check_name(name, f"bad binding {arg!r}")
    if not value.strip():
        raise AutodiffError(INPUT, f"bad binding {arg!r}: no value after '='")
    return name, parse_number(value, name)


def parse_bindings(args: Iterable[str]) -> CheckedBindings:
    """All of ``args`` as one mapping; the same name twice must agree."""
    out = CheckedBindings()
    for arg in args:
        _add(out, *parse_binding(arg))
    return out
