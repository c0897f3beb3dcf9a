"""Answers of batches and sweeps as text: JSON lines, CSV, and the batch table for people.

Every function returns whole lines ending in a newline, so whatever writes them
can stop between two answers and leave only whole lines behind.

CSV layouts (one header, then one row per answer):

* batch: ``line,id,expr,value,gradients,error_kind,error_message`` (``file``
  first when several inputs are read). Jobs may have different inputs, and a
  streaming CSV must write its header before it has read the second job, so
  the gradients of a job are one column holding a JSON object,
  ``{"a": 3.0, "b": 2.0}``: one header for any input, no column that is empty
  for most rows, and exact numbers.
* sweep: one column per input, ``value``, one ``d/dNAME`` column per input,
  then ``error_kind,error_message``. ``d/dNAME`` cannot clash with an input,
  since a name has no ``/``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..errors import AutodiffError
from ..numbers import format_number, table_digits
from ..program import Result
from ..text import clip
from .machine import dumps, finite_or_text

__all__ = [
    "BATCH_CSV_FIELDS",
    "BatchTable",
    "SweepFormat",
    "batch_csv_header",
    "batch_csv_line",
    "csv_line",
    "jsonl_line",
    "sweep_format",
]

BATCH_CSV_FIELDS = ("line", "id", "expr", "value", "gradients", "error_kind", "error_message")


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def defused(cell: object) -> object:
    """A text cell a spreadsheet cannot run: ``'`` in front if it could start a formula.

    Numbers stay as written (whatever ``float`` reads holds no reference or
    function), so ``-0.5`` is still a number; a program ``-a^2`` becomes
    ``'-a^2``. A cell that already starts with ``'`` gets one more, so the rule
    reverses exactly: drop the first character of every cell that starts with ``'``.
    """
    if not isinstance(cell, str) or not cell.startswith(_FORMULA_STARTS):
        return cell
    try:
        float(cell)
    except ValueError:
        return "'" + cell
    return cell


def csv_line(fields: Iterable[object]) -> str:
    """One CSV row, quoted where needed, ending in a newline; every cell defused (``defused``)."""
    buffer = io.StringIO()
    # With "\r\n" as terminator csv quotes a cell holding a lone \r too (with "\n" it does not,
    # and the row would break in two); the row itself still ends in "\n", like every other.
    csv.writer(buffer, lineterminator="\r\n").writerow(map(defused, fields))
    return buffer.getvalue()[:-2] + "\n"


def jsonl_line(record: Mapping[str, Any]) -> str:
    """One answer as a line of RFC 8259 JSON."""
    return dumps(dict(record)) + "\n"


# --- batch ---------------------------------------------------------------------------


def batch_csv_header(name_files: bool = False) -> str:
    return csv_line((("file",) if name_files else ()) + BATCH_CSV_FIELDS)


def _id_cell(record: Mapping[str, Any]) -> str:
    if "id" not in record:
        return ""
    job_id = record["id"]
    return job_id if isinstance(job_id, str) else dumps(job_id)


def batch_csv_line(record: Mapping[str, Any], name_files: bool = False) -> str:
    """One job as a CSV row under ``batch_csv_header``."""
    error = record.get("error") or {}
    gradients = record.get("gradients")
    fields = [
        record["line"],
        _id_cell(record),
        record.get("expr", ""),
        record.get("value", ""),
        "" if gradients is None else dumps(gradients),
        error.get("kind", ""),
        error.get("message", ""),
    ]
    if name_files:
        fields.insert(0, record.get("file", ""))
    return csv_line(fields)


MAX_ECHO = 300
"""Characters of a job's program, id, file name or message the batch table shows at most."""
MAX_GRADIENTS = 30
"""Gradients per job in the batch table; jsonl and csv have them all."""


