"""Every number a person sees, written one way.

The result line, explain's steps, the DAG's boxes and the check, Hessian and
batch tables all call ``format_number``, so that one screen never shows the
same number as ``20`` in one place and ``20.0`` in another. Machines get
``repr`` (records.py); people get this.

``digits=None`` is the shortest text that reads back as the float, as the
JSON shows it (0.9999983369439447 stays that, not ``1.000``, which a student
reads as exactly 1). Tables pass ``TABLE_DIGITS`` unless ``--digits`` says otherwise.
"""

from __future__ import annotations

import math

__all__ = ["TABLE_DIGITS", "format_number", "table_digits"]

TABLE_DIGITS = 4
"""Significant digits of a table cell when ``--digits`` is not given: columns stay narrow."""


def table_digits(digits: int | None) -> int:
    """The digits a table shows: ``digits`` when given (``--digits``), else TABLE_DIGITS."""
    return TABLE_DIGITS if digits is None else digits


def format_number(x: float, digits: int | None = None) -> str:
    """``x`` as a person reads it: 2 not 2.0, 1e20 not 1e+20, -0.0 as -0 (the sign the JSON shows).

    With ``digits``, at most that many significant digits: a number that
    rounding moved keeps its trailing zeros (0.9999983 shows as 1.000, so that
    tanh(7) does not pass for exactly 1); float noise (0.1 + 0.2) does not
    count as moved. Without, the shortest text that reads back as ``x``.
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = repr(x)  # the shortest text that reads back as x: use it if it is short enough
    mantissa = text.partition("e")[0]
    if digits is not None and len(mantissa.replace("-", "").replace(".", "").strip("0")) > max(1, digits):
        digits = max(1, digits)
        text = format(x, f".{digits}g")
        if abs(float(text) - x) > 1e-12 * abs(x):
            text = format(x, f"#.{digits}g")
    elif text.endswith(".0"):
        text = text[:-2]
    mantissa, e, exponent = text.partition("e")
    mantissa = mantissa.rstrip(".")
    if not e:
        return mantissa
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
