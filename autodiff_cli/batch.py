"""Batch jobs: read them one line at a time, run each, answer each in input order.

Nothing here prints. ``run_batch`` yields one record (a dict, the JSON the CLI
contract promises) per job as soon as the job is done, so output streams and
memory stays flat however long the input is. A job that cannot be read or run
becomes an error record; it never stops the jobs after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import select
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from .errors import LIMIT, AutodiffError
from .job_lines import NO_ID, Job, parse_job
from .lines import LineReader, Overlong
from .program import compile_program
from .records import error_record, jsonl_line, result_record, with_file

if TYPE_CHECKING:  # workers.py loads multiprocessing (~15 ms): only --jobs N > 1 imports it
    from .workers import Unit, WorkerPool

__all__ = ["WORKERS_PER_CORE", "Report", "run_batch", "run_job"]

# Jobs a worker gets at once with --jobs: enough to hide the cost of a round
# trip between processes, few enough that a slow pipe still streams.
CHUNK = 64
CHUNK_BYTES = 1 << 20

WORKERS_PER_CORE = 4
"""--jobs past this many per core only adds start-up time and memory: jobs are CPU-bound."""


def no_op() -> None:
    pass


class Engine(Protocol):
    """Another way to run a stream of numbered lines (a Dask cluster): records in input order.

    ``dry()`` says whether reading the next line would wait; ``on_wait()`` is
    called before any wait (for input or for workers), so that the answers in
    hand reach the reader first.
    """

    def __call__(
        self, dry: Callable[[], bool], lines: Iterable[Line], strict: bool, on_wait: Callable[[], None] = no_op
    ) -> Iterator[dict[str, Any]]: ...


@dataclass
class Report:
    """Counts answers and owns the exit status, as black's Report does."""

    ok: int = 0
    failed: int = 0

    def add(self, record: Mapping[str, Any]) -> None:
        if "error" in record:
            self.failed += 1
        else:
            self.ok += 1

    @property
    def return_code(self) -> int:
        """0 when every job succeeded, else 1."""
        return 1 if self.failed else 0

    def __str__(self) -> str:
        return f"{self.ok} ok, {self.failed} failed"


# --- running jobs --------------------------------------------------------------------


def run_job(job: Job, strict: bool = True) -> dict[str, Any]:
    """The answer to one job: line, id, expr, then value and gradients or an error.

    Without ``strict``, inf and nan are answers rather than errors (--allow-nonfinite).
    """
    record: dict[str, Any] = {"line": job.line}
    if job.id is not NO_ID:
        record["id"] = job.id
    if job.expr is not None:
        record["expr"] = job.expr
    if job.error is not None:
        record["error"] = error_record(job.error)
        return record
    assert job.expr is not None
    try:
        result = compile_program(job.expr).run(job.bindings, strict=strict)
    except AutodiffError as err:
        record["error"] = error_record(err)
    except (MemoryError, RecursionError):
        record["error"] = {"kind": LIMIT, "message": "the program is too large to run"}
    else:
        record.update(result_record(job.expr, result))
    return record


Line = tuple[int, "bytes | Overlong"]


def run_lines(lines: Iterable[Line], strict: bool = True) -> list[dict[str, Any]]:
    """Answers to numbered raw lines: the unit of work of a --jobs worker, a Dask task, or one line when serial."""
    out = []
    for number, raw in lines:
        job = parse_job(number, raw)
        if job is not None:
            out.append(run_job(job, strict))
    return out


def lost_lines(lines: Iterable[Line], why: str) -> list[dict[str, Any]]:
    """Error records for jobs that killed the worker running them, twice."""
    out = []
    for number, raw in lines:
        job = parse_job(number, raw)
        if job is not None:
            died = AutodiffError(LIMIT, f"the worker running this job died twice ({why}); it was not run again")
            out.append(run_job(dataclasses.replace(job, error=job.error or died)))
    return out


# --- answers written where they are computed ---------------------------------------------

WRITTEN_FORMATS = ("jsonl", "csv")
"""The output formats a worker writes itself (a people table is laid out where it is shown)."""


@dataclasses.dataclass(frozen=True)
class Piece:
    """The answers to one range, as written: ``text`` is whole lines of the output format."""

    text: str
    ok: int
    failed: int
    last_line: int | None  # the line of the last answer, for where to resume; None if it had none
    seconds: float = 0.0  # what the range took the worker: the next ranges are sized by it
    size: int = 0  # bytes of input it answers (the client fills it in, for a progress bar)


