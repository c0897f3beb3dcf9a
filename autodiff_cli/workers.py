"""Worker processes for ``batch --jobs``: started as work arrives, replaced when one dies.

``multiprocessing.Pool`` waits forever for the answer of a worker that the
kernel killed (the OOM killer, a SIGKILL), and starts every worker at once
however little work there is. Here each worker has a pipe of its own and runs
the units sent to it in order, so when one dies the parent knows which unit
it was running and which it had not started. The unit it was running is run
again, a job at a time, so that the job that killed it is found; a job that
kills its worker a second time gets an error record instead of an answer.

A worker reads its pipe in a thread of its own, so that it never stops
reading. Its answers repeat its jobs' programs, so they are as large as the
unit it was sent; if it read only between units, the parent blocked sending
it the next unit and the worker blocked sending back the last one's answers
would each wait for the other forever (a few kB a line and --jobs 2 did it).
With the reader always draining, every ``send`` of the parent ends, and the
parent reads answers at every wait. Of the ways out this is the smallest: the
parent stays one thread with no partial writes to track, units still run in
the order sent (so the first unit a dead worker held is the one it was
running), and what a worker holds unread is bounded by the parent's window
of units in flight.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Unit", "WorkerPool"]

Lines = list[tuple[int, Any]]
Records = list[Any]  # a unit's answers: records (dicts), or the text a worker wrote of them (batch.Piece)


@dataclass(eq=False)
class Unit:
    """Numbered lines sent to one worker together, and their answers once in."""

    lines: Lines
    retried: bool = False
    records: Records | None = None
    parts: list[Unit] | None = None  # after a worker died running it: one unit per line

    def done(self) -> bool:
        if self.parts is not None:
            return all(part.done() for part in self.parts)
        return self.records is not None

    def results(self) -> Records:
        if self.parts is not None:
            return [record for part in self.parts for record in part.results()]
        assert self.records is not None
        return self.records


_END: Any = None
"""What the reader thread queues when the pipe ends: no more units will come."""


def _drain(conn: Any, units: queue.SimpleQueue[Any]) -> None:
    """Read units as they arrive, whatever the worker is doing, so the parent's ``send`` never waits on it."""
    try:
        while True:
            units.put(conn.recv())
    except (EOFError, OSError):
        units.put(_END)
    except Exception:
        os._exit(70)  # an unreadable unit: the parent runs it again elsewhere


def _serve(conn: Any, work: Callable[[Lines], Records], inherited: list[int]) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in inherited:  # the parent's ends of the pipes: held here, they would outlive a killed parent
        os.close(fd)
    units: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_drain, args=(conn, units), daemon=True).start()
    try:
        while (lines := units.get()) is not _END:
            conn.send(work(lines))
    except Exception:
        os._exit(70)  # the parent reports the lost jobs; a traceback here would only garble stderr


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Any
    held: deque[Unit] = field(default_factory=deque)  # sent, not yet answered, in the order sent


class WorkerPool:
    """At most ``size`` workers running ``work`` on units; ``lost`` answers a unit that killed two.

    ``lost(lines, why)`` gets the lines and why their worker ended (``signal 9``).
    """

    def __init__(self, size: int, work: Callable[[Lines], Records], lost: Callable[[Lines, str], Records]) -> None:
        self.size = size
        self.work = work
        self.lost = lost
        self.workers: list[_Worker] = []
        methods = multiprocessing.get_all_start_methods()
        self._context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.conn.close()
            worker.process.terminate()
        for worker in self.workers:
            worker.process.join()
        self.workers.clear()

    def submit(self, unit: Unit) -> None:
        """Send ``unit`` to an idle worker, a new one while there are fewer than ``size``, else the least busy."""
        worker = min(self.workers, key=lambda w: len(w.held), default=None)
        if worker is None or (worker.held and len(self.workers) < self.size):
            worker = self._start()
        worker.held.append(unit)
        try:
            worker.conn.send(unit.lines)
        except OSError:
            pass  # it is dead: _collect finds out and sends the unit elsewhere

    def wait(self, unit: Unit) -> None:
        """Collect answers until ``unit`` is done."""
        while not unit.done():
            self.poll(None)

    def poll(self, timeout: float | None = 0) -> None:
        """Collect the answers that have arrived (waiting up to ``timeout`` seconds for one)."""
        busy = [w for w in self.workers if w.held]
        if not busy:
            return
        waitables = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(multiprocessing.connection.wait(waitables, timeout))
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                self._collect(worker)

    def _start(self) -> _Worker:
        conn, child = self._context.Pipe()
        # A forked worker has a copy of every pipe end the parent holds (its own pipe's too): it closes
        # them, so that if the parent is killed, each worker's pipe ends and it exits instead of waiting.
        forked = self._context.get_start_method() == "fork"
        inherited = [*(w.conn.fileno() for w in self.workers), conn.fileno()] if forked else []
        process = self._context.Process(target=_serve, args=(child, self.work, inherited), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, conn)
        self.workers.append(worker)
        return worker

    def _collect(self, worker: _Worker) -> None:
        try:
            while worker.held and worker.conn.poll():
                records = worker.conn.recv()
                worker.held.popleft().records = records
        except (EOFError, OSError):
            pass
        else:
            if worker.process.is_alive():
                return
        self._bury(worker)

    def _bury(self, worker: _Worker) -> None:
        """A worker ended: the unit it was running is lost, the ones it had not started go elsewhere."""
        worker.process.join()
        worker.conn.close()
        self.workers.remove(worker)
        code = worker.process.exitcode or 0
        why = f"signal {-code}" if code < 0 else f"status {code}"
        if worker.held:
            self._retry(worker.held.popleft(), why)
        for unit in worker.held:
            self.submit(unit)

    def _retry(self, unit: Unit, why: str) -> None:
        if unit.retried:
            unit.records = self.lost(unit.lines, why)
        elif len(unit.lines) == 1:
            unit.retried = True
            self.submit(unit)
        else:
            unit.parts = [Unit([line], retried=True) for line in unit.lines]
            for part in unit.parts:
                self.submit(part)
