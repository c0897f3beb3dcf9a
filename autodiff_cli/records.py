"""The machine contract: every JSON record the commands print, and the one encoder.

``eval --json``, ``explain --json``, ``diff --json``, batch and sweep lines
are built here and written by ``dumps``, so a float is always the shortest
text that reads back exactly, and a number that is not finite is always the
text "inf", "-inf" or "nan" (RFC 8259 has no NaN). People's text is render's;
CSV cells are records_csv.py's. Neither rich nor anything above program is
imported: batch, sweep and workers use this without loading a display.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import AutodiffError

if TYPE_CHECKING:
    from .check import CheckReport
    from .derivatives import Derivatives
    from .explain import BackwardStep, Explanation, ForwardStep
    from .program import Result

__all__ = [
    "SweepFormat",
    "SweepJsonl",
    "check_record",
    "derivatives_record",
    "dumps",
    "error_record",
    "explanation_record",
    "file_label",
    "finite_or_text",
    "hessian_record",
    "jsonl_line",
    "result_record",
    "sweep_format",
    "with_file",
]


# --- the encoder ------------------------------------------------------------------------


def finite_or_text(x: float) -> float | str:
    """A float for JSON: itself if finite, else "inf", "-inf" or "nan" (RFC 8259 has no NaN)."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


# Characters that some line readers (Python's str.splitlines, JavaScript) take
# for line ends: escaped, so that one record is always one line for every reader.
_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


# One encoder for every record (json.dumps with options builds one per call). Records are
# trees built here from numbers, names and JSON read back: none can hold itself.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False)
_ENCODE = _ENCODER.encode
_C_MAKE = getattr(json.encoder, "c_make_encoder", None)
# What that encoder's encode() makes anew on every call, made once (CPython's C encoder, the same
# options): a tenth of the time of a batch job's record. Without the C module, encode() as it is.
_C_ENCODE = (
    None
    if _C_MAKE is None
    else _C_MAKE(None, _ENCODER.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, False)
)


def dumps(record: dict[str, Any]) -> str:
    """One line of RFC 8259 JSON; floats print as the shortest text that reads back exactly."""
    text = _ENCODE(record) if _C_ENCODE is None else "".join(_C_ENCODE(record, 0))
    return text if text.isascii() else text.translate(_LINE_BREAKERS)  # isascii() reads a flag; translate walks the text


def jsonl_line(record: Mapping[str, Any]) -> str:
    """One answer as a line of RFC 8259 JSON, ending in a newline."""
    return dumps(dict(record)) + "\n"


# --- eval, batch -------------------------------------------------------------------------


# A file name's lone surrogates: os.fsdecode's stand-ins for bytes that are not UTF-8 (U+DC80-U+DCFF), or a Windows
# name's unpaired UTF-16 halves. Written to a UTF-8 stream they raised, or came out as the raw bytes in the JSON.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def file_label(name: str) -> str:
    """A FILE's name as records carry it: valid Unicode, each byte that is not UTF-8 written ``\\xHH``.

    That is the name as ``os.fsdecode`` gives it, with its stand-ins for such
    bytes written as Python's ``backslashreplace`` writes them (``\\xff.txt``
    for the one-byte name 0xFF ".txt"); any other lone surrogate as ``\\uXXXX``.
    """
    return name if name.isascii() else _SURROGATE.sub(_escape_surrogate, name)