def write_records(records: list[dict[str, Any]], how: tuple[str, str | None]) -> Piece:
    """Records as the output text: ``how`` is (format, the input's name when records name their file, else None)."""
    from .records_csv import batch_csv_line

    fmt, name = how
    if name is not None:
        records = list(with_file(name, records))
    if fmt == "csv":
        text = "".join(batch_csv_line(record, name is not None) for record in records)
    else:
        text = "".join(map(jsonl_line, records))
    failed = sum("error" in record for record in records)
    return Piece(text, len(records) - failed, failed, records[-1]["line"] if records else None)


def run_written(lines: Iterable[Line], strict: bool, fmt: str) -> list[Piece]:
    """A --jobs unit answered and written by its worker: the parent only writes the text and counts."""
    return [write_records(run_lines(lines, strict), (fmt, None))]


def lost_written(lines: Iterable[Line], why: str, fmt: str) -> list[Piece]:
    """``lost_lines``, written as ``run_written`` writes."""
    return [write_records(lost_lines(lines, why), (fmt, None))]


def _skippable(raw: bytes | Overlong) -> bool:
    if isinstance(raw, Overlong):
        return False
    stripped = raw.strip()
    return not stripped or stripped.startswith(b"#")


def numbered_lines(lines: Iterable[Line], on_read: Callable[[int], None] | None = None, first_line: int = 1) -> Iterable[Line]:
    """Each line of a LineReader, numbered from ``first_line``, its bytes counted for a progress bar if there is one.

    ``first_line`` > 1 is for a block cut from a larger input (GNU parallel
    --pipe): its records keep the line numbers of the whole input.
    """
    if first_line != 1:
        lines = ((number + first_line - 1, raw) for number, raw in lines)
    return lines if on_read is None else _counted(lines, on_read)


def _counted(lines: Iterable[Line], on_read: Callable[[int], None]) -> Iterator[Line]:
    for number, raw in lines:
        on_read(len(raw) + 1 if isinstance(raw, bytes) else raw.size)
        yield number, raw


def worker_count(jobs: int) -> int:
    """The workers --jobs ``jobs`` gets: 0 is one per core, and never more than WORKERS_PER_CORE per core."""
    cores = cpu_count()
    return min(jobs or cores, WORKERS_PER_CORE * cores)


def run_batch(
    inputs: Iterable[tuple[str, BinaryIO]],
    jobs: int = 1,
    on_read: Callable[[int], None] | None = None,
    name_files: bool = False,
    strict: bool = True,
    first_line: int = 1,
    engine: Engine | None = None,
    on_wait: Callable[[], None] = no_op,
    fmt: str | None = None,
) -> Generator[dict[str, Any] | Piece, None, None]:
    """One record per job of every input, in input order, each as soon as it is known.

    ``inputs`` are (name, binary stream) pairs; with ``name_files`` each record
    also says which input it came from. ``jobs`` > 1 runs jobs in up to that
    many worker processes (started as work arrives), still answering in input
    order; an ``engine`` (a Dask cluster, see distributed.py) runs them instead.
    Each input's lines are numbered from ``first_line``. ``on_wait`` is
    called before every wait, for input or for workers: a writer that holds
    answers to write them in blocks (cli.output.LineWriter) writes them then.
    With ``fmt`` (one of WRITTEN_FORMATS) and one input, ``jobs`` > 1 yields
    Pieces, each the answers of one worker's unit written in ``fmt`` there:
    encoding every record in the one parent process held two workers back.
    """
    parallel = jobs > 1 and engine is None
    work: Callable[[list[Line]], list[Any]] = functools.partial(run_lines, strict=strict)
    lost: Callable[[list[Line], str], list[Any]] = lost_lines
    if parallel and fmt is not None and fmt in WRITTEN_FORMATS and not name_files:
        work, lost = functools.partial(run_written, strict=strict, fmt=fmt), functools.partial(lost_written, fmt=fmt)
    if parallel:
        from .workers import WorkerPool
    with WorkerPool(jobs, work, lost) if parallel else contextlib.nullcontext() as pool:
        for name, stream in inputs:
            reader = LineReader(stream)
            lines = numbered_lines(reader, on_read, first_line)
            dry = functools.partial(_dry, reader, stream)
            if engine is not None:
                records = engine(dry, lines, strict, on_wait)
            elif pool:
                records = _run_parallel(pool, dry, lines, on_wait)
            else:
                records = _run_serial(dry, lines, strict, on_wait)
            yield from with_file(name, records) if name_files else records


