"""What standard output can take: text fitted to its encoding before it is held or written.

An ASCII standard output (PYTHONIOENCODING=ascii, LC_ALL=C) made the first
name past ASCII fail a write, and with it every answer held for that block.
JSON stays JSON in pure ASCII; everything else shows '?' where the encoding
has no character, as the display does on such a terminal
(``render.display.Terminal.encodable``).
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from typing import Any

__all__ = ["ascii_json", "fitting", "replaced"]

# Codecs that take any text: on any other standard output, text is made to fit before it is held or written.
_ANY_TEXT = {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "gb18030"}
_ESCAPED = re.compile(r"[^\x00-\x7e]")  # json escapes DEL too


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


def ascii_json(text: str) -> str:
    """JSON text with every character past ASCII (and DEL) escaped: exactly what ``json.dumps(ensure_ascii=True)`` writes.

    Outside strings JSON is ASCII already, so escaping afterwards is the same
    as escaping while encoding, and the hot path (UTF-8) never pays for it.
    """
    return text if text.isascii() and "\x7f" not in text else _ESCAPED.sub(_json_escape, text)


def replaced(text: str, encoding: str) -> str:
    """``text`` with each character ``encoding`` cannot take (a lone surrogate too) shown as '?'."""
    return text if text.isascii() else text.encode(encoding, "replace").decode(encoding)


def fitting(stream: Any, json: bool) -> Callable[[str], str] | None:
    """How text is made to fit ``stream``'s encoding, or None if it takes any text.

    JSON stays JSON (``ascii_json``); anything else shows what the encoding
    cannot take as '?', as the display does on such a terminal
    (``render.display.Terminal.encodable``). So an ASCII standard output
    (PYTHONIOENCODING=ascii, LC_ALL=C) never fails a write half way through.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name, encoding = "ascii", "ascii"
    if name in _ANY_TEXT:
        return None
    if json:
        return ascii_json
    return functools.partial(replaced, encoding=encoding)
