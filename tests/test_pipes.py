"""Processes and pipes under load: --jobs never deadlocks, an ASCII stdout loses nothing, forks inherit no held lock.

Each attacks a class, not one input: worker pipes with answers far larger
than a pipe holds (long lines, many lines, many statements, a worker killed
mid-way), every output format and sweep on standard outputs that cannot take
Unicode, and forks taken while another thread is parsing and running programs.
References are the serial answers, ``json.dumps(ensure_ascii=True)``, the
codec's own '?' replacement, and values worked out by hand.
"""

from __future__ import annotations

import gc
import io
import math
import os
import signal
import threading
import time

import pytest

from autodiff_cli import compile_program, evaluate
from autodiff_cli.batch import run_batch

posix_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


# --- 3. forks never inherit a held lock ------------------------------------------------


def _busy_thread(stop: threading.Event) -> threading.Thread:
    """A thread that parses new programs and runs cached ones as fast as it can, as a server's worker would."""

    def loop() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            for a in (0.5, 1.5, 2.5):
                compile_program("tanh(a*b+c) + a^2").run({"a": a, "b": 3, "c": 1})
            evaluate(f"sin(x)*{k} + x^2", {"x": 0.25})  # a new program: the parser's lock too

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _reap(pids: list[int], seconds: float) -> dict[int, int]:
    """Each child's exit status, or -1 for one still running after ``seconds`` (it is then killed)."""
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    while len(statuses) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in statuses:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    statuses[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    for pid in pids:
        if pid not in statuses:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            statuses[pid] = -1
    return statuses


@posix_fork
@pytest.mark.timeout(90)
def test_children_forked_while_a_thread_runs_programs_each_answer_and_exit() -> None:
    # 40 of 40 such children hung before: a lock held by the busy thread stayed held in each.
    stop = threading.Event()
    thread = _busy_thread(stop)
    pids = []
    try:
        for i in range(32):
            time.sleep(0.003 * (i % 5))  # fork at many points of the thread's work
            pid = os.fork()
            if pid == 0:  # the child: the program the thread runs, and a new one to parse
                status = 1
                try:
                    a = 0.5 + i
                    t = math.tanh(3 * a + 1)
                    got = compile_program("tanh(a*b+c) + a^2").run({"a": a, "b": 3, "c": 1})
                    new = evaluate(f"x^3 + {i}", {"x": 2.0})
                    right = math.isclose(got.value, t + a * a, rel_tol=1e-12)
                    right &= math.isclose(got.gradients["a"], 3 * (1 - t * t) + 2 * a, rel_tol=1e-12)
                    right &= new.value == 8.0 + i and new.gradients == {"x": 12.0}
                    status = 0 if right and gc.isenabled() else 2
                finally:
                    os._exit(status)
            pids.append(pid)
    finally:
        stop.set()
        thread.join()
    statuses = _reap(pids, 30)
    assert sorted(statuses.values()) == [0] * len(pids), statuses  # -1: hung; 2: a wrong answer


@posix_fork
@pytest.mark.timeout(90)
def test_forked_worker_pools_started_while_a_thread_runs_programs_answer_every_job() -> None:
    stop = threading.Event()
    thread = _busy_thread(stop)
    data = "".join(f'"tanh(a*b+c) + a^2" a={i} b=3 c=1\n' for i in range(100)).encode()
    try:
        batches = [list(run_batch([("-", io.BytesIO(data))], jobs=3)) for _ in range(6)]  # 12 workers forked
    finally:
        stop.set()
        thread.join()
    for got in batches:
        assert [r["line"] for r in got] == list(range(1, 101))
        for i, record in enumerate(got):
            assert math.isclose(record["value"], math.tanh(3 * i + 1) + i * i, rel_tol=1e-12), record
