"""The rows of a sweep as they are read: CSV cells and their checks, in blocks.

Split from sweep.py so that reading (the fast path for plain numeric CSV, the
careful one through csv.reader, a row's own errors) sits apart from running.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .bindings import parse_number
from .errors import INPUT, AutodiffError
from .lines import overlong_row

__all__ = ["Block", "Row", "csv_groups", "csv_row", "fast_csv", "is_utf8", "kept_cells", "rows_of", "shown"]

# --- rows ----------------------------------------------------------------------------


Row = tuple[dict[str, Any], dict[str, float] | AutodiffError]
"""One row for Program.run: what to show for its inputs, and its bindings or why it has none."""


@dataclass
class Block:
    """Consecutive rows: whole columns of numbers (fast), or rows one by one (careful)."""

    first: int  # number of the first row, from 1
    n: int
    columns: dict[str, list[float]] | None = None
    texts: dict[str, list[str]] | None = None  # the cells as written, for CSV output
    rows: list[Row] | None = None
    kept: list[Sequence[str]] | None = None  # each row's --keep cells, as written


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """Text fit for output: bytes that were not UTF-8 become U+FFFD."""
    return text if is_utf8(text) else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# Lines as open(newline="") gives them to csv.reader: ended by \r\n, \r or \n, kept.
# Not str.splitlines(), which also cuts at form feeds and other characters csv keeps in a field.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def _keep_ends(text: str) -> list[str]:
    return _LINE.findall(text)


class _LineFeed:
    """Lines for csv.reader, one block at a time, knowing how many are already in hand."""

    def __init__(self, blocks: Iterator[str], first: str) -> None:
        self.blocks = blocks
        self.lines: deque[str] = deque()
        self.lines.extend(_keep_ends(first))

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        while not self.lines:
            self.lines.extend(_keep_ends(next(self.blocks)))
        return self.lines.popleft()


def csv_groups(blocks: Iterator[str], rest: str) -> Iterator[list[list[str]] | tuple[list[str], ...]]:
    """Rows after the header: a tuple of columns when every row has the same fields, else a list of rows.

    Most numeric CSV has no quotes: splitting on commas is then exactly what
    csv.reader does, and much faster. The first quote hands the rest to csv.reader.
    """
    text = rest
    while True:
        if '"' in text:
            break
        newline = "\n"
        if "\r" in text:
            crlf = text.count("\r\n")
            if crlf != text.count("\r"):
                break  # a lone carriage return: csv.reader knows what it means
            if crlf == text.count("\n"):
                newline = "\r\n"
            else:
                text = text.replace("\r\n", "\n")
        lines = text.split(newline)
        lines.pop()  # every block ends with a newline
        if "" in lines:
            lines = [line for line in lines if line]
        if lines:
            widths = set(map(str.count, lines, (",",) * len(lines)))
            if len(widths) == 1:
                ncols = widths.pop() + 1
                cells = ",".join(lines).split(",")
                yield tuple(cells[k::ncols] for k in range(ncols))
            else:
                yield [line.split(",") for line in lines]
        text = next(blocks, None)  # type: ignore[assignment]
        if text is None:
            return
    feed = _LineFeed(blocks, text)
    reader = csv.reader(feed)
    while True:
        rows: list[list[str]] = []
        try:
            for row in reader:
                if row:
                    rows.append(row)
                if not feed.lines and rows:
                    break
        except csv.Error as err:
            rows.append([f"\0{err}"])  # a row csv cannot read: reported as that row's error
        if not rows:
            return
        yield rows


# float() also reads 1_000, Unicode digits and whitespace, "infinity" and "nan";
# parse_number, the rule for a cell, reads none of them. Over these characters
# alone, float() accepts exactly what parse_number does (both strip spaces and
# tabs, and nothing else), so a block whose cells hold no other is read by float().
_NOT_A_NUMBER_CHARACTER = re.compile(r"[^0-9+\-.eE \t]")


def fast_csv(first: int, columns: tuple[list[str], ...], wanted: dict[str, int]) -> Block | None:
    """Every wanted cell of a block as a finite float, or None if any cell needs a careful look.

    A cell means what ``parse_number`` says it means, whichever path reads it:
    the fast one here never takes a cell that the careful one refuses.
    """
    numbers: dict[str, list[float]] = {}
    texts: dict[str, list[str]] = {}
    for name, i in wanted.items():
        cells = columns[i]
        if _NOT_A_NUMBER_CHARACTER.search("".join(cells)):
            return None
        try:
            xs = list(map(float, cells))
        except ValueError:
            return None
        s = sum(xs)
        if s - s != 0.0:
            return None
        numbers[name] = xs
        texts[name] = cells
    return Block(first, len(columns[0]), numbers, texts)


def rows_of(block: Block) -> list[Row]:
    """A fast block as single rows, for Program.run to decide what went wrong."""
    assert block.columns is not None
    texts = block.texts or {}
    rows: list[Row] = []
    for i in range(block.n):
        bindings = {k: column[i] for k, column in block.columns.items()}
        echo = {k: column[i] for k, column in texts.items()} if texts else dict(bindings)
        rows.append((echo, bindings))
    return rows


def csv_row(cells: list[str], wanted: dict[str, int], ncols: int) -> Row:
    if len(cells) == 1 and cells[0].startswith("\0"):
        return {}, AutodiffError(INPUT, f"the row is not valid CSV: {cells[0][1:]}")
    too_long = overlong_row(cells[0]) if len(cells) == 1 else None
    if too_long:
        return {}, too_long
    echo = {name: shown(cells[i]) if i < len(cells) else "" for name, i in wanted.items()}
    if not all(map(is_utf8, cells)):
        return echo, AutodiffError(INPUT, "the row is not valid UTF-8")
    if len(cells) != ncols:
        return echo, AutodiffError(INPUT, f"the row has {len(cells)} fields; the header has {ncols}")
    bindings = {}
    for name, i in wanted.items():
        try:
            bindings[name] = parse_number(cells[i], name)
        except AutodiffError as err:
            return echo, err
    return echo, bindings


def kept_cells(group: list[list[str]] | tuple[list[str], ...], index: list[int]) -> list[Sequence[str]]:
    """The --keep cells of each row of a group (a missing one is empty), fit for output."""
    if isinstance(group, tuple):
        n = len(group[0])
        columns = [group[i] if i < len(group) else [""] * n for i in index]  # rows shorter than the header
        return [list(map(shown, cells)) for cells in zip(*columns, strict=True)]
    return [[shown(row[i]) if i < len(row) and not row[0].startswith("\0") else "" for i in index] for row in group]