class BatchTable:
    """The people display of a batch: a header, then one row per job as each job finishes.

    A rich Table measures all its rows before drawing any; here every column
    has a width fixed by the console's, so each job's row can be drawn alone,
    at once, and still line up with the rest.
    """

    def __init__(self, name_files: bool = False, digits: int | None = None) -> None:
        self.name_files = name_files
        self.digits = table_digits(digits)  # like every table: TABLE_DIGITS unless --digits

    def _number(self, x: float | str) -> str:
        """A record's number ("inf" and "nan" arrive as text) as the table shows it."""
        return x if isinstance(x, str) else format_number(x, self.digits)

    def _table(self, show_header: bool) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=show_header, header_style="bold", expand=True, pad_edge=False)
        table.add_column("line", justify="right", width=16 if self.name_files else 6, overflow="fold")
        table.add_column("program", ratio=2, overflow="fold")
        table.add_column("value and gradient", ratio=3, overflow="fold")
        return table

    def header(self) -> Any:
        return self._table(True)

    def row(self, record: Mapping[str, Any]) -> Any:
        """One job's row; what the job file said is escaped and cut short (``text.clip``), never markup."""
        from rich.text import Text

        where = str(record["line"])
        if self.name_files:
            where = f"{clip(str(record.get('file', '')), MAX_ECHO)}:{where}"
        program = Text()
        if "id" in record:
            program.append(clip(_id_cell(record), MAX_ECHO), style="cyan")
            program.append(" ")
        program.append(clip(record.get("expr", ""), MAX_ECHO))
        answer = Text()
        error = record.get("error")
        if error is not None:
            at = f" (line {error['line']}, column {error['column']})" if "line" in error else ""
            answer.append(f"{error['kind']} error", style="bold red")
            answer.append(f": {clip(error['message'], MAX_ECHO)}{at}")
        else:
            answer.append(self._number(record["value"]), style="bold")
            gradients = list(record["gradients"].items())
            for name, g in gradients[:MAX_GRADIENTS]:
                answer.append(f"\n  d/d{name}  ")
                answer.append(self._number(g))
            if len(gradients) > MAX_GRADIENTS:
                answer.append(f"\n  … {len(gradients) - MAX_GRADIENTS:,} more (--format jsonl has them all)")
        table = self._table(False)
        table.add_row(Text(where), program, answer)
        return table


# --- sweeps --------------------------------------------------------------------------


class SweepFormat(Protocol):
    """How a sweep writes its rows: a header, whole blocks, or single rows."""

    def header(self) -> str: ...

    def block(
        self,
        first: int,
        given: Sequence[list[float]],
        shown: Sequence[list[str] | None],
        values: list[float],
        gradients: Sequence[list[float]],
    ) -> str: ...

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str: ...

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str: ...


def _cell(x: object) -> str:
    return repr(x) if isinstance(x, float) else str(x)


class SweepCsv:
    """CSV: inputs, value, one d/dNAME per input, error_kind, error_message."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)

    def header(self) -> str:
        gradients = [f"d/d{n}" for n in self.names]
        # Names are identifiers: no comma, quote or newline to escape.
        return ",".join([*self.names, "value", *gradients, "error_kind", "error_message"]) + "\n"

    def block(
        self,
        first: int,
        given: Sequence[list[float]],
        shown: Sequence[list[str] | None],
        values: list[float],
        gradients: Sequence[list[float]],
    ) -> str:
        # Cells that float() read have no comma, quote or newline: joining is what csv would write.
        columns: list[Iterable[str]] = [map(repr, g) if s is None else s for g, s in zip(given, shown, strict=True)]
        columns.append(map(repr, values))
        columns.extend(map(repr, g) for g in gradients)
        return ",,\n".join(map(",".join, zip(*columns, strict=True))) + ",,\n"

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        inputs = [_cell(echo.get(n, "")) for n in self.names]
        grads = [_cell(result.gradients.get(n, "")) for n in self.names]
        return csv_line([*inputs, _cell(result.value), *grads, "", ""])

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        inputs = [_cell(echo.get(n, "")) for n in self.names]
        return csv_line([*inputs, *([""] * (len(self.names) + 1)), error.kind, error.message])


class SweepJsonl:
    """JSON lines: {"row", "inputs", "value", "gradients"} or {"row", "inputs", "error"}."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        members = ", ".join(f"{json.dumps(n, ensure_ascii=False).replace('%', '%%')}: %r" for n in self.names)
        # json.dumps writes a float as repr() does, so this is dumps() without the per-row dict.
        self.template = '{"row": %d, "inputs": {' + members + '}, "value": %r, "gradients": {' + members + "}}\n"

    def header(self) -> str:
        return ""

    def block(
        self,
        first: int,
        given: Sequence[list[float]],
        shown: Sequence[list[str] | None],
        values: list[float],
        gradients: Sequence[list[float]],
    ) -> str:
        rows = zip(range(first, first + len(values)), *given, values, *gradients, strict=True)
        return "".join(map(self.template.__mod__, rows))

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        inputs = {n: bindings[n] for n in self.names if n in bindings}
        gradients = {k: finite_or_text(v) for k, v in result.gradients.items()}
        return jsonl_line({"row": row, "inputs": inputs, "value": finite_or_text(result.value), "gradients": gradients})

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        inputs = {n: echo[n] for n in self.names if n in echo}
        return jsonl_line({"row": row, "inputs": inputs, "error": error.to_dict()})


def sweep_format(fmt: str, names: Sequence[str]) -> SweepFormat:
    """The writer for ``fmt`` ("csv" or "jsonl") with a column per name."""
    return SweepJsonl(names) if fmt == "jsonl" else SweepCsv(names)