def with_file(name: str, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``records`` each led by ``"file"``: the one place a record names its input (batch, serial or on Dask)."""
    label = file_label(name)
    for record in records:
        yield {"file": label, **record}


def _answer(value: float, gradients: Mapping[str, float]) -> dict[str, Any]:
    """ "value" and "gradients", as every record that answers shows them."""
    return {"value": finite_or_text(value), "gradients": {k: finite_or_text(v) for k, v in gradients.items()}}


def result_record(expr: str, result: Result) -> dict[str, Any]:
    """The members of a successful job: expr, value, gradients (inputs in order of first use)."""
    return {"expr": expr, **_answer(result.value, result.gradients)}


def error_record(error: AutodiffError) -> dict[str, Any]:
    """The ``error`` member of a failed job."""
    return error.to_dict()


def hessian_record(hessian: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """The ``hessian`` member of ``eval --json``: {"a": {"a": ..., "b": ...}, ...}."""
    return {name: {other: finite_or_text(x) for other, x in row.items()} for name, row in hessian.items()}


def _number(x: float | None) -> float | str | None:
    return None if x is None else finite_or_text(x)


def check_record(report: CheckReport) -> dict[str, Any]:
    """The ``check`` member of ``eval --check --json``.

    ``finite_differences`` has one member per input, like ``gradients``
    (null where no step kept the program evaluable); ``details`` says how each
    was obtained and why an input was not compared.
    """
    return {
        "finite_differences": {k: _number(v) for k, v in report.finite_differences.items()},
        "max_rel_error": finite_or_text(report.max_rel_error),
        "tolerance": report.tolerance,
        "ok": report.ok,
        "details": {
            c.name: {
                "status": c.status,
                "method": c.method,
                "rel_error": _number(c.rel_error),
                "resolution": finite_or_text(c.resolution),
                "left": _number(c.left),
                "right": _number(c.right),
                "note": c.note,
            }
            for c in report.inputs
        },
    }


# --- explain, diff -----------------------------------------------------------------------


def explanation_record(e: Explanation) -> dict[str, Any]:
    """expr, value, gradients (as ``eval --json``), one object per forward and backward step, the result's id.

    Every step carries its ``step`` number, counted from 1 through the forward
    steps and on through the backward ones: the number the --graph html page
    shows and its ``#step=N`` opens, so a person and a script name a step alike.
    """
    forward = len(e.forward)
    return {
        "expr": e.expr,
        **_answer(e.value, e.gradients),
        "forward": [_forward_record(i, s) for i, s in enumerate(e.forward, 1)],
        "backward": [_backward_record(i, s) for i, s in enumerate(e.backward, forward + 1)],
        "result": e.result,
    }


def _forward_record(number: int, s: ForwardStep) -> dict[str, Any]:
    return {
        "step": number,
        "id": s.id,
        "label": s.label,
        "kind": s.kind,
        "op": s.op or None,
        "args": list(s.args),
        "expr": s.expr or s.label,
        "value": finite_or_text(s.value),
        "names": list(s.names),
    }


def _backward_record(number: int, s: BackwardStep) -> dict[str, Any]:
    record: dict[str, Any] = {"step": number, "id": s.id, "expr": s.expr, "grad": finite_or_text(s.grad), "result": s.is_result}
    if s.skipped:
        record["skipped"] = s.skipped
    record["children"] = [
        {
            "id": c.child,
            "position": c.position,
            "formula": c.formula,
            "formula_here": c.formula_here,
            "local": finite_or_text(c.local),
            "contribution": finite_or_text(c.contribution),
            "grad_before": finite_or_text(c.grad_before),
            "grad_after": finite_or_text(c.grad_after),
            "accumulates": c.accumulates,
        }
        for c in s.contributions
    ]
    return record


def derivatives_record(d: Derivatives) -> dict[str, Any]:
    """{"expr", "order", "derivatives"}: each derivative one line, statements separated by '; '."""
    if d.second is None:
        found: dict[str, Any] = {name: p.text("; ") for name, p in d.first.items()}
    else:
        found = {name: {other: p.text("; ") for other, p in row.items()} for name, row in d.second.items()}
    return {"expr": d.source, "order": 1 if d.second is None else 2, "derivatives": found}


# --- sweeps ------------------------------------------------------------------------------


class Done:
    """A block of sweep rows that all succeeded, column by column, as a format writes it.

    Plain classes, and the Protocol only for type checkers: every ``eval --json``
    imports this module, and a class made by typing costs start-up time.
    """

    __slots__ = ("first", "given", "gradients", "shown", "values")

    def __init__(
        self,
        first: int,  # the number of its first row
        given: Sequence[list[float]],  # each input's column
        shown: Sequence[list[str] | None],  # each input's cells as written (CSV), or None
        values: list[float],
        gradients: Sequence[list[float]],  # one column per input, in order
    ) -> None:
        self.first, self.given, self.shown, self.values, self.gradients = first, given, shown, values, gradients


if TYPE_CHECKING:

    class SweepFormat(Protocol):
        """How a sweep writes its rows: a header, whole blocks, or single rows."""

        def header(self) -> str: ...

        def block(self, done: Done) -> str: ...

        def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str: ...

        def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str: ...


class SweepRows:
    """What CSV and JSON lines share: a column per name, and whole blocks as columns of text.

    A block is rows that all succeeded, computed column by column; each
    format only joins its cells (``_lines``), so neither walks the rows twice.
    """

    echoes_text = False
    """Whether an input cell is the text the row gave (CSV) rather than the float it read (JSON)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)

    def block(self, done: Done) -> str:
        """Rows ``first`` ... of a block: the columns in order, then each format joins them."""
        inputs = [
            s if s is not None and self.echoes_text else self._cells(g) for g, s in zip(done.given, done.shown, strict=True)
        ]
        columns = [*inputs, self._cells(done.values), *map(self._cells, done.gradients)]
        return self._lines(done.first, len(done.values), columns)

    def _cells(self, column: list[float]) -> Iterable[Any]:
        """A column of numbers as the format takes it (the JSON template formats floats itself)."""
        return column

    def _lines(self, first: int, n: int, columns: list[Any]) -> str:
        raise NotImplementedError


class SweepJsonl(SweepRows):
    """JSON lines: {"row", "inputs", "value", "gradients"} or {"row", "inputs", "error"}."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(names)
        members = ", ".join(f"{json.dumps(n, ensure_ascii=False).replace('%', '%%')}: %r" for n in self.names)
        # json.dumps writes a float as repr() does, so this is dumps() without the per-row dict.
        self.template = '{"row": %d, "inputs": {' + members + '}, "value": %r, "gradients": {' + members + "}}\n"

    def header(self) -> str:
        return ""

    def _lines(self, first: int, n: int, columns: list[Any]) -> str:
        return "".join(map(self.template.__mod__, zip(range(first, first + n), *columns, strict=True)))

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        inputs = {n: bindings[n] for n in self.names if n in bindings}
        return jsonl_line({"row": row, "inputs": inputs, **_answer(result.value, result.gradients)})

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        inputs = {n: echo[n] for n in self.names if n in echo}
        return jsonl_line({"row": row, "inputs": inputs, "error": error.to_dict()})


def sweep_format(fmt: str, names: Sequence[str]) -> SweepFormat:
    """The writer for ``fmt`` ("csv" or "jsonl") with a column per name."""
    if fmt == "jsonl":
        return SweepJsonl(names)
    from .records_csv import SweepCsv  # records_csv builds on this module

    return SweepCsv(names)
