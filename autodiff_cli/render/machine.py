"""The machine formats the CLI contract promises: JSON objects with exact floats."""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import AutodiffError
from ..program import Result


def finite_or_text(x: float) -> float | str:
    """A float for JSON: itself if finite, else "inf", "-inf" or "nan" (RFC 8259 has no NaN)."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def result_record(expr: str, result: Result) -> dict[str, Any]:
    """The members of a successful job: expr, value, gradients (inputs in order of first use)."""
    return {
        "expr": expr,
        "value": finite_or_text(result.value),
        "gradients": {k: finite_or_text(v) for k, v in result.gradients.items()},
    }


def error_record(error: AutodiffError) -> dict[str, Any]:
    """The ``error`` member of a failed job."""
    return error.to_dict()


# Characters that some line readers (Python's str.splitlines, JavaScript) take
# for line ends: escaped, so that one record is always one line for every reader.
_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(record: dict[str, Any]) -> str:
    """One line of RFC 8259 JSON; floats print as the shortest text that reads back exactly."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False).translate(_LINE_BREAKERS)