# --- --jobs N ------------------------------------------------------------------------


def _idle(stream: BinaryIO) -> bool:
    """True if reading ``stream`` now would wait (a pipe with nothing in it yet)."""
    try:
        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return False  # io.BytesIO and friends never wait
    return not ready


def _dry(reader: LineReader, stream: BinaryIO) -> bool:
    """True if the next line needs a read that would wait."""
    return not reader.buffered() and _idle(stream)


@contextlib.contextmanager
def few_collections(freeze: bool = False) -> Iterator[None]:
    """Jobs make no reference cycles, so the cyclic collector runs rarely while they do; as before after.

    About 10% of a batch of short jobs (bench_frontend). ``freeze``: what start-up
    built is never garbage either, so the collector stops walking it (the batch
    command; a --jobs worker forked from it inherits both). A Dask worker is
    not ours alone, so it gets the threshold for one chunk at a time.
    """
    threshold = gc.get_threshold()
    if freeze:
        gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:  # as it was for whoever runs this in-process (tests, CliRunner, a Dask worker's other tasks)
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*threshold)


def chunks(
    dry: Callable[[], bool], lines: Iterable[Line], jobs: Callable[[], int] | None = None
) -> Iterator[tuple[list[Line], bool]]:
    """Lines grouped for the workers, and whether the input then ran dry for now.

    At most ``jobs()`` lines a chunk, asked anew for every chunk (the Dask engine
    learns it from the answers); CHUNK by default.
    """
    limit = jobs or (lambda: CHUNK)
    chunk: list[Line] = []
    size = 0
    for item in lines:
        raw = item[1]
        if _skippable(raw):
            continue
        chunk.append(item)
        size += len(raw) if isinstance(raw, bytes) else 0
        idle = dry()
        if len(chunk) >= limit() or size >= CHUNK_BYTES or idle:
            yield chunk, idle
            chunk, size = [], 0
    if chunk:
        yield chunk, False


def _run_serial(
    dry: Callable[[], bool], lines: Iterable[Line], strict: bool, on_wait: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    """One line at a time, each answer yielded as soon as it is known."""
    for line in lines:
        yield from run_lines([line], strict)
        if dry():
            on_wait()


def _run_parallel(
    pool: WorkerPool, dry: Callable[[], bool], lines: Iterable[Line], on_wait: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    from .workers import Unit

    def start(chunk: list[Line]) -> Unit:
        unit = Unit(chunk)
        pool.submit(unit)
        pool.poll()
        return unit

    def finish(unit: Unit) -> list[dict[str, Any]]:
        pool.wait(unit)
        return unit.results()

    # At most a few units per worker are in flight, so a huge input is never
    # queued whole ahead of the workers.
    yield from in_order(chunks(dry, lines), start, Unit.done, finish, 3 * pool.size, on_wait, deque())


Handle = TypeVar("Handle")


def in_order(
    chunked: Iterable[tuple[list[Line], bool]],
    start: Callable[[list[Line]], Handle],
    done: Callable[[Handle], bool],
    finish: Callable[[Handle], list[dict[str, Any]]],
    window: int,
    on_wait: Callable[[], None],
    pending: deque[Handle],
) -> Iterator[dict[str, Any]]:
    """The answers to chunks run elsewhere (--jobs workers, a Dask cluster), in input order.

    ``start`` sends a chunk off, ``done`` says whether its answers are in,
    ``finish`` waits for them. At most ``window`` chunks are in flight; when
    the input runs dry, everything in hand is answered before reading on.
    ``on_wait`` runs before every wait. ``pending`` is the caller's, so that
    it can let go of what is still in flight if the reader stops early.
    """

    def answers() -> list[dict[str, Any]]:
        handle = pending.popleft()
        if not done(handle):
            on_wait()
        return finish(handle)

    for chunk, idle in chunked:
        pending.append(start(chunk))
        while pending and (idle or len(pending) >= window or done(pending[0])):
            yield from answers()
        if idle:
            on_wait()
    while pending:
        yield from answers()


def cpu_count() -> int:
    """Processes --jobs 0 means: every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
