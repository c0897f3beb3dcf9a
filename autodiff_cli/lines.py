"""Lines of input as they arrive: ended by LF, CRLF or a lone CR, and never held past a size.

A file iterated in Python ends lines at LF only, so a file written with lone
CRs (classic Mac, some serial devices) read as one job; and it holds a line
whole however long it is, so input with no line end at all (``/dev/zero``)
took all memory before any limit was checked. ``LineReader`` reads a block
at a time, splits at every line end, and drops the bytes of a line past
``MAX_LINE_BYTES`` as they arrive, keeping only their count.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import LIMIT, AutodiffError
from .parser import MAX_PROGRAM_CHARS

__all__ = ["MAX_LINE_BYTES", "OVERLONG", "LineReader", "Overlong", "overlong_row", "text_blocks"]

MAX_LINE_BYTES = 4 * MAX_PROGRAM_CHARS
"""Room for a program at its character limit written in any UTF-8, with its bindings."""

READ_BYTES = 1 << 16
_LINE_END = re.compile(rb"\r\n|\r|\n")

OVERLONG = "\ud800"
"""Starts a line of text that stands for one too long to keep: text decoded with surrogateescape never holds it."""


@dataclass(frozen=True)
class Overlong:
    """A line that was longer than the limit: only its size was kept."""

    size: int
    limit: int = MAX_LINE_BYTES

    def error(self) -> AutodiffError:
        return AutodiffError(LIMIT, f"the line has {self.size:,} bytes; a line has at most {self.limit:,}")


class LineReader:
    """Numbered lines of a binary stream (without their line ends), read as they come.

    A CR that ends one read and an LF that starts the next are one line end,
    so the numbers do not depend on how the input happened to be cut.
    """

    def __init__(self, stream: BinaryIO, limit: int = MAX_LINE_BYTES, read_bytes: int = READ_BYTES) -> None:
        self._read = getattr(stream, "read1", None) or stream.read
        self._limit = limit
        self._read_bytes = read_bytes
        self._ready: deque[bytes | Overlong] = deque()
        self._partial: list[bytes] = []
        self._held = 0
        self._skipped: int | None = None  # bytes of an overlong line, while skipping it
        self._after_cr = False
        self.number = 0

    def buffered(self) -> bool:
        """True if a whole line is in hand, so that the next one needs no read."""
        return bool(self._ready)

    def __iter__(self) -> Iterator[tuple[int, bytes | Overlong]]:
        while True:
            while self._ready:
                self.number += 1
                yield self.number, self._ready.popleft()
            data = self._read(self._read_bytes)
            if not data:
                break
            self._feed(data)
        if self._partial or self._skipped is not None:
            self.number += 1
            yield self.number, self._end_line(b"")

    def _feed(self, data: bytes) -> None:
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        self._after_cr = data.endswith(b"\r")
        parts = _LINE_END.split(data) if b"\r" in data else data.split(b"\n")
        if len(parts) == 1:
            self._extend(data)
            return
        self._ready.append(self._end_line(parts[0]))
        limit = self._limit
        for part in parts[1:-1]:
            self._ready.append(part if len(part) <= limit else Overlong(len(part), limit))
        self._extend(parts[-1])

    def _extend(self, piece: bytes) -> None:
        if not piece:
            return
        if self._skipped is not None:
            self._skipped += len(piece)
            return
        self._held += len(piece)
        if self._held > self._limit:
            self._skipped, self._partial, self._held = self._held, [], 0
        else:
            self._partial.append(piece)

    def _end_line(self, piece: bytes) -> bytes | Overlong:
        if self._skipped is not None:
            size, self._skipped = self._skipped + len(piece), None
            return Overlong(size, self._limit)
        if self._held + len(piece) > self._limit:
            size = self._held + len(piece)
            self._partial, self._held = [], 0
            return Overlong(size, self._limit)
        line = b"".join(self._partial) + piece if self._partial else piece
        self._partial, self._held = [], 0
        return line


# --- text for sweeps -------------------------------------------------------------------


def text_blocks(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[str]:
    """The input as it arrives, cut after a line end; bytes that are not UTF-8 survive as surrogates.

    A line longer than ``limit`` is never held: its bytes are counted as they
    pass, and it comes out as a line of its own, ``OVERLONG`` and its size.
    """
    read = getattr(stream, "read1", None) or stream.read
    pieces: list[bytes] = []
    held = 0
    skipped: int | None = None
    first = True
    while data := read(READ_BYTES):
        if skipped is not None:
            end = _first_end(data)
            if end < 0:
                skipped += len(data)
                continue
            yield f"{OVERLONG}{skipped + end}\n"
            skipped, data = None, data[end + 1 :]
        cut = (data.rfind(b"\n") + 1) or (data.rfind(b"\r") + 1)
        if not cut:
            pieces.append(data)
            held += len(data)
            if held > limit:
                skipped, pieces, held = held, [], 0
            continue
        pieces.append(data[:cut])
        text = b"".join(pieces).decode("utf-8", "surrogateescape")
        pieces, held = [data[cut:]], len(data) - cut
        if first:
            text, first = text.removeprefix("\ufeff"), False
        yield text
    if skipped is not None:
        yield f"{OVERLONG}{skipped}\n"
    tail = b"".join(pieces)
    if tail:
        text = tail.decode("utf-8", "surrogateescape") + "\n"
        yield text.removeprefix("\ufeff") if first else text


def _first_end(data: bytes) -> int:
    """Where the first line end of ``data`` is, or -1."""
    return min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=-1)


def overlong_row(cell: str) -> AutodiffError | None:
    """The error of a row that stands for a line too long to keep, or None for any other row."""
    return Overlong(int(cell[1:])).error() if cell.startswith(OVERLONG) else None
