"""The sweep table for people: the swept inputs, then value and derivatives, one row a point, as rows finish.

On a terminal, or with ``--format text``, a sweep is this table; CSV and JSON
lines are the machine formats (records_csv.py, records.py). Sweeps run to a
million rows, so it is plain text made with str methods, not a rich Table
(which measures every row before drawing any): the header is written once,
with the first answers, whose cells set each column's width; a later, wider
cell widens its column from then on. A table wider than the terminal is
folded: each row goes on as indented lines, in the same columns on every row.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..numbers import format_number, table_digits
from ..text import clip, printable
from .layout import cell_width

if TYPE_CHECKING:
    from ..errors import AutodiffError
    from ..program import Result
    from ..records import Done
    from ..sweep_rows import Block

__all__ = ["SweepTable"]

GAP = "  "
INDENT = "  "
"""Where a folded row's further lines start."""
MAX_KEPT = 20
"""Characters of a --keep cell the table shows (-f csv has them whole)."""


class SweepTable:
    """A sweep's rows as a table: a SweepFormat (``header``, ``block``, ``success``, ``failure``) of text lines.

    ``start`` hands it each block before its answers, for the row numbers and
    the --keep cells; ``numbered`` adds a ``row`` column (rows of a file, to
    find a failed one). The ``fixed`` inputs (NAME=VALUE on the command line)
    get no column of their own, only their derivative's.
    """

    def __init__(
        self,
        names: Sequence[str],
        keep: Sequence[str] = (),
        numbered: bool = False,
        fixed: Collection[str] = (),
        digits: int | None = None,
        width: int = 80,
        ascii: bool = False,
        color: bool = False,
    ) -> None:
        self.names = list(names)
        self.digits = table_digits(digits)
        self.width, self.ascii, self.color = width, ascii, color
        self.numbered = numbered
        self.n_kept = len(keep)
        titles = [*(["row"] if numbered else []), *(self._clip(k) for k in keep)]
        self.shown = [n for n in self.names if n not in fixed]  # what is the same on every row has no column
        self.titles = [*titles, *self.shown, "value", *(f"d/d{n}" for n in self.names)]
        # Aligned left: the first column (so that a row starts at the margin and a folded row's further,
        # indented lines cannot be taken for rows) and the kept columns, which are text; numbers to the right.
        self.left = {0, *range(numbered, len(titles))}
        self.widths: list[int] = []
        self._measured: list[int] = []  # the widths the first block's inputs need, before the header
        self.lines: list[list[int]] = []  # the columns on each line of a row: one line unless folded
        self.first = 1
        self.kept: Sequence[Sequence[str]] = ()

    @property
    def _more(self) -> str:
        return "..." if self.ascii else "…"

    def header(self) -> str:
        return ""  # written with the first answers, whose widths it needs

    def start(self, block: Block) -> None:
        """The block whose answers come next: its first row's number and its --keep cells.

        Before the header, the block's inputs are measured too: its rows may be
        answered one by one, and the header's widths should fit them all.
        """
        self.first, self.kept = block.first, block.kept or ()
        if self.widths:
            return
        columns = self._lead(block.first, block.n)
        for name in self.shown:
            if block.columns is not None and name in block.columns:
                columns.append([format_number(x) for x in block.columns[name]])
            else:
                columns.append([self._echo(echo[name]) for echo, _ in block.rows or () if name in echo])
        self._measured = [max(map(_width, cells), default=0) for cells in columns]

    def block(self, done: Done) -> str:
        """A block of rows that all succeeded, column by column."""
        n = len(done.values)
        number = self._number
        given = [c for name, c in zip(self.names, done.given, strict=True) if name in self.shown]
        columns = [*self._lead(done.first, n), *([format_number(x) for x in c] for c in given)]
        columns += [[number(x) for x in done.values], *([number(x) for x in g] for g in done.gradients)]
        head = self._begin(columns)
        return head + "".join(self._line(cells) for cells in zip(*columns, strict=True))

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        number = self._number
        inputs = [format_number(bindings[n]) if n in bindings else "" for n in self.shown]
        answer = [number(result.value), *(number(result.gradients[n]) if n in result.gradients else "" for n in self.names)]
        cells = [*(c[0] for c in self._lead(row, 1)), *inputs, *answer]
        return self._begin([[c] for c in cells], one=True) + self._line(cells)

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        """The row's inputs as far as they were read, then the error where the value would be."""
        inputs = [self._echo(echo[n]) if n in echo else "" for n in self.shown]
        cells = [*(c[0] for c in self._lead(row, 1)), *inputs, "", *([""] * len(self.names))]
        head = self._begin([[c] for c in cells[: -len(self.names) - 1]], one=True)
        return head + self._failed(cells, f"{error.kind} error", clip(error.message, 2000, self._more))

    # --- cells ------------------------------------------------------------------------

    def _number(self, x: float) -> str:
        return format_number(x, self.digits)

    def _echo(self, cell: object) -> str:
        """An input as the row gave it: every digit of a number (it names the row), or the text of a cell
        that is not one (escaped, cut short)."""
        return format_number(cell) if isinstance(cell, float) else self._clip(str(cell))

    def _clip(self, text: str) -> str:
        """A text cell, escaped (``text.printable``) and cut to MAX_KEPT characters."""
        if len(text) <= MAX_KEPT:
            return printable(text)
        return printable(text[: MAX_KEPT - len(self._more)]) + self._more

    def _lead(self, first: int, n: int) -> list[list[str]]:
        """The row numbers and --keep cells of ``n`` rows from row ``first``."""
        columns: list[list[str]] = [[str(r) for r in range(first, first + n)]] if self.numbered else []
        at = first - self.first
        for k in range(self.n_kept):
            cells = [row[k] for row in self.kept[at : at + n]] if self.kept else []
            columns.append([self._clip(c) for c in cells] or [""] * n)
        return columns

    # --- lines ------------------------------------------------------------------------

    def _begin(self, columns: Sequence[Sequence[str]], one: bool = False) -> str:
        """Widen the columns to fit ``columns`` (the first of them); the header, the first time.

        With ``one``, the answers' columns start as wide as a number of the
        table's digits usually is: one row is a poor guess for the rest.
        """
        if not self.widths:
            answers = len(self.names) + 1
            floor = [0] * (len(self.titles) - answers) + [self.digits + 4 if one else 0] * answers
            measured = itertools.zip_longest(self._measured, floor, fillvalue=0)
            widths = [max(_width(t), w, f) for t, (w, f) in zip(self.titles, measured, strict=False)]
        else:
            widths = self.widths
        for k, cells in enumerate(columns):
            widths[k] = max(widths[k], max(map(_width, cells), default=0))
        if self.widths:
            return ""
        self.widths = widths
        self.lines = self._fold(widths)
        rule = "-" if self.ascii else "─"
        titles = self._join(self.titles)
        ruled = rule * min(self.width, max(map(len, titles.split("\n"))))
        return self._style(titles.rstrip("\n"), "bold") + "\n" + ruled + "\n"

    def _fold(self, widths: Sequence[int]) -> list[list[int]]:
        """The columns on each line of a row: all on one if they fit, else the point and its value, then
        the derivatives on lines of their own, indented, each line as many columns as fit the width."""
        derivatives = len(widths) - len(self.names)
        lines: list[list[int]] = [[]]
        used = 0
        folded = sum(widths) + len(GAP) * (len(widths) - 1) > self.width
        for k, w in enumerate(widths):
            need = w if not lines[-1] else used + len(GAP) + w
            indent = len(INDENT) if len(lines) > 1 else 0
            if lines[-1] and (indent + need > self.width or (folded and k == derivatives)):
                lines.append([k])
                used = w
            else:
                lines[-1].append(k)
                used = need
        return lines

    def _cell(self, k: int, text: str) -> str:
        width = self.widths[k]
        shown = _width(text)
        if shown > width:
            self.widths[k] = width = shown  # wider from now on: later rows line up with this one
        pad = " " * (width - shown)
        return text + pad if k in self.left else pad + text

    def _join(self, cells: Sequence[str]) -> str:
        out = []
        for i, line in enumerate(self.lines):
            text = (INDENT if i else "") + GAP.join(self._cell(k, cells[k]) for k in line)
            out.append(text.rstrip() + "\n")
        return "".join(out)

    def _line(self, cells: Sequence[str]) -> str:
        return self._join(cells)

    def _failed(self, cells: Sequence[str], kind: str, message: str) -> str:
        """The inputs in their columns, then ``kind: message`` from the value column on, wrapped to the width."""
        value = len(cells) - len(self.names) - 1  # the value column's index
        out: list[str] = []
        for i, line in enumerate(self.lines):
            shown = [k for k in line if k < value]
            text = (INDENT if i else "") + GAP.join(self._cell(k, cells[k]) for k in shown)
            if value in line:
                start = len(text) + (len(GAP) if shown else 0)
                return "".join(out) + self._message(text, start, kind, message)
            out.append(text.rstrip() + "\n")
        raise AssertionError("the value column is on a line")

    def _message(self, text: str, start: int, kind: str, message: str) -> str:
        if start > self.width // 2:  # too little room: on lines of its own
            out, text, start = text.rstrip() + "\n", INDENT, len(INDENT)
        else:
            out = ""
        room = max(20, self.width - start)
        wrapped = textwrap.wrap(f"{kind}: {message}", room, break_long_words=True, break_on_hyphens=False) or [kind]
        first = wrapped[0]
        styled = self._style(kind, "bold red") + first[len(kind) :] if first.startswith(kind) else first
        lines = [text.ljust(start) + styled, *(" " * start + w for w in wrapped[1:])]
        return out + "".join(line.rstrip() + "\n" for line in lines)

    def _style(self, text: str, style: str) -> str:
        """``text`` in ``style`` when colour is wanted (the header, an error's kind)."""
        if not self.color:
            return text
        from rich.color import ColorSystem
        from rich.style import Style

        return "\n".join(Style.parse(style).render(line, color_system=ColorSystem.STANDARD) for line in text.split("\n"))


def _width(text: str) -> int:
    """Terminal columns of a cell: its length, unless it has letters that take two columns or none."""
    return len(text) if text.isascii() else cell_width(text)
