"""The contract of the in-order loop and of the Dask engine, pinned with fakes: no processes, no cluster.

The batch writes answers in blocks (cli.output.LineWriter holds them) and
writes what it holds when told the producer is about to wait. So the loop
that runs chunks elsewhere (``batch.in_order``, used by the --jobs workers and
by the Dask engine) owes its reader three things, each checked here with
fakes whose every wait is visible: ``on_wait`` before every wait, each line
answered exactly once and in input order, and at most ``window`` chunks in
flight. The Dask engine's retries are checked with a fake client whose
futures raise ``KilledWorker`` on cue: a retried job keeps its real answer,
and the one-by-one fallback runs each job of a chunk once.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import batch
from autodiff_cli.batch import Line, in_order, run_lines

pytestmark = [pytest.mark.timeout(60), pytest.mark.contract]


class Ledger:
    """What the reader of the answers sees: how many were yielded, how many written (flushed) so far."""

    def __init__(self) -> None:
        self.yielded = 0
        self.flushed = 0
        self.waits = 0

    def on_wait(self) -> None:
        self.flushed = self.yielded

    def assert_all_written(self, what: str) -> None:
        assert self.flushed == self.yielded, f"{what} with {self.yielded - self.flushed} answers held back"


class Chunk:
    """A fake chunk in flight: done after ``polls`` looks at it, or when waited for."""

    def __init__(self, lines: list[Line], polls: int) -> None:
        self.lines = lines
        self.polls = polls
        self.finished = False

    def done(self) -> bool:
        self.polls -= 1
        return self.polls < 0


def run(chunked: Iterator[tuple[list[Line], bool]], delays: Iterator[int], window: int, ledger: Ledger) -> tuple[list[int], int]:
    """Drive ``in_order`` with fakes; the line numbers answered, in order, and the most chunks in flight."""
    pending: deque[Chunk] = deque()
    most = 0

    def start(lines: list[Line]) -> Chunk:
        nonlocal most
        chunk = Chunk(lines, next(delays))
        most = max(most, len(pending) + 1)
        return chunk

    def finish(chunk: Chunk) -> list[dict[str, Any]]:
        assert not chunk.finished, "a chunk's answers were taken twice"
        chunk.finished = True
        if chunk.polls >= 0:  # not done yet: finishing it means waiting for it
            ledger.waits += 1
            ledger.assert_all_written("waited for a chunk")
        return [{"line": number} for number, _ in chunk.lines]

    answered = []
    for record in in_order(chunked, start, Chunk.done, finish, window, ledger.on_wait, pending):
        ledger.yielded += 1
        answered.append(record["line"])
    return answered, most


def reading(chunk_sizes: list[int], dry_after: list[bool], ledger: Ledger) -> Iterator[tuple[list[Line], bool]]:
    """Chunks of numbered lines; after a chunk marked dry, reading on is a wait for input."""
    number = 0
    for size, dry in zip(chunk_sizes, dry_after, strict=True):
        lines: list[Line] = [(number + i + 1, b"x") for i in range(size)]
        number += size
        yield lines, dry
        if dry:  # the input ran dry: whatever was answered must be written before the read waits
            ledger.assert_all_written("read on after the input ran dry")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.booleans(), st.integers(-1, 4)), min_size=1, max_size=40),
    st.integers(1, 6),
)
def test_every_line_once_in_order_never_waiting_on_held_answers(chunks: list[tuple[int, bool, int]], window: int) -> None:
    ledger = Ledger()
    sizes, dry, delays = (list(column) for column in zip(*chunks, strict=True))
    answered, most = run(reading(sizes, dry, ledger), iter(delays), window, ledger)
    assert answered == list(range(1, sum(sizes) + 1))
    assert most <= window
    ledger.on_wait()  # the caller writes the rest at the end


def test_a_fast_chunk_is_written_before_the_wait_for_a_slow_one() -> None:
    # Two chunks from a file that never runs dry, the first done at once, the second slow: the first's
    # answers must reach the reader before the loop waits for the second.
    ledger = Ledger()
    answered, _ = run(reading([3, 1], [False, False], ledger), iter([-1, 10]), window=4, ledger=ledger)
    assert answered == [1, 2, 3, 4]
    assert ledger.waits == 1


def test_the_window_bounds_what_is_read_ahead_of_the_answers() -> None:
    ledger = Ledger()
    answered, most = run(reading([1] * 50, [False] * 50, ledger), iter([100] * 50), window=3, ledger=ledger)
    assert answered == list(range(1, 51))
    assert most == 3
    assert ledger.waits == 50


def test_run_parallel_writes_held_answers_before_each_wait_for_a_worker() -> None:
    # batch's own --jobs loop with a fake pool: the answers in hand are written before pool.wait.
    ledger = Ledger()
    waited: list[int] = []

    class Pool:
        size = 1

        def submit(self, unit: Any) -> None:
            self.unit = unit

        def poll(self) -> None:
            pass

        def wait(self, unit: Any) -> None:
            waited.append(unit.lines[0][0])
            ledger.assert_all_written("waited for a worker")
            unit.records = [{"line": number} for number, _ in unit.lines]

    lines: list[Line] = [(n, b"x") for n in range(1, 301)]
    out = []
    for record in batch._run_parallel(Pool(), lambda: False, iter(lines), ledger.on_wait):  # type: ignore[arg-type]
        ledger.yielded += 1
        out.append(record["line"])
    assert out == list(range(1, 301))
    assert len(waited) == 5  # 300 lines in chunks of batch.CHUNK


def test_serial_writes_what_it_answered_before_reading_input_that_would_wait() -> None:
    ledger = Ledger()
    dry_after = {2, 3, 7}  # reading the line after these would wait for input
    read: list[int] = []

    def lines() -> Iterator[Line]:
        for number in range(1, 10):
            if number - 1 in dry_after:
                ledger.assert_all_written(f"read line {number} after the input ran dry")
            read.append(number)
            yield number, f"x*{number} x=1".encode()

    out = []
    for record in batch._run_serial(lambda: read[-1] in dry_after, lines(), True, ledger.on_wait):
        ledger.yielded += 1
        out.append(record["value"])
    assert out == [float(n) for n in range(1, 10)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.booleans()), min_size=1, max_size=300), st.integers(1, 70))
def test_chunks_end_where_the_input_runs_dry_and_at_their_size(lines: list[tuple[int, bool]], size: int) -> None:
    # Each line: its length and whether the input runs dry right after it.
    numbered: list[Line] = [(n, b"x" * (length + 1)) for n, (length, _) in enumerate(lines, 1)]
    dry = {n for n, (_, idle) in enumerate(lines, 1) if idle}
    read: list[int] = []

    def reading() -> Iterator[Line]:
        for item in numbered:
            read.append(item[0])
            yield item

    got = list(batch.chunks(lambda: read[-1] in dry, reading(), lambda: size))
    assert [n for chunk, _ in got for n, _ in chunk] == [n for n, _ in numbered]  # every line once, in order
    for chunk, idle in got:
        last = chunk[-1][0]
        assert idle == (last in dry)
        assert all(n not in dry for n, _ in chunk[:-1])  # a dry input ends the chunk at once
        assert len(chunk) <= size


# --- the --jobs pool: a worker that dies --------------------------------------------------


def _work(lines: list[Line]) -> list[dict[str, Any]]:
    """A worker's work: ``die`` ends the process (every time), ``die-once:PATH`` only while PATH does not exist."""
    for _, raw in lines:
        text = raw.decode() if isinstance(raw, bytes) else ""
        if text == "die":
            os._exit(3)
        if text.startswith("die-once:"):
            flag = text.removeprefix("die-once:")
            if not os.path.exists(flag):
                open(flag, "w").close()
                os._exit(4)
    return [{"line": number, "answer": raw} for number, raw in lines]


