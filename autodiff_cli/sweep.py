"""Sweeps: one program, parsed once, evaluated at every row of a table of bindings.

Rows come from a CSV file whose header names the inputs, from JSON lines of
objects, or from ``NAME=START:STOP:STEP`` ranges (their cartesian product).
Nothing here prints: ``Sweep.run`` yields the output text a block of rows at a
time, as the rows arrive, so a sweep streams and its memory stays flat.

Speed comes from ``columns.ColumnProgram``, which runs a whole block of rows
through the graph at once; any block it declines (a bad cell, a domain error)
is run row by row with ``Program.run``, which decides every error.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from .batch import Report
from .bindings import CheckedBindings, check_name
from .columns import ColumnProgram
from .errors import INPUT, LIMIT, NAME, AutodiffError
from .job_lines import json_bindings, load_json
from .lines import OVERLONG, overlong_row, text_blocks
from .ops import CONSTANTS
from .program import Program, Result
from .ranges import MAX_SWEEP_ROWS, Axis, parse_axis, split_arguments
from .records import Done, jsonl_line, sweep_format
from .records_csv import csv_line
from .sweep_rows import Block, Row, csv_groups, csv_row, fast_csv, is_utf8, kept_cells, rows_of

if TYPE_CHECKING:
    from .records import SweepFormat

__all__ = ["MAX_SWEEP_ROWS", "Axis", "Block", "Row", "Sweep", "parse_axis", "split_arguments"]

MAX_BLOCK = 4096
_LINE_END = re.compile(r"\r\n|\r|\n")


# --- the sweep -----------------------------------------------------------------------


class Sweep:
    """One program over many rows of bindings; ``run`` yields output text as the rows finish.

    ``fmt`` is "csv" or "jsonl", or makes the SweepFormat for the inputs that get columns.

    ``report`` counts the rows that succeeded and failed.
    """

    def __init__(
        self,
        program: Program,
        constants: dict[str, float],
        axes: Sequence[Axis],
        fmt: str | Callable[[list[str]], SweepFormat],
        strict: bool = True,
        keep: Sequence[str] = (),
    ) -> None:
        self.program = program
        self.strict = strict  # False: report inf and nan instead of failing a row (--allow-nonfinite)
        self.constants = constants
        self.axes = list(axes)
        self.fmt = fmt
        self.keep = list(keep)  # columns of CSV rows passed through to the output (--keep)
        self._keep_index: list[int] = []
        self.report = Report()
        self._answered = Report()  # rows of the text being handed out, counted once it is written

    def written(self) -> None:
        """Count the rows of the text last yielded as written: the summary counts no row that was not."""
        self.report.ok += self._answered.ok
        self.report.failed += self._answered.failed
        self._answered = Report()

    def run(self, rows: BinaryIO | None = None) -> Iterator[str]:
        """Output text: a header (CSV), then the answers, a block of rows at a time."""
        yield from self._emit(*self.source(rows))

    def source(self, rows: BinaryIO | None = None) -> tuple[list[str], Iterator[Block]]:
        """The inputs that get columns, and the blocks of rows (of ``rows``, else of the ranges), unanswered.

        For callers that want the numbers rather than the text (``plot``).
        """
        if rows is None:
            self._refuse_keep("ranges")
            names = self._names(set(self.constants) | {a.name for a in self.axes}, complete=True)
            return names, self._axis_blocks(names)
        blocks = text_blocks(rows)
        text = next((t for t in blocks if t.strip()), "").lstrip()
        if not text:
            raise AutodiffError(INPUT, "the rows are empty: give a CSV header line, or JSON lines")
        if text.startswith(OVERLONG):
            raise AutodiffError(LIMIT, f"the first line of the rows: {overlong_row(text.split()[0])}")
        if text.startswith("{"):
            self._refuse_keep("JSON rows")
            return self._names(set(self.constants), complete=False), self._json_blocks(text, blocks)
        end = _LINE_END.search(text)
        assert end is not None  # every block ends with a line end
        header_line, rest = text[: end.start()], text[end.end() :]
        header = next(csv.reader([header_line]), [])
        index = self._header_index(header)
        names = self._names(set(index) | set(self.constants), complete=True)
        wanted = {n: i for n, i in index.items() if n in names}
        # A kept column that feeds an input is already in every row, once: asked
        # twice, or kept and an input, it is not repeated.
        columns = {name: self._column(header, name) for name in self.keep}
        echoed = set(wanted.values())
        self.keep = [name for name, i in columns.items() if i not in echoed]
        self._keep_index = [columns[name] for name in self.keep]
        return names, self._csv_blocks(wanted, len(header), rest, blocks)

    def _refuse_keep(self, source: str) -> None:
        if self.keep:
            raise AutodiffError(INPUT, f"--keep {self.keep[0]}: {source} have no columns to keep; --keep is for CSV --rows")

    @staticmethod
    def _column(header: list[str], name: str) -> int:
        cells = [cell.strip() for cell in header]
        if name not in cells:
            raise AutodiffError(INPUT, f"--keep {name}: the rows have no column {name}")
        return cells.index(name)

    def _names(self, given: set[str], complete: bool) -> list[str]:
        """The inputs that get columns, in order of first use; with ``complete``, all must be given."""
        inputs = self.program.inputs
        for name in inputs:
            if complete and name not in given and name not in CONSTANTS:
                message = f"{name} is not bound: the rows have no column {name} and no {name}=VALUE was given"
                raise self.program.graph.input_error(NAME, message, name)
        return [n for n in inputs if n in given or (n not in CONSTANTS and not complete)]

    def _header_index(self, header: list[str]) -> dict[str, int]:
        index: dict[str, int] = {}
        for i, cell in enumerate(header):
            try:
                name = check_name(cell, "")
            except AutodiffError:
                continue  # a label or a note, not an input
            if name in index:
                raise AutodiffError(INPUT, f"the rows have two columns named {name}")
            if name in self.constants:
                raise AutodiffError(INPUT, f"{name} is both a column of the rows and bound on the command line")
            index[name] = i
        return index

    def _emit(self, names: list[str], blocks: Iterator[Block]) -> Iterator[str]:
        out: SweepFormat
        if isinstance(self.fmt, str):
            out = sweep_format(self.fmt, names)
            if self.keep:
                out = _Kept(out, self.keep, self.fmt)
        else:
            out = self.fmt(names)  # a format of the caller's (the people table), which shows --keep itself
        header = out.header()
        if header:
            yield header
        columns = ColumnProgram(self.program, names)
        start = getattr(out, "start", None)  # a format that wants each block before its answers
        for block in blocks:
            if start is not None:
                start(block)
            yield self._answer(block, names, columns, out)
            self.written()

    # --- sources --------------------------------------------------------------------

    def _axis_blocks(self, names: list[str]) -> Iterator[Block]:
        size = max(16, min(MAX_BLOCK, (1 << 18) // (2 * len(self.program.order) + 1)))
        rows = _product(self.axes)
        first = 1
        while chunk := list(itertools.islice(rows, size)):
            columns = {a.name: list(col) for a, col in zip(self.axes, zip(*chunk, strict=True), strict=True)}
            yield Block(first, len(chunk), columns)
            first += len(chunk)

    def _csv_blocks(self, wanted: dict[str, int], ncols: int, rest: str, blocks: Iterator[str]) -> Iterator[Block]:
        first = 1
        for group in csv_groups(blocks, rest):
            block = fast_csv(first, group, wanted) if isinstance(group, tuple) and len(group) == ncols else None
            if block is None:
                rows = group if isinstance(group, list) else [list(r) for r in zip(*group, strict=True)]
                block = Block(first, len(rows), rows=[csv_row(r, wanted, ncols) for r in rows])
            if self._keep_index:
                block.kept = kept_cells(group, self._keep_index)
            yield block
            first += block.n

    def _json_blocks(self, text: str, blocks: Iterator[str]) -> Iterator[Block]:
        first = 1
        while text is not None:
            split = _LINE_END.split(text) if "\r" in text else text.split("\n")
            lines = [line for line in split if line.strip() and not line.lstrip().startswith("#")]
            if lines:
                yield Block(first, len(lines), rows=[self._json_row(line) for line in lines])
                first += len(lines)
            text = next(blocks, None)  # type: ignore[assignment]

    def _json_row(self, line: str) -> Row:
        too_long = overlong_row(line)
        if too_long:
            return {}, too_long
        if not is_utf8(line):
            return {}, AutodiffError(INPUT, "the line is not valid UTF-8")
        try:
            bindings = json_bindings(load_json(line.strip()), "a JSON row")
        except AutodiffError as err:
            return {}, err
        both = [n for n in bindings if n in self.constants]
        if both:
            return bindings, AutodiffError(INPUT, f"{both[0]} is bound both on the command line and by the row")
        return bindings, bindings

    # --- answers --------------------------------------------------------------------

    def _answer(self, block: Block, names: list[str], columns: ColumnProgram, out: SweepFormat) -> str:
        """The output text for a block: all at once if ColumnProgram takes it, else row by row."""
        if block.columns is not None:
            n = block.n
            given = [block.columns[m] if m in block.columns else [self.constants[m]] * n for m in names]
            done = columns.run(given, n)
            if done is not None:
                self._answered.ok += n
                texts = block.texts or {}
                return out.block(Done(block.first, given, [texts.get(m) for m in names], *done))
            block.rows = rows_of(block)
        assert block.rows is not None
        pieces = []
        for row, (echo, bindings) in enumerate(block.rows, block.first):
            if isinstance(bindings, AutodiffError):
                self._answered.failed += 1
                pieces.append(out.failure(row, echo, bindings))
                continue
            bindings = CheckedBindings({**self.constants, **bindings})  # every row source checked its cells
            echo = {**self.constants, **echo}
            try:
                result = self.program.run(bindings, strict=self.strict)
            except AutodiffError as err:
                self._answered.failed += 1
                pieces.append(out.failure(row, echo, err))
            else:
                self._answered.ok += 1
                pieces.append(out.success(row, echo, bindings, result))
        return "".join(pieces)


def _product(axes: Sequence[Axis]) -> Iterator[tuple[float, ...]]:
    """The cartesian product of the axes, the last varying fastest, computed as it goes."""
    if not axes:
        yield ()
        return
    head, rest = axes[0], axes[1:]
    for i in range(head.count):
        x = head.value(i)
        for tail in _product(rest):
            yield (x, *tail)


class _Kept:
    """A SweepFormat that passes each row's --keep columns through: first in CSV, a "kept" member in JSON."""

    def __init__(self, inner: SweepFormat, keep: Sequence[str], fmt: str) -> None:
        self.inner = inner
        self.keep = list(keep)
        self.csv = fmt != "jsonl"
        self.first = 1
        self.cells: list[Sequence[str]] = []

    def start(self, block: Block) -> None:
        """The block whose rows come next."""
        self.first, self.cells = block.first, block.kept or [[""] * len(self.keep)] * block.n

    def _tag(self, row: int, line: str) -> str:
        cells = self.cells[row - self.first]
        if self.csv:
            return csv_line(cells)[:-1] + "," + line
        return line[:-2] + ', "kept": ' + jsonl_line(dict(zip(self.keep, cells, strict=True)))[:-1] + "}\n"

    def header(self) -> str:
        header = self.inner.header()
        return csv_line(self.keep)[:-1] + "," + header if header else header

    def block(self, done: Done) -> str:
        # A block's lines are numbers only (no quoted newline), so splitting at newlines is exact.
        lines = self.inner.block(done).split("\n")[:-1]
        return "".join(self._tag(row, line + "\n") for row, line in enumerate(lines, done.first))

    def success(self, row: int, echo: Mapping[str, Any], bindings: Mapping[str, float], result: Result) -> str:
        return self._tag(row, self.inner.success(row, echo, bindings, result))

    def failure(self, row: int, echo: Mapping[str, Any], error: AutodiffError) -> str:
        return self._tag(row, self.inner.failure(row, echo, error))
