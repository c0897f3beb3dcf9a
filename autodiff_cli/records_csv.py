"""CSV records: the batch and sweep layouts, every cell safe to open in a spreadsheet.

Every function returns whole lines ending in a newline, so whatever writes them
can stop between two answers and leave only whole lines behind.

Layouts (one header, then one row per answer):

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
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .records import SweepRows, dumps

if TYPE_CHECKING:
    from .errors import AutodiffError
    from .program import Result

__all__ = ["BATCH_CSV_FIELDS", "SweepCsv", "batch_csv_header", "batch_csv_line", "csv_line", "defused", "id_cell"]

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


# --- batch -------------------------------------------------------------------------------


def batch_csv_header(name_files: bool = False) -> str:
    """The header row of a batch's CSV, with ``file`` first when several inputs are read."""
    return csv_line((("file",) if name_files else ()) + BATCH_CSV_FIELDS)


def id_cell(record: Mapping[str, Any]) -> str:
    """A job's id as one cell: text as it is, any other JSON value as JSON, "" when there is none."""
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
        id_cell(record),
        record.get("expr", ""),
        record.get("value", ""),
        "" if gradients is None else dumps(gradients),
        error.get("kind", ""),
        error.get("message", ""),
    ]
    if name_files:
        fields.insert(0, record.get("file", ""))
    return csv_line(fields)


# --- sweeps ------------------------------------------------------------------------------


def _cell(x: object) -> str:
    return repr(x) if isinstance(x, float) else str(x)


class SweepCsv(SweepRows):
    """CSV: inputs, value, one d/dNAME per input, error_kind, error_message."""

    echoes_text = True

    def header(self) -> str:
        gradients = [f"d/d{n}" for n in self.names]
        # Names are identifiers: no comma, quote or newline to escape.
        return ",".join([*self.names, "value", *gradients, "error_kind", "error_message"]) + "\n"

    def _cells(self, column: list[float]) -> Iterable[str]:
        return map(repr, column)

    def _lines(self, first: int, n: int, columns: list[Any]) -> str:
        # Cells that float() read have no comma, quote or newline: joining is what csv would write.
        return ",,\n".join(map(",".join, zip(*columns, strict=True))) + ",,\n"

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        inputs = [_cell(echo.get(n, "")) for n in self.names]
        grads = [_cell(result.gradients.get(n, "")) for n in self.names]
        return csv_line([*inputs, _cell(result.value), *grads, "", ""])

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        inputs = [_cell(echo.get(n, "")) for n in self.names]
        return csv_line([*inputs, *([""] * (len(self.names) + 1)), error.kind, error.message])
