"""Batch jobs: read them one line at a time, run each, answer each in input order.

Nothing here prints. ``run_batch`` yields one record (a dict, the JSON the CLI
contract promises) per job as soon as the job is done, so output streams and
memory stays flat however long the input is. A job that cannot be read or run
becomes an error record; it never stops the jobs after it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import select
import shlex
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .bindings import as_number, check_bindings, parse_bindings
from .errors import INPUT, LIMIT, AutodiffError
from .program import compile_program
from .render.machine import error_record, result_record

__all__ = ["Job", "Report", "json_bindings", "parse_job", "run_batch", "run_job"]

# Jobs a worker gets at once with --jobs: enough to hide the cost of a round
# trip between processes, few enough that a slow pipe still streams.
CHUNK = 64

_ABSENT: Any = object()


@dataclass(frozen=True)
class Job:
    """One line of batch input: a program and its bindings, or why the line cannot be run."""

    line: int
    expr: str | None = None
    bindings: Mapping[str, float] = field(default_factory=dict)
    id: Any = _ABSENT
    error: AutodiffError | None = None


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


# --- reading one line ----------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON (RFC 8259)")


def _json_text(value: object) -> str:
    return json.dumps(value)[:40]


def finite_number(value: object, what: str) -> float:
    """A JSON number as a finite float64; booleans, strings and nulls are not numbers."""
    return as_number(value, what, _json_text)


def json_bindings(members: object, what: str) -> dict[str, float]:
    """A JSON object of name -> number as bindings, checked like NAME=VALUE arguments."""
    if not isinstance(members, dict):
        raise AutodiffError(INPUT, f"{what} must be an object of name: number")
    return check_bindings(members, f"{what} has a bad member", _json_text)


def load_json(text: str) -> Any:
    """Parse one line of RFC 8259 JSON, or raise AutodiffError(kind='input')."""
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise AutodiffError(INPUT, f"not valid JSON at column {err.colno}: {err.msg}") from None
    except ValueError as err:  # NaN, Infinity, or an integer too long to read
        raise AutodiffError(INPUT, f"not valid JSON: {err}") from None
    except RecursionError:
        raise AutodiffError(INPUT, "not valid JSON: nested too deeply") from None
    if "\\u" in text:
        # JSON may escape half a surrogate pair, which no UTF-8 output can hold.
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise AutodiffError(INPUT, "the line holds an unpaired surrogate escape (\\ud800-\\udfff)") from None
    return obj


def _json_job(line: int, text: str) -> Job:
    try:
        obj = load_json(text)
    except AutodiffError as err:
        return Job(line, error=err)
    if not isinstance(obj, dict):
        return Job(line, error=AutodiffError(INPUT, 'a JSON job must be an object: {"expr": "...", "vars": {...}}'))
    job_id = obj.get("id", _ABSENT)
    expr = obj.get("expr")
    if not isinstance(expr, str):
        why = 'no "expr" member' if expr is None else '"expr" must be a string'
        return Job(line, id=job_id, error=AutodiffError(INPUT, f"{why} (the program to run)"))
    try:
        bindings = json_bindings(obj.get("vars", {}), '"vars"')
    except AutodiffError as err:
        return Job(line, expr, id=job_id, error=err)
    return Job(line, expr, bindings, job_id)


def _shell_job(line: int, text: str) -> Job:
    try:
        args = shlex.split(text, comments=True)
    except ValueError as err:  # "No closing quotation", "No escaped character"
        return Job(line, error=AutodiffError(INPUT, f"cannot split the line as a shell would: {err}"))
    if not args:
        return Job(line, error=AutodiffError(INPUT, "no program on the line"))
    expr, *rest = args
    try:
        return Job(line, expr, parse_bindings(rest))
    except AutodiffError as err:
        return Job(line, expr, error=err)


def parse_job(line: int, raw: bytes) -> Job | None:
    """The job on one line of input, or None for a blank or comment line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return Job(line, error=AutodiffError(INPUT, f"the line is not valid UTF-8 (byte {err.start + 1})"))
    text = text.strip()
    if line == 1:
        text = text.removeprefix("\ufeff").lstrip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _json_job(line, text)
    return _shell_job(line, text)


