"""The batch table for people: a header, then one row per job as each job finishes.

The jsonl and csv lines of a batch are records.py's and records_csv.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..numbers import format_number, table_digits
from ..records_csv import id_cell
from ..text import clip

__all__ = ["BatchTable"]

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
            program.append(clip(id_cell(record), MAX_ECHO), style="cyan")
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