def _lost(lines: list[Line], why: str) -> list[dict[str, Any]]:
    return [{"line": number, "error": why} for number, _ in lines]


def _pool_answers(lines: list[Line], unit_size: int, workers: int) -> list[dict[str, Any]]:
    from autodiff_cli.workers import Unit, WorkerPool

    with WorkerPool(workers, _work, _lost) as pool:
        units = [Unit(lines[i : i + unit_size]) for i in range(0, len(lines), unit_size)]
        for unit in units:
            pool.submit(unit)
        out = []
        for unit in units:
            pool.wait(unit)
            out.extend(unit.results())
    return out


def _answer_into(conn: Any, lines: list[Line], unit_size: int, workers: int) -> None:
    conn.send(_pool_answers(lines, unit_size, workers))


def pool_answers(lines: list[Line], unit_size: int, workers: int = 2, seconds: float = 10) -> list[dict[str, Any]]:
    """The pool's answers, from a process of their own: a pool that retries forever fails here in ``seconds``.

    (A pool looping on forks can outlast pytest-timeout's alarm; a process we can kill cannot.)
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_answer_into, args=(theirs, lines, unit_size, workers))  # it has children
    child.start()
    theirs.close()
    try:
        if not ours.poll(seconds):
            raise AssertionError(f"the pool gave no answer in {seconds:g} s (a job retried forever?)")
        answers: list[dict[str, Any]] = ours.recv()
        return answers
    finally:
        child.kill()
        child.join()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("unit_size", [1, 5])
def test_a_job_that_kills_its_worker_twice_is_the_only_one_lost(unit_size: int) -> None:
    lines: list[Line] = [(n, b"die" if n == 7 else f"job {n}".encode()) for n in range(1, 21)]
    records = pool_answers(lines, unit_size=unit_size)
    assert [r["line"] for r in records] == list(range(1, 21))
    assert records[6] == {"line": 7, "error": "status 3"}
    assert all(r == {"line": n, "answer": f"job {n}".encode()} for n, r in enumerate(records, 1) if n != 7)


@pytest.mark.timeout(20)
def test_a_job_whose_worker_died_once_keeps_its_real_answer(tmp_path: Any) -> None:
    # Alone in its unit and in a unit of several: the retry's answer is the one kept.
    for unit_size in (1, 4):
        flag = tmp_path / f"died-{unit_size}"
        once = f"die-once:{flag}".encode()
        lines: list[Line] = [(n, once if n == 3 else f"job {n}".encode()) for n in range(1, 9)]
        records = pool_answers(lines, unit_size=unit_size)
        assert flag.exists()  # it did die once
        assert records == [{"line": n, "answer": raw} for n, raw in lines]


# --- the Dask engine, with a fake client ------------------------------------------------

distributed = pytest.importorskip("distributed")
from autodiff_cli import distributed as engine_module  # noqa: E402


class Future:
    def __init__(self, outcome: Callable[[], Any]) -> None:
        self.outcome = outcome
        self.released = False

    def result(self, timeout: float | None = None) -> Any:
        return self.outcome()

    def done(self) -> bool:
        return True

    def release(self) -> None:
        self.released = True


class Client:
    """A fake dask Client: runs each chunk here, except that the jobs in ``kills`` raise KilledWorker.

    ``kills`` maps a line number to how many times a task holding it dies (-1: always).
    """

    def __init__(self, kills: dict[int, int]) -> None:
        self.kills = dict(kills)
        self.submitted: list[list[int]] = []

    def nthreads(self) -> dict[str, int]:
        return {"tcp://fake:1": 1}

    def submit(self, function: Callable[..., Any], lines: list[Line], strict: bool, pure: bool = True) -> Future:
        numbers = [number for number, _ in lines]
        self.submitted.append(numbers)
        killer = next((n for n in numbers if self.kills.get(n, 0) != 0), None)
        if killer is not None:
            self.kills[killer] -= 1

            def die() -> Any:
                raise distributed.KilledWorker(f"task with line {killer}", "tcp://fake:1", 1)

            return Future(die)
        return Future(lambda: function(lines, strict))


def jobs(count: int) -> list[Line]:
    return [(n, f"x*{n} x=2".encode()) for n in range(1, count + 1)]


def answer(client: Client, lines: list[Line], chunk_jobs: int) -> list[dict[str, Any]]:
    engine = engine_module.DaskEngine(client, chunk_jobs=chunk_jobs)
    return list(engine(lambda: False, iter(lines), True))


def test_a_one_job_chunk_killed_once_keeps_its_real_answer() -> None:
    client = Client({3: 1})
    records = answer(client, jobs(5), chunk_jobs=1)
    assert records == run_lines(jobs(5))  # line 3's real answer, not an error record
    assert client.submitted.count([3]) == 2


@pytest.mark.parametrize("chunk_jobs", [2, 3, 9])
def test_a_chunk_that_kills_workers_runs_each_job_once_alone(chunk_jobs: int) -> None:
    client = Client({4: -1})  # line 4 kills every worker that runs it
    records = answer(client, jobs(9), chunk_jobs=chunk_jobs)
    assert [r["line"] for r in records] == list(range(1, 10))
    for record, want in zip(records, run_lines(jobs(9)), strict=True):
        if record["line"] == 4:
            assert record["error"]["kind"] == "limit" and "worker" in record["error"]["message"]
        else:
            assert record == want
    first = (4 - 1) // chunk_jobs * chunk_jobs + 1
    shared = set(range(first, min(first + chunk_jobs, 10)))  # the jobs sent with the culprit
    for line in range(1, 10):
        runs = [numbers for numbers in client.submitted if line in numbers]
        if line == 4:
            assert runs == [sorted(shared)] + [[4]] * engine_module.VERDICTS
        elif line in shared:
            assert runs == [sorted(shared), [line]], line  # its chunk, then once alone
        else:
            assert len(runs) == 1, line


def test_a_chunk_killed_once_by_bad_luck_loses_and_repeats_nothing() -> None:
    client = Client({2: 1, 7: 1})
    records = answer(client, jobs(12), chunk_jobs=4)
    assert records == run_lines(jobs(12))


# --- end to end: a fast answer reaches a pipe while a slow job runs -----------------------


@pytest.mark.timeout(120)
def test_a_fast_answer_is_read_from_the_pipe_while_a_slow_job_runs(tmp_path: Any) -> None:
    # A file never runs dry, so nothing but the wait for the slow chunk can make the batch write the
    # fast answers early. The slow job is a program long enough to take seconds on any machine: once
    # the fast answers are read, nothing more may be there yet (held answers would come all at once).
    jobs_file = tmp_path / "jobs.txt"
    fast = "".join(f"x*{n} x=1\n" for n in range(1, batch.CHUNK + 1))
    slow = "+".join(["sin(x)*x"] * 100_000)
    jobs_file.write_text(f"{fast}{slow} x=1\n", encoding="utf-8")
    with open(jobs_file, "rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "autodiff_cli", "batch", "--json", "--jobs", "2", "-"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        got = b""
        while got.count(b"\n") < batch.CHUNK:
            block = os.read(fd, 1 << 16)
            assert block, "the batch ended before its fast answers were read"
            got += block
        answers = [json.loads(line) for line in got.split(b"\n")[: batch.CHUNK]]
        assert [a["value"] for a in answers] == [float(n) for n in range(1, batch.CHUNK + 1)]
        rest = got.split(b"\n", batch.CHUNK)[-1]
        ready, _, _ = select.select([fd], [], [], 0.3)
        assert not rest and not ready, "the fast answers came only with the slow one"
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
