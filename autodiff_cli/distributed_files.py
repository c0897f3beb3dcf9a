"""A batch FILE every Dask worker can read: each worker reads its own byte ranges and sends back only answers.

Sending every line from the client and every record back made the client
the bottleneck (~21 µs of its CPU a job, whatever the job). For a regular file
that every worker sees (a local path on a LocalCluster, a shared file system),
the client sends byte ranges instead, and each worker answers with the text
the client writes as it is: JSON lines or CSV rows, with their counts.

Line numbers must be the serial run's, so the workers first count the lines
that start in each GRAIN of the file (a few tasks of REGION bytes each, ahead
of the work); a range then starts at a known line number. A line belongs to
the range it starts in, as in Hadoop's and dask.bag's ``read_text``: a worker
starts at the first line start in its range and reads its lines with
``lines.LineReader``, the reader of a serial run, so LF, CRLF and lone-CR line
ends, overlong lines and a BOM on line 1 come out the same, wherever the
ranges cut (between a CR and its LF, inside a UTF-8 character or a long line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import re
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .batch import WRITTEN_FORMATS, Line, Piece, few_collections, no_op, run_lines, write_records
from .lines import LineReader

if TYPE_CHECKING:
    from .distributed import DaskEngine

__all__ = ["FORMATS", "Piece", "run_file", "shared_path"]

GRAIN = 1 << 10  # bytes whose line starts are counted together: the finest cut a range can have
REGION = 1 << 20  # bytes a counting task reads
COUNTS_AHEAD = 4  # counting tasks in flight ahead of the work
FIRST_RANGE = 1 << 16  # bytes of the first ranges, before answers tell how long their jobs take
MAX_RANGE = 1 << 22
CHUNK_SECONDS = 0.1  # work per range once known, as the line-by-line engine aims at
PROBE_BYTES = 1 << 16  # bytes of each end of the file that every worker must read the same
_LINE_END = re.compile(rb"[\r\n]")

FORMATS = WRITTEN_FORMATS
"""The output formats a worker writes itself (a people table is laid out by the client)."""


# --- on the workers ------------------------------------------------------------------------


def count_starts(path: str, start: int, end: int, grain: int) -> list[int]:
    """Lines that start in each ``grain`` bytes of ``[start, end)`` of the file (``start`` a multiple of it).

    A line starts at 0, after an LF, and after a CR that no LF follows: the
    line ends of ``lines.LineReader``. A CR at the end of a grain is judged by
    the byte after it, so a CRLF cut in two is one line end.
    """
    begin = max(start - 1, 0)
    with open(path, "rb") as stream:
        stream.seek(begin)
        data = stream.read(end - begin)
    counts = []
    for a in range(start, end, grain):
        b = min(a + grain, end)
        lo, hi = max(a - 1, 0) - begin, b - 1 - begin  # line ends at q in [a-1, b-1) start lines at q+1 in [a, b)
        # A CRLF whose CR is in [lo, hi) lies within [lo, hi + 1): data holds the file up to b.
        ends = data.count(b"\n", lo, hi) + data.count(b"\r", lo, hi) - data.count(b"\r\n", lo, hi + 1)
        counts.append(ends + (a == 0))
    return counts


def range_lines(path: str, start: int, count: int, first_number: int) -> Iterator[Line]:
    """The ``count`` numbered lines that start at or after byte ``start``, as a serial run reads them."""
    with open(path, "rb") as stream:
        stream.seek(_first_start(stream, start))
        numbered = zip(itertools.count(first_number), (raw for _, raw in LineReader(stream)), strict=False)
        yield from itertools.islice(numbered, count)


def _first_start(stream: Any, start: int) -> int:
    """Where the first line at or after ``start`` begins (``stream`` is read from ``start - 1`` on)."""
    if start == 0:
        return 0
    stream.seek(start - 1)
    at = start - 1
    while block := stream.read(GRAIN):
        found = _LINE_END.search(block)
        if found:
            i = at + found.start()
            after = block[found.start() + 1 : found.start() + 2] or stream.read(1)
            return i + (2 if block[found.start()] == 0x0D and after == b"\n" else 1)
        at += len(block)
    return at


def run_range(path: str, start: int, count: int, first_number: int, how: tuple[str, str | None], strict: bool) -> Piece:
    """What a Dask worker runs: the answers to a range's lines, already written as ``how`` says."""
    # The range's bytes were read once already, by count_starts: needed, as a range's first line number must be
    # known before it is sent, and the records the worker writes carry it (renumbering them would be the client's work).
    began = time.perf_counter()
    with few_collections():
        records = run_lines(range_lines(path, start, count, first_number), strict)
    return dataclasses.replace(write_records(records, how), seconds=time.perf_counter() - began)


