"""Batch jobs on a Dask cluster: the same records as a serial run, from many machines.

Dask (``pip install 'autodiff-cli[dask]'``) is imported here only, and only
when a scheduler is asked for. The workers run ``batch.run_lines``, the very
function a --jobs worker runs, so every record is the one a serial run makes;
this module only decides what travels and in which order answers come back.

Lines go out in chunks (one Dask task each, so the scheduler's per-task cost is
shared by many jobs), at most a few chunks per worker thread in flight, so
memory stays flat however long the input. Answers are yielded chunk by chunk in
input order. A worker that dies has its chunk run again by Dask; a chunk Dask
gives up on (``KilledWorker``: it was running on too many workers that died) is
run again one job per task, and a job that still kills its workers becomes an
error record instead of stopping the batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import __version__
from .batch import Job, Line, chunks, few_collections, in_order, no_op, parse_job, run_job, run_lines
from .errors import INPUT, LIMIT, AutodiffError
from .lines import Overlong

__all__ = ["INSTALL_HINT", "DaskEngine", "connect", "missing"]

INSTALL_HINT = "--scheduler needs Dask: pip install 'autodiff-cli[dask]' (or: pip install 'dask[distributed]')"

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
ALLOWED_FAILURES = 1
# Our own LocalCluster's settings (its nannies carry them into the workers). Dask's statistical
# profiler samples every worker thread 100 times a second under the GIL the jobs hold, for a profile
# nobody reads (there is no dashboard): without it the scheduler's cost per job fell from 73 to 34 us
# (bench_distributed, local:1 against serial).
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    "distributed.worker.profile.enabled": False,
}
WORKER_WAIT = 60.0  # seconds for a first worker to join the scheduler
# Times a job alone must be given up on by Dask before it is declared the one that kills workers.
VERDICTS = 2
WATCH = 2.0  # seconds between looks at the workers while waiting for answers
CONNECT_TIMEOUT = "10s"

_LOCAL = re.compile(r"local(?::(\d+))?")
# A scheduler another process can reach: Dask's network schemes (tcp by default), a host, a port.
# Dask's own parser also takes a host without a port or inproc://, then fails inside Client(), whose
# half-made object waits 20 s to close and prints a traceback: so they are refused here, first.
_ADDRESS = re.compile(r"((tcp|tls|ws|wss)://)?([^\s/:\[\]]+|\[[0-9a-f:.]+\]):\d{1,5}", re.IGNORECASE)

Lines = list[Line]


def missing() -> str | None:
    """Why --scheduler cannot work here (how to install Dask), or None if it can."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def local_workers(scheduler: str) -> tuple[int, int] | None:
    """(workers asked, workers started) for ``local[:N]`` (every core for ``local``), None for an address.

    Workers are capped as --jobs caps them (``batch.worker_count``). Raises
    ValueError, saying what is expected, for anything that is neither.
    """
    match = _LOCAL.fullmatch(scheduler)
    if match:
        from .batch import worker_count

        asked = int(match.group(1) or 0)
        if match.group(1) is not None and asked < 1:
            raise ValueError("--scheduler local:N needs N >= 1 workers")
        return asked, worker_count(asked)
    if not _ADDRESS.fullmatch(scheduler):
        raise ValueError(f"--scheduler takes tcp://HOST:PORT or local[:N], not {scheduler!r}")
    return None


def _worker_version() -> str:
    return __version__


@contextlib.contextmanager
def connect(scheduler: str, worker_wait: float = WORKER_WAIT) -> Iterator[Any]:
    """A dask.distributed Client for ``scheduler``: an address, or ``local[:N]`` for a LocalCluster here.

    Raises AutodiffError(kind="input") when the scheduler cannot be reached, no
    worker joins it, or its workers do not run this version of autodiff: those
    are mistakes in the command, found before any job is read.
    """
    from distributed import Client, LocalCluster

    try:
        local = local_workers(scheduler)
    except ValueError as err:
        raise AutodiffError(INPUT, str(err)) from None
    workers = None if local is None else local[1]
    with contextlib.ExitStack() as stack:
        if workers is not None:
            from dask import config

            stack.enter_context(config.set(LOCAL_CONFIG))
            address: Any = stack.enter_context(
                LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers,
                    threads_per_worker=1,  # jobs hold the GIL: a process per core is what scales
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard, but the scheduler's HTTP server still starts: on a free loopback port.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.CRITICAL,  # stderr is for the summary: answers say what failed
                )
            )
        else:
            address = scheduler
        try:
            # Answers come straight from our own workers (on this machine), not relayed by the scheduler,
            # which shares this process with the writing of records; a remote cluster keeps Dask's default.
            direct = workers is not None
            client = stack.enter_context(
                Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False, direct_to_workers=direct)  # type: ignore[no-untyped-call]
            )
        except (OSError, TimeoutError, ValueError) as err:
            raise AutodiffError(INPUT, f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        _check_workers(client, scheduler, worker_wait)
        yield client


def _check_workers(client: Any, scheduler: str, worker_wait: float) -> None:
    """At least one worker, and one that runs this autodiff (else every job would fail alike)."""
    try:
        client.wait_for_workers(1, timeout=worker_wait)
    except TimeoutError:
        raise AutodiffError(INPUT, f"no Dask worker joined the scheduler at {scheduler} in {worker_wait:g} s") from None
    try:
        theirs = client.submit(_worker_version, pure=False).result(timeout=worker_wait)
    except Exception as err:  # the workers cannot even load autodiff
        raise AutodiffError(
            INPUT, f"the Dask workers cannot run autodiff ({type(err).__name__}: {err}): install it on every worker"
        ) from None
    if theirs != __version__:
        raise AutodiffError(INPUT, f"the Dask workers run autodiff {theirs}, this is {__version__}: install the same one")


class DaskEngine:
    """Runs the numbered lines of a batch on a Dask cluster; an ``Engine`` for ``batch.run_batch``."""

    def __init__(self, client: Any, chunk_jobs: int | None = None) -> None:
        """``chunk_jobs``: jobs per task, fixed; by default CHUNK_JOBS at first, then about CHUNK_SECONDS of work."""
        from distributed import LocalCluster

        self.client = client
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
        again; on another cluster, WORKER_WAIT seconds without a worker end the batch.
        """
        alone_since: float | None = None
        while True:
            try:
                return future.result(timeout=WATCH)
            except TimeoutError:
                pass
            if self.client.nthreads():
                alone_since = None
                continue
            now = time.monotonic()
            alone_since = alone_since or now
            if now - alone_since < (WATCH if self.workers else WORKER_WAIT):
                continue
            if not self.workers:
                raise AutodiffError(LIMIT, f"the Dask cluster has had no worker for {WORKER_WAIT:g} s")
            self.client.cluster.scale(0)
            self.client.cluster.scale(self.workers)
            alone_since = None


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
