"""Text from users, made inert and bounded before a person sees it.

Programs (comments too), job ids, file names and error messages are echoed
back in every people output. A terminal acts on some characters instead of
showing them: ESC starts sequences that retitle the window, open links, move
the cursor up and erase lines (so a hostile jobs file could overwrite earlier
answers); C1 controls do the same on some terminals; bidi overrides reorder
what is shown, so a line can read differently from what it is. Every such
character is shown as an escape instead, the way Python's ``repr`` writes it
(``\\x1b``, ``\\u202e``).

The rule is ``str.isprintable``: control characters (C0, DEL, C1), format
characters (bidi marks and overrides, zero-width joiners, BOM), separators
other than the plain space, surrogates, private-use and unassigned code
points are escaped; tab stays, since it only moves right and caret pictures
rely on it lining up. Backslashes are left alone, so ``\\x1b`` written in a
comment and an escaped ESC look the same: the escape is for safety, not for
a reversible encoding (``--json`` has the exact text).

Imports nothing of autodiff's: any layer may use it.
"""

from __future__ import annotations

__all__ = ["MAX_WIDTH", "MIN_PLOT_WIDTH", "MIN_WIDTH", "caret_picture", "clip", "env_size", "excerpt", "fit_width", "printable"]

CARET_WINDOW = 100
"""Source characters a caret picture shows around the column at most."""

MIN_WIDTH, MAX_WIDTH = 20, 1000
"""Columns a picture or table is drawn to, whether --width, COLUMNS or the terminal says so."""
MIN_PLOT_WIDTH = 30
"""A plot narrower than this has no room for its axes."""


def env_size(text: str) -> int:
    """COLUMNS or LINES as a count: 0 unless plain ASCII digits (not "²", which int() refuses); at most 10**9."""
    digits = text.strip(" ").lstrip("0")
    return (int(digits) if len(digits) < 10 else 10**9) if digits.isascii() and digits.isdigit() else 0


def fit_width(columns: int, least: int = MIN_WIDTH) -> int:
    """``columns`` within what every picture takes: the one rule for a width from COLUMNS or a terminal."""
    return max(least, min(MAX_WIDTH, columns))


_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on, or that hides or reorders text, escaped."""
    if text.isprintable():  # the common case, at C speed
        return text
    return "".join(ch if ch.isprintable() or ch == "\t" else _escape(ch) for ch in text)


def clip(text: str, limit: int, more: str = "…") -> str:
    """``text`` escaped, cut to ``limit`` characters (at a space if one is near) with a count of the rest.

    The cut comes before the escaping, so a 4 MB line costs only what is shown.
    """
    if len(text) <= limit:
        return printable(text)
    cut = text.rfind(" ", limit // 2, limit) + 1 or limit
    return f"{printable(text[:cut])}{more} ({len(text) - cut:,} more characters)"


def excerpt(source: str, limit: int, max_lines: int, more: str = "…") -> str:
    """The first ``max_lines`` lines of a program, each escaped and clipped to ``limit``.

    A 3,000-term sum or a 10,000-line file must not fill the screen; what is
    left out is counted, so nobody mistakes the excerpt for the whole.
    """
    lines = source.split("\n")
    out: list[str] = []
    for line in lines[:max_lines]:
        out.append(clip(line, limit, more))
        if len(line) > limit:
            break
    left = len(lines) - len(out)
    if left > 0:
        out.append(f"{more} ({left:,} more lines)")
    return "\n".join(out)


def _cells(ch: str) -> int:
    """Columns a character takes on a terminal: 0 for a combining mark, 2 for a wide one."""
    import unicodedata  # only caret pictures need it: no start-up cost for every run

    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def caret_picture(line: str, column: int, window: int = CARET_WINDOW) -> str:
    """``line`` (escaped, and cut to ``window`` characters around ``column``) with a caret under it.

    The caret stays under the character it points at: the padding takes the
    width of each escaped character before it (a tab stays a tab, as in the
    line above it), and ``...`` marks a cut on either side.
    """
    at = min(max(column, 1) - 1, len(line))
    start = 0
    if len(line) > window:
        start = max(0, min(at - window // 2, len(line) - window))
    shown = printable(line[start : start + window])
    before = printable(line[start:at])
    left = "..." if start > 0 else ""
    right = "..." if start + window < len(line) else ""
    pad = " " * len(left) + "".join("\t" if ch == "\t" else " " * _cells(ch) for ch in before)
    return f"  {left}{shown}{right}\n  {pad}^"