def probe(path: str) -> tuple[int, str] | None:
    """A regular file's size and a digest of its ends, as this machine sees it; None if it cannot read it."""
    try:
        with open(path, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            digest = hashlib.sha256(stream.read(PROBE_BYTES))
            stream.seek(max(info.st_size - PROBE_BYTES, 0))
            digest.update(stream.read(PROBE_BYTES))
    except OSError:
        return None
    return info.st_size, digest.hexdigest()


# --- on the client -------------------------------------------------------------------------


def shared_path(client: Any, path: str) -> str | None:
    """``path`` made absolute, if it is a regular file that every worker reads the same as here, else None."""
    if path == "-":
        return None
    full = os.path.abspath(path)
    here = probe(full)
    if here is None:
        return None
    try:
        theirs = client.run(probe, full, on_error="return")
    except Exception:  # a scheduler that cannot broadcast: the line-by-line path says what is wrong
        return None
    return full if theirs and all(seen == here for seen in theirs.values()) else None


def run_file(
    engine: DaskEngine,
    path: str,
    how: tuple[str, str | None],
    strict: bool,
    first_line: int = 1,
    on_wait: Callable[[], None] = no_op,
) -> Iterator[Piece]:
    """The answers to a shared file's jobs, range by range in input order (``path`` absolute, from shared_path)."""
    size = os.path.getsize(path)
    pending: deque[tuple[int, int, int, int, Any]] = deque()
    target = FIRST_RANGE

    def answers() -> Piece:
        nonlocal target
        sent = pending.popleft()
        size = sent[1] - sent[0]
        piece = _finish(engine, path, how, strict, sent, on_wait)
        if piece.seconds > 0:  # about CHUNK_SECONDS of work a range, at the rate this one went
            target = max(GRAIN, min(MAX_RANGE, round(size * CHUNK_SECONDS / piece.seconds)))
        return dataclasses.replace(piece, size=size)

    try:
        for start, end, count, number in _ranges(engine, path, size, first_line, lambda: target):
            future = engine.client.submit(run_range, path, start, count, number, how, strict, pure=False)
            pending.append((start, end, count, number, future))
            while pending and (len(pending) >= engine.window or pending[0][4].done()):
                yield answers()
        while pending:
            yield answers()
    finally:
        for *_, future in pending:
            future.release()


def _finish(
    engine: DaskEngine,
    path: str,
    how: tuple[str, str | None],
    strict: bool,
    sent: tuple[int, int, int, int, Any],
    on_wait: Callable[[], None],
) -> Piece:
    """A range's answers; a range Dask gave up on (its workers kept dying) goes job by job, from here."""
    from distributed import KilledWorker

    start, _, count, number, future = sent
    if not future.done():
        on_wait()
    try:
        piece: Piece = engine._result(future)
    except KilledWorker:
        lines = list(range_lines(path, start, count, number))
        piece = write_records(engine._one_by_one(lines, strict), how)
    finally:
        future.release()
    return piece


def _ranges(
    engine: DaskEngine, path: str, size: int, first_line: int, target: Callable[[], int]
) -> Iterator[tuple[int, int, int, int]]:
    """(start, end, lines, first line number) of each range holding a line start, about ``target()`` bytes each."""
    number = first_line
    start, count = 0, 0
    for grain, starts in enumerate(_grain_counts(engine, path, size)):
        count += starts
        end = min((grain + 1) * GRAIN, size)
        if end - start >= target() or end == size:
            if count:
                yield start, end, count, number
            number += count
            start, count = end, 0


def _grain_counts(engine: DaskEngine, path: str, size: int) -> Iterator[int]:
    """Lines starting in each grain of the file, counted by the workers a few regions ahead."""
    from distributed import KilledWorker

    regions = iter(range(0, size, REGION))
    pending: deque[tuple[int, Any]] = deque()
    try:
        while True:
            while len(pending) < COUNTS_AHEAD and (region := next(regions, None)) is not None:
                end = min(region + REGION, size)
                future = engine.client.submit(count_starts, path, region, end, GRAIN, pure=False, priority=1)
                pending.append((region, future))
            if not pending:
                return
            region, future = pending.popleft()
            try:
                counts: list[int] = engine._result(future)
            except KilledWorker:  # counting kills no worker: the cluster is failing; count here
                counts = count_starts(path, region, min(region + REGION, size), GRAIN)
            finally:
                future.release()
            yield from counts
    finally:
        for _, future in pending:
            future.release()
