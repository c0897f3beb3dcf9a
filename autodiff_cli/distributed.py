"""Batch jobs on a Dask cluster: the same records as a serial run, from many machines.

Dask (``pip install 'autodiff-cli[dask]'``) is imported here only, and only
when a scheduler is asked for. The workers run ``batch.run_lines``, the very
function a --jobs worker runs, so every record is the one a serial run makes;
this module only decides what travels and in which order answers come back.
A file every worker can read travels as byte ranges instead (distributed_files.py).

Lines go out in chunks (one Dask task each, so the scheduler's per-task cost is
shared by many jobs), at most a few chunks per worker thread in flight, so
memory stays flat however long the input. Answers are yielded chunk by chunk in
input order. A worker that dies has its chunk run again by Dask; a chunk Dask
gives up on (``KilledWorker``: it was running on too many workers that died) is
run again one job per task, and a job that still kills its workers becomes an
error record instead of stopping the batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import distributed_connect, distributed_files
from .batch import Line, chunks, few_collections, in_order, no_op, run_job, run_lines
from .distributed_connect import INSTALL_HINT, LOCAL_CONFIG, Tell, connect, missing, nobody, one_line
from .errors import CLUSTER, LIMIT, AutodiffError
from .job_lines import Job, parse_job
from .lines import Overlong
from .text import printable

__all__ = ["INSTALL_HINT", "DaskEngine", "connect", "missing"]

# Jobs per Dask task: a task costs the scheduler about a millisecond, a short
# job a tenth of that, so a chunk must hold hundreds of jobs to hide it; at most this many.
CHUNK_JOBS = 500
# Work per chunk the engine aims at once answers tell it how long jobs take: enough to hide the
# scheduler's cost, short enough that the last chunks do not leave workers idle at the end.
CHUNK_SECONDS = 0.1
MIN_CHUNK_JOBS = 8
# Chunks in flight per worker thread: one running, one queued, one on the way back.
IN_FLIGHT = 3
# Deaths of workers a task may witness before Dask gives up on it, in a LocalCluster we start
# (on a remote scheduler, its own setting, 3 by default). Then each job of it gets the same chances alone.
ALLOWED_FAILURES = LOCAL_CONFIG["distributed.scheduler.allowed-failures"]
# Times a job alone must be given up on by Dask before it is declared the one that kills workers.
VERDICTS = 2
WATCH = 2.0  # seconds between looks at the workers while waiting for answers

Lines = list[Line]


class DaskEngine:
    """Runs the numbered lines of a batch on a Dask cluster; an ``Engine`` for ``batch.run_batch``."""

    FILE_FORMATS = distributed_files.FORMATS  # what run_file's workers write themselves

    def __init__(self, client: Any, chunk_jobs: int | None = None, tell: Tell = nobody) -> None:
        """``chunk_jobs``: jobs per task, fixed; by default CHUNK_JOBS at first, then about CHUNK_SECONDS of work.

        ``tell`` hears what the batch waits for (a cluster left without workers).
        """
        from distributed import LocalCluster

        self.client = client
        self.tell = tell
        self.adapt = chunk_jobs is None
        self.chunk_jobs = chunk_jobs or CHUNK_JOBS
        # Workers of a LocalCluster in this process (which may be started again), else None.
        cluster = getattr(client, "cluster", None)
        self.workers = len(cluster.worker_spec) if isinstance(cluster, LocalCluster) else None
        threads = sum(client.nthreads().values()) or 1
        self.window = IN_FLIGHT * threads

    def __call__(
        self, dry: Callable[[], bool], lines: Iterable[Line], strict: bool, on_wait: Callable[[], None] = no_op
    ) -> Iterator[dict[str, Any]]:
        pending: deque[tuple[Lines, Any]] = deque()
        try:
            yield from in_order(
                chunks(dry, lines, lambda: self.chunk_jobs),
                lambda chunk: (chunk, self._submit(chunk, strict)),
                lambda sent: bool(sent[1].done()),
                lambda sent: self._answers(*sent, strict),
                self.window,
                on_wait,
                pending,
            )
        finally:
            for _, future in pending:
                future.release()

    def shared(self, path: str) -> str | None:
        """``path`` made absolute if every worker can read it as a file of its own (see distributed_files), else None."""
        full = distributed_files.shared_path(self.client, path)
        if full is None and path != "-":
            self.tell(f"autodiff: {printable(path)} is not the same file on every Dask worker: its lines are sent from here")
        return full

    def run_file(
        self, path: str, how: tuple[str, str | None], strict: bool, first_line: int = 1, on_wait: Callable[[], None] = no_op
    ) -> Iterator[distributed_files.Piece]:
        """The answers to the jobs of a file every worker reads (``shared``), range by range, as ``how`` writes them."""
        return distributed_files.run_file(self, path, how, strict, first_line, on_wait)

    def _submit(self, chunk: Lines, strict: bool) -> Any:
        return self.client.submit(_run_chunk, chunk, strict, pure=False)

    def _answers(self, chunk: Lines, future: Any, strict: bool, tries: int = VERDICTS) -> list[dict[str, Any]]:
        from distributed import KilledWorker

        try:
            answers: Answers = self._result(future)
            if self.adapt and answers.seconds > 0:
                jobs = round(len(chunk) * CHUNK_SECONDS / answers.seconds)
                self.chunk_jobs = max(MIN_CHUNK_JOBS, min(CHUNK_JOBS, jobs))
            return answers.records
        except KilledWorker:
            if len(chunk) > 1:
                return self._one_by_one(chunk, strict)
            if tries > 1:  # it may have shared a dying worker by bad luck: judge it again
                return self._answers(chunk, self._submit(chunk, strict), strict, tries - 1)
            return [_killer(*chunk[0], strict)]
        finally:
            future.release()

    def _one_by_one(self, chunk: Lines, strict: bool) -> list[dict[str, Any]]:
        """A chunk that kept killing workers, one job at a time: the culprit alone becomes an error.

        One at a time, so that no innocent job shares a dying worker with the culprit again and
        again (Dask counts every task on a worker that dies), at the price of a round trip per job.
        """
        out: list[dict[str, Any]] = []
        for item in chunk:
            out.extend(self._answers([item], self._submit([item], strict), strict))
        return out

    def _result(self, future: Any) -> Any:
        """``future.result()``, watching the workers meanwhile: a cluster left with none must not hang the batch.

        A worker that dies while its nanny is still starting it is not restarted, so a job
        that kills fresh workers can empty a cluster. A LocalCluster of ours is then started
        again; on another cluster, ``distributed_connect.WORKER_WAIT`` seconds without a worker end the batch. Any
        other failure of the cluster (its scheduler lost, a task that cannot run at all) ends
        it too, as an AutodiffError of kind "cluster": the caller says how far the batch got.
        """
        from distributed import KilledWorker

        alone_since: float | None = None
        wait = distributed_connect.WORKER_WAIT
        while True:
            try:
                try:
                    return future.result(timeout=WATCH)
                except TimeoutError:
                    pass
                threads = self.client.nthreads()
            except (KilledWorker, AutodiffError):
                raise
            except (Exception, asyncio.CancelledError) as err:  # the cluster, not a job, failed
                raise self._lost(err) from None
            if threads:
                alone_since = None
                continue
            now = time.monotonic()
            if alone_since is None:
                alone_since = now
                if not self.workers:
                    self.tell(f"autodiff: the Dask cluster has no worker left: waiting up to {wait:g} s for one")
            if now - alone_since < (WATCH if self.workers else wait):
                continue
            if not self.workers:
                raise AutodiffError(CLUSTER, f"the Dask cluster has had no worker for {wait:g} s")
            self.client.cluster.scale(0)
            self.client.cluster.scale(self.workers)
            alone_since = None

    def _lost(self, err: BaseException) -> AutodiffError:
        """What a failure of the cluster itself (not of a job) is called."""
        if getattr(self.client, "status", "running") != "running":
            return AutodiffError(CLUSTER, f"lost the Dask scheduler ({one_line(err)})")
        return AutodiffError(CLUSTER, f"the Dask cluster failed ({one_line(err)})")


class Answers:
    """A chunk's records as one object: Dask pickles it whole, where a bare list is sent record by record.

    Dask's serializer walks a list and frames every element on its own: a
    tenth of a worker's time on short jobs (py-spy, bench_distributed's light jobs).
    """

    __slots__ = ("records", "seconds")

    def __init__(self, records: list[dict[str, Any]], seconds: float) -> None:
        self.records = records
        self.seconds = seconds  # what the chunk took the worker: the engine sizes the next chunks by it

    def __reduce__(self) -> tuple[type[Answers], tuple[list[dict[str, Any]], float]]:
        return Answers, (self.records, self.seconds)


def _run_chunk(lines: Lines, strict: bool) -> Answers:
    """What a Dask worker runs: ``batch.run_lines``, the very function a --jobs worker runs."""
    start = time.perf_counter()
    with few_collections():  # as in a serial batch (a --jobs worker inherits it from the batch command)
        records = run_lines(lines, strict)
    return Answers(records, time.perf_counter() - start)


def _killer(number: int, raw: bytes | Overlong, strict: bool) -> dict[str, Any]:
    """The error record of a job that stopped every worker that ran it (out of memory, a crash)."""
    job = parse_job(number, raw) or Job(number)
    error = AutodiffError(LIMIT, "the job stopped every worker process that ran it (out of memory, or killed)")
    return run_job(dataclasses.replace(job, error=error), strict)
