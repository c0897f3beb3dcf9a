"""The commands that stream: batch answers and sweep rows, written as they come, whole lines only."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from ..batch import WORKERS_PER_CORE, Report, run_batch, worker_count
from ..errors import AutodiffError
from ..program import Program
from ..sweep import Axis, Sweep
from .output import Interrupted, LineWriter, console, error_console, open_rows, say, standard_input

__all__ = ["write_batch", "write_sweep"]


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
    from ..render.progress import BatchProgress

    return BatchProgress(total, redirect_stdout=sys.stdout.isatty(), console=error_console())


def _formatter(
    fmt: str, name_files: bool, width: int | None, digits: int | None = None
) -> tuple[str, Callable[[dict[str, Any]], str]]:
    """The header and the writer of one record for ``fmt``."""
    from ..records import jsonl_line
    from ..records_csv import batch_csv_header, batch_csv_line

    if fmt == "jsonl":
        return "", jsonl_line
    if fmt == "csv":
        return batch_csv_header(name_files), lambda r: batch_csv_line(r, name_files)
    from ..render.batch_table import BatchTable

    table = BatchTable(name_files, digits)

    def render(renderable: Any) -> str:
        with console().capture() as capture:
            console().print(renderable, width=width)
        return capture.get()

    return render(table.header()), lambda r: render(table.row(r))


def _engine(stack: contextlib.ExitStack, scheduler: str | None) -> Any:
    """The Dask engine for ``scheduler`` (connected before any job is read), or None to run here."""
    if scheduler is None:
        return None
    from ..distributed import DaskEngine, connect

    return DaskEngine(stack.enter_context(connect(scheduler)))


def write_batch(
    paths: Sequence[str],
    fmt: str,
    jobs: int,
    quiet: bool,
    strict: bool = True,
    first_line: int = 1,
    scheduler: str | None = None,
    width: int | None = None,
    digits: int | None = None,
) -> int:
    """Run a batch and write its answers; return the exit status."""
    report = Report()
    workers = worker_count(jobs)
    if jobs > workers and not quiet:
        say(f"autodiff: --jobs {jobs} is more than {WORKERS_PER_CORE} per core: running at most {workers} workers")
    name_files = len(paths) > 1
    header, line_of = _formatter(fmt, name_files, width, digits)
    stack = contextlib.ExitStack()
    engine = _engine(stack, scheduler)
    progress = _progress(paths, quiet)
    # Answers are held and written in blocks, and whatever is held is written before any wait.
    with stack, LineWriter(hold=True, json=fmt == "jsonl") as out:
        with contextlib.suppress(Interrupted), progress or contextlib.nullcontext():
            out.write(header)
            on_read = progress.read if progress else None
            records = run_batch(_open_inputs(paths), workers, on_read, name_files, strict, first_line, engine, out.flush)
            with contextlib.closing(records):
                for record in records:
                    out.write(line_of(record), functools.partial(report.add, record))
                    if progress:
                        progress.answered()
    if not quiet:
        say(f"{report}" + (" (interrupted)" if out.status else ""))
    return out.status or report.return_code


def write_sweep(
    program: Program,
    constants: dict[str, float],
    axes: Sequence[Axis],
    rows: str | None,
    fmt: str,
    strict: bool = True,
    quiet: bool = False,
    keep: Sequence[str] = (),
) -> int:
    """Run a sweep over ``rows`` (a path, ``-``) or the ranges and write it; return the exit status."""
    sweep = Sweep(program, constants, axes, fmt, strict, keep)
    with LineWriter(json=fmt == "jsonl") as out:
        with contextlib.suppress(Interrupted), contextlib.ExitStack() as stack:
            for text in sweep.run(open_rows(stack, rows)):
                out.write(text, sweep.written)
    report = sweep.report
    if (report.failed or out.status) and not quiet:
        say(f"autodiff: {report.ok} rows ok, {report.failed} failed" + (" (interrupted)" if out.status else ""))
    return out.status or report.return_code