# --- running jobs --------------------------------------------------------------------


def run_job(job: Job, strict: bool = True) -> dict[str, Any]:
    """The answer to one job: line, id, expr, then value and gradients or an error.

    Without ``strict``, inf and nan are answers rather than errors (--allow-nonfinite).
    """
    record: dict[str, Any] = {"line": job.line}
    if job.id is not _ABSENT:
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


def run_lines(lines: Iterable[tuple[int, bytes]], strict: bool = True) -> list[dict[str, Any]]:
    """Answers to numbered raw lines (the unit of work a --jobs worker gets)."""
    out = []
    for number, raw in lines:
        job = parse_job(number, raw)
        if job is not None:
            out.append(run_job(job, strict))
    return out


def _skippable(raw: bytes) -> bool:
    stripped = raw.strip()
    return not stripped or stripped.startswith(b"#")


def numbered_lines(stream: BinaryIO, on_read: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes]]:
    """Each line of ``stream`` with its 1-based number, read as it arrives (never all at once)."""
    for number, raw in enumerate(stream, 1):
        if on_read is not None:
            on_read(len(raw))
        yield number, raw


def run_batch(
    inputs: Iterable[tuple[str, BinaryIO]],
    jobs: int = 1,
    on_read: Callable[[int], None] | None = None,
    name_files: bool = False,
    strict: bool = True,
) -> Iterator[dict[str, Any]]:
    """One record per job of every input, in input order, each as soon as it is known.

    ``inputs`` are (name, binary stream) pairs; with ``name_files`` each record
    also says which input it came from. ``jobs`` > 1 runs jobs in that many
    worker processes, still answering in input order.
    """
    with _pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        for name, stream in inputs:
            lines = numbered_lines(stream, on_read)
            records = _run_parallel(pool, stream, lines, jobs, strict) if pool else _run_serial(lines, strict)
            for record in records:
                yield {"file": name, **record} if name_files else record


def _run_serial(lines: Iterable[tuple[int, bytes]], strict: bool) -> Iterator[dict[str, Any]]:
    for number, raw in lines:
        job = parse_job(number, raw)
        if job is not None:
            yield run_job(job, strict)


# --- --jobs N ------------------------------------------------------------------------


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _idle(stream: BinaryIO) -> bool:
    """True if reading ``stream`` now would wait (a pipe with nothing in it yet)."""
    try:
        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return False  # io.BytesIO and friends never wait
    return not ready


def _chunks(stream: BinaryIO, lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[list[tuple[int, bytes]], bool]]:
    """Lines grouped for the workers, and whether the input then ran dry for now."""
    chunk: list[tuple[int, bytes]] = []
    for item in lines:
        if _skippable(item[1]):
            continue
        chunk.append(item)
        idle = _idle(stream)
        if len(chunk) >= CHUNK or idle:
            yield chunk, idle
            chunk = []
    if chunk:
        yield chunk, False


def _pool(jobs: int) -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return context.Pool(jobs, initializer=_worker_init)


def _run_parallel(
    pool: Any, stream: BinaryIO, lines: Iterator[tuple[int, bytes]], jobs: int, strict: bool
) -> Iterator[dict[str, Any]]:
    # At most a few chunks per worker are in flight, so a huge input is never
    # queued whole (Pool.imap would read all of it ahead of the workers).
    window = 3 * jobs
    pending: deque[Any] = deque()
    for chunk, idle in _chunks(stream, lines):
        pending.append(pool.apply_async(run_lines, (chunk, strict)))
        # When the input runs dry, answer what is in hand before waiting for more.
        while pending and (idle or len(pending) >= window or pending[0].ready()):
            yield from pending.popleft().get()
    while pending:
        yield from pending.popleft().get()


def cpu_count() -> int:
    """Processes --jobs 0 means: every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
