"""The commands that stream: batch answers and sweep rows, written as they come, whole lines only."""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import stat
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, BinaryIO

from ..batch import WORKERS_PER_CORE, Piece, Report, run_batch, worker_count
from ..errors import CLUSTER, AutodiffError
from ..program import Program
from ..sweep import Axis, Sweep
from ..text import printable
from .output import (
    EXIT_CLUSTER,
    Interrupted,
    LineWriter,
    console,
    error_console,
    open_rows,
    report_error,
    say,
    standard_input,
)

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


def _engine(stack: contextlib.ExitStack, scheduler: str | None, scheduler_file: str | None, quiet: bool) -> Any:
    """The Dask engine for ``scheduler`` (connected before any job is read), or None to run here."""
    if scheduler is None and scheduler_file is None:
        return None
    from ..distributed import DaskEngine, connect

    tell = (lambda message: None) if quiet else say
    client = stack.enter_context(connect(scheduler or "", scheduler_file=scheduler_file, tell=tell))
    return DaskEngine(client, tell=tell)


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
    scheduler_file: str | None = None,
) -> int:
    """Run a batch and write its answers; return the exit status.

    A Dask cluster lost midway ends the batch with its error, the summary of
    what was written, and the line to resume from.
    """
    report = Report()
    workers = worker_count(jobs)
    if jobs > workers and not quiet:
        say(f"autodiff: --jobs {jobs} is more than {WORKERS_PER_CORE} per core: running at most {workers} workers")
    name_files = len(paths) > 1
    header, line_of = _formatter(fmt, name_files, width, digits)
    stack = contextlib.ExitStack()
    written = _Written(paths, first_line)
    lost: AutodiffError | None = None
    # Answers are held and written in blocks, and whatever is held is written before any wait.
    # Signals are ours from the start: Ctrl-C while connecting to a cluster stops at once, too.
    with LineWriter(hold=True, json=fmt == "jsonl") as out:
        with contextlib.suppress(Interrupted), stack:
            engine = _engine(stack, scheduler, scheduler_file, quiet)
            progress = stack.enter_context(_progress(paths, quiet) or contextlib.nullcontext())
            out.write(header)
            on_read = progress.read if progress else None
            run = functools.partial(
                run_batch, jobs=workers, on_read=on_read, name_files=name_files, strict=strict, first_line=first_line
            )
            answers = _answers(paths, run, engine, out.flush, (fmt, name_files, strict, first_line), line_of)
            try:
                with contextlib.closing(answers):
                    for text, record, piece, name in answers:
                        out.write(text, functools.partial(written.add, report, record, piece, name))
                        if progress:
                            progress.read(piece.size if piece else 0)
                            for _ in range(piece.ok + piece.failed if piece else 1):
                                progress.answered()
            except AutodiffError as err:
                if err.kind != CLUSTER:
                    raise
                lost = err
    if lost is not None:
        report_error(lost)
    if not quiet or lost is not None:
        say(f"{report}" + (" (interrupted)" if out.status else ""))
    if lost is not None:
        say(written.resume())
        return EXIT_CLUSTER
    return out.status or report.return_code


Answer = tuple[str, "dict[str, Any] | None", "Piece | None", str]


def _answers(
    paths: Sequence[str],
    run: Callable[..., Iterator[dict[str, Any] | Piece]],
    engine: Any,
    flush: Callable[[], None],
    how: tuple[str, bool, bool, int],
    line_of: Callable[[dict[str, Any]], str],
) -> Generator[Answer, None, None]:
    """Each answer's text, with the record it writes, or the range of a file (a Piece), and the input's name.

    On a Dask cluster, a file every worker reads is read there by byte ranges
    and comes back written (distributed_files.py); any other input is read here.
    """
    fmt, name_files, strict, first_line = how
    if engine is None or fmt not in engine.FILE_FORMATS:
        # --jobs workers write their units' answers themselves when there is one input (batch.run_batch).
        for answer in run(_open_inputs(paths), engine=engine, on_wait=flush, fmt=fmt):
            if isinstance(answer, Piece):
                yield answer.text, None, answer, paths[0]
            else:
                yield line_of(answer), answer, None, ""
        return
    for path in paths:
        shared = engine.shared(path) if path != "-" else None
        if shared is None:
            for record in run(_open_inputs([path]), engine=engine, on_wait=flush):
                assert isinstance(record, dict)  # no fmt given: records, never Pieces
                yield line_of(record), record, None, path
        else:
            for piece in engine.run_file(shared, (fmt, path if name_files else None), strict, first_line, flush):
                yield piece.text, None, piece, path


class _Written:
    """Where the written answers reached: the line a batch cut short resumes from."""

    def __init__(self, paths: Sequence[str], first_line: int) -> None:
        self.paths = paths
        self.first_line = first_line
        self.line = first_line - 1
        self.file = paths[0]

    def add(self, report: Report, record: dict[str, Any] | None, piece: Piece | None = None, name: str = "") -> None:
        """Count a record, or the answers of a file's range (``piece``, from the input ``name``)."""
        if record is not None:
            report.add(record)
            self.line = record.get("line", self.line)
            self.file = record.get("file", self.file)
        elif piece is not None:
            report.ok += piece.ok
            report.failed += piece.failed
            if piece.last_line is not None:
                self.line, self.file = piece.last_line, name

    def resume(self) -> str:
        """How to run the rest: from the line after the last answer written, numbered as before."""
        line = self.line + 1
        stdin = self.file == "-"
        source = "standard input" if stdin else printable(shlex.quote(self.file))
        rest = self.paths[self.paths.index(self.file) + 1 :] if self.file in self.paths else []
        after = f", then the {len(rest)} file(s) after it" if rest else ""
        return (
            f"autodiff: answers were written up to line {self.line} of {source}; to resume: "
            f"tail -n +{line - self.first_line + 1} {'INPUT' if stdin else source}"
            f" | autodiff batch --first-line {line} [options]{after}"
        )


def write_sweep(
    program: Program,
    constants: dict[str, float],
    axes: Sequence[Axis],
    rows: str | None,
    fmt: str,
    strict: bool = True,
    quiet: bool = False,
    keep: Sequence[str] = (),
    table: Callable[..., Any] | None = None,
) -> int:
    """Run a sweep over ``rows`` (a path, ``-``) or the ranges and write it; return the exit status.

    ``fmt`` "text" writes the people table that ``table(names, keep=..., numbered=..., fixed=...)`` makes.
    """
    how: Any = fmt
    if fmt == "text":
        assert table is not None
        how = functools.partial(table, keep=keep, numbered=rows is not None, fixed=constants)
    sweep = Sweep(program, constants, axes, how, strict, keep)
    with LineWriter(json=fmt == "jsonl") as out:
        with contextlib.suppress(Interrupted), contextlib.ExitStack() as stack:
            for text in sweep.run(open_rows(stack, rows)):
                out.write(text, sweep.written)
    report = sweep.report
    if (report.failed or out.status) and not quiet:
        say(f"autodiff: {report.ok} rows ok, {report.failed} failed" + (" (interrupted)" if out.status else ""))
    return out.status or report.return_code
