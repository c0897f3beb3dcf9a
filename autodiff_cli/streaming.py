"""The command line's streaming side: answers written as they come, whole lines only.

Part of the CLI (it prints); ``cli.py`` keeps the click commands and calls in.
SIGINT and SIGTERM never cut a line in half: while a line is being written the
signal waits for it, otherwise it stops reading and computing at once; then
the output is flushed and the status is 128 + the signal (130, 143).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

import click

from .batch import WORKERS_PER_CORE, Report, run_batch, worker_count
from .errors import INPUT, AutodiffError
from .program import Program
from .sweep import Axis, Sweep

__all__ = ["Interrupted", "LineWriter", "standard_input", "write_batch", "write_sweep"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop, keep the whole lines written so far, exit with ``status``.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on
    the way up can mistake it for a failed job.
    """

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _is_regular_file(stream: Any) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return False


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class LineWriter:
    """Writes whole lines to standard output, flushed at once unless it is a regular file.

    As a context manager it owns SIGINT and SIGTERM: ``status`` is 128 + the
    signal once one arrived. Leaving the context flushes, and from then on a
    signal is only noted, so the way out cannot be cut short either.
    """

    def __init__(self) -> None:
        self.flush_each = not _is_regular_file(sys.stdout)
        self.status: int | None = None
        self._writing = False
        self._closing = False
        self._previous: dict[int, Any] = {}

    def write(self, text: str, written: Callable[[], None] | None = None) -> None:
        """Write ``text`` (whole lines), then call ``written``; a signal that arrives meanwhile is acted on after.

        ``written`` is where what was written gets counted: a signal cannot
        fall between the write and the count, so a summary counts exactly the
        lines that were written.
        """
        # The signals wait in the kernel while the text is written: a write to a
        # full pipe is then never cut short by them, at any level of the I/O stack.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS) if self._previous else None
        self._writing = True
        try:
            out = sys.stdout  # looked up each time: a progress bar may be routing it
            out.write(text)
            if self.flush_each:
                out.flush()
            if written is not None:
                written()
        finally:
            self._writing = False
            if held is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if self.status is not None and not self._closing:
            raise Interrupted(self.status)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.status = 128 + signum
        if not (self._writing or self._closing):
            raise Interrupted(self.status)

    def __enter__(self) -> LineWriter:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._closing = True
        try:
            sys.stdout.flush()
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._previous.clear()


def standard_input() -> BinaryIO:
    """Standard input as bytes; an input error if the shell closed it (``<&-``)."""
    if sys.stdin is None:
        raise AutodiffError(INPUT, "standard input is closed: there is nothing to read")
    return sys.stdin.buffer


def _say(message: str) -> None:
    click.echo(message, err=True)


# --- batch ---------------------------------------------------------------------------


def _open_inputs(paths: Sequence[str]) -> Iterator[tuple[str, BinaryIO]]:
    """Each input as it is reached, so that only one file is open at a time."""
    for path in paths:
        if path == "-":
            yield "-", standard_input()
        else:
            with open(path, "rb") as stream:
                yield path, stream


def _known_size(paths: Sequence[str]) -> int | None:
    """Bytes to read in all, if every input is a regular file (``< file`` counts), else None."""
    total = 0
    for path in paths:
        try:
            if path == "-":
                stdin = standard_input()
                info = os.fstat(stdin.fileno())
                size = info.st_size - stdin.tell() if stat.S_ISREG(info.st_mode) else -1
            else:
                size = os.path.getsize(path)
        except (OSError, ValueError, AttributeError, AutodiffError):
            return None
        if size < 0:
            return None
        total += size
    return total


def _progress(paths: Sequence[str], quiet: bool) -> Any:
    """A progress bar on standard error, only for a person watching a file of known size."""
    if quiet or not sys.stderr.isatty():
        return None
    total = _known_size(paths)
    if total is None:
        return None
    from .render.progress import BatchProgress

    return BatchProgress(total, redirect_stdout=sys.stdout.isatty())


def _formatter(fmt: str, name_files: bool) -> tuple[str, Callable[[dict[str, Any]], str]]:
    """The header and the writer of one record for ``fmt``."""
    from .render import records

    if fmt == "jsonl":
        return "", records.jsonl_line
    if fmt == "csv":
        return records.batch_csv_header(name_files), lambda r: records.batch_csv_line(r, name_files)
    from rich.console import Console

    console = Console(highlight=False)
    table = records.BatchTable(name_files)

    def render(renderable: Any) -> str:
        with console.capture() as capture:
            console.print(renderable)
        return capture.get()

    return render(table.header()), lambda r: render(table.row(r))


def _engine(stack: contextlib.ExitStack, scheduler: str | None) -> Any:
    """The Dask engine for ``scheduler`` (connected before any job is read), or None to run here."""
    if scheduler is None:
        return None
    from .distributed import DaskEngine, connect

    return DaskEngine(stack.enter_context(connect(scheduler)))


def write_batch(
    paths: Sequence[str],
    fmt: str,
    jobs: int,
    quiet: bool,
    strict: bool = True,
    first_line: int = 1,
    scheduler: str | None = None,
) -> int:
    """Run a batch and write its answers; return the exit status."""
    report = Report()
    workers = worker_count(jobs)
    if jobs > workers and not quiet:
        _say(f"autodiff: --jobs {jobs} is more than {WORKERS_PER_CORE} per core: running at most {workers} workers")
    name_files = len(paths) > 1
    header, line_of = _formatter(fmt, name_files)
    stack = contextlib.ExitStack()
    engine = _engine(stack, scheduler)
    progress = _progress(paths, quiet)
    with stack, LineWriter() as out:
        with contextlib.suppress(Interrupted), progress or contextlib.nullcontext():
            out.write(header)
            on_read = progress.read if progress else None
            records = run_batch(_open_inputs(paths), workers, on_read, name_files, strict, first_line, engine)
            with contextlib.closing(records):
                for record in records:
                    out.write(line_of(record), functools.partial(report.add, record))
                    if progress:
                        progress.answered()
    if not quiet:
        _say(f"{report}" + (" (interrupted)" if out.status else ""))
    return out.status or report.return_code


# --- sweeps --------------------------------------------------------------------------


def write_sweep(
    program: Program, constants: dict[str, float], axes: Sequence[Axis], rows: str | None, fmt: str, strict: bool = True
) -> int:
    """Run a sweep over ``rows`` (a path, ``-``) or the ranges and write it; return the exit status."""
    sweep = Sweep(program, constants, axes, fmt, strict)
    with LineWriter() as out:
        with contextlib.suppress(Interrupted), contextlib.ExitStack() as stack:
            stream = None
            if rows == "-":
                stream = standard_input()
            elif rows is not None:
                stream = stack.enter_context(open(rows, "rb"))
            for text in sweep.run(stream):
                out.write(text, sweep.written)
    report = sweep.report
    if report.failed or out.status:
        _say(f"autodiff: {report.ok} rows ok, {report.failed} failed" + (" (interrupted)" if out.status else ""))
    return out.status or report.return_code
