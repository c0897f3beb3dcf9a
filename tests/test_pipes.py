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
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from autodiff_cli import batch, compile_program, evaluate
from autodiff_cli.batch import run_batch
from autodiff_cli.cli import main, streams
from autodiff_cli.cli.encoding import ascii_json
from autodiff_cli.cli.output import LineWriter

AUTODIFF = [sys.executable, "-m", "autodiff_cli"]

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


# --- 1. --jobs never deadlocks, whatever the size of lines and answers ----------------


def _sum_lines(terms: int, count: int) -> bytes:
    """``count`` jobs ``x+x+...+x`` (``terms`` of them) at x = 0, 1, ...: value terms*x, gradient terms."""
    program = "+".join(["x"] * terms)
    return "".join(f'"{program}" x={i}\n' for i in range(count)).encode()


def _statement_lines(statements: int, count: int) -> bytes:
    """JSON jobs of ``statements`` assignments each: a_k = x*k + 1, then a_0 + a_last."""
    body = "\n".join([f"a{k} = x*{k} + 1" for k in range(statements)] + [f"a0 + a{statements - 1}"])
    return "".join(json.dumps({"expr": body, "vars": {"x": i}, "id": i}) + "\n" for i in range(count)).encode()


def _answers(data: bytes, jobs: int) -> list[dict]:
    return list(run_batch([("-", io.BytesIO(data))], jobs=jobs))


# Each unit's answers repeat its programs, more than the ~200 kB a socket pair
# holds, and several units are in flight to each worker at once. Units are cut
# at 64 lines or 1 MiB; ``unit_bytes`` cuts the longest lines' units smaller,
# so that more of them are in flight.
SHAPES = [
    pytest.param(_sum_lines(2000, 200), 2000, 2, None, id="4kB-lines-x200-jobs2"),
    pytest.param(_sum_lines(12000, 60), 12000, 3, 300_000, id="24kB-lines-x60-jobs3"),
    pytest.param(_sum_lines(60000, 8), 60000, 2, 200_000, id="120kB-lines-x8-jobs2"),
    pytest.param(_sum_lines(30, 3000), 30, 4, None, id="short-lines-x3000-jobs4"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("data", "terms", "jobs", "unit_bytes"), SHAPES)
def test_long_lines_and_many_of_them_never_deadlock_the_workers(
    monkeypatch, data: bytes, terms: int, jobs: int, unit_bytes: int | None
) -> None:
    if unit_bytes:
        monkeypatch.setattr(batch, "CHUNK_BYTES", unit_bytes)
    got = _answers(data, jobs)
    assert got == _answers(data, 1)
    assert [(r["value"], r["gradients"]) for r in got] == [(float(terms * i), {"x": float(terms)}) for i in range(len(got))]


@pytest.mark.timeout(60)
def test_jobs_of_hundreds_of_statements_never_deadlock_the_workers() -> None:
    data = _statement_lines(300, 200)
    got = _answers(data, 2)
    assert got == _answers(data, 1)
    assert [(r["id"], r["value"], r["gradients"]) for r in got] == [(i, 299.0 * i + 2, {"x": 299.0}) for i in range(200)]


def _die_on(marker: str):  # type: ignore[no-untyped-def]
    """batch.run_job, but a job whose program is ``marker`` kills its worker (as the OOM killer would)."""
    original = batch.run_job

    def run_job(job, strict=True):  # type: ignore[no-untyped-def]
        if job.error is None and job.expr == marker:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(job, strict)

    return run_job


@pytest.mark.timeout(60)
def test_a_worker_killed_among_long_lines_loses_nothing_and_never_deadlocks(monkeypatch) -> None:
    # The dead worker's unit is run again a line at a time, and the units it had
    # not started go to the others: many sends, each answer far larger than a pipe.
    monkeypatch.setattr(batch, "run_job", _die_on("die"))  # workers are forked: they see it
    dead = {7, 130, 131, 250}
    program = "+".join(["x"] * 2000)
    lines = ["die" if i in dead else f'"{program}" x={i}' for i in range(1, 301)]
    got = _answers(("\n".join(lines) + "\n").encode(), 3)
    assert [r["line"] for r in got] == list(range(1, 301))
    for i, record in enumerate(got, 1):
        if i in dead:
            assert record["error"]["message"] == "the worker running this job died twice (signal 9); it was not run again"
        else:
            assert (record["value"], record["gradients"]) == (2000.0 * i, {"x": 2000.0}), i


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] in ("Z", "X")  # ended, not yet reaped
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"), reason="Linux /proc")
@pytest.mark.timeout(60)
def test_workers_of_a_killed_batch_exit_instead_of_waiting_forever(tmp_path) -> None:
    # Each worker held a copy of the parent's end of the others' pipes: a worker
    # sending answers to a parent killed by SIGKILL waited for a reader that never came.
    jobs = tmp_path / "jobs.txt"
    jobs.write_bytes(_sum_lines(3000, 400))
    parent = subprocess.Popen([*AUTODIFF, "batch", str(jobs), "--jobs", "3", "--json"], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while len(workers := _children(parent.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # answers far larger than the pipes hold are on their way, nobody reads stdout
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    assert len(workers) == 3
    deadline = time.monotonic() + 20
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if not _gone(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "workers still running after their parent was killed"


# --- 2. a standard output that cannot take Unicode loses nothing -------------------------


# Thousands of jobs, so that answers are held and written in blocks, with names,
# ids and programs past ASCII (two bytes, an astral character) among them.
def _non_ascii_jobs(before: int, after: int) -> str:
    return (
        "".join(f'"x*{i}" x=1\n' for i in range(before))
        + '"θ*2" θ=1\n'
        + json.dumps({"expr": "x*φ", "vars": {"x": 2, "φ": 3}, "id": "é😀"}, ensure_ascii=False)
        + "\n"
        + "".join(f'"y+{i}" y=2\n' for i in range(after))
    )


NON_ASCII_JOBS = _non_ascii_jobs(3000, 2000)
FORMATS = {"json": ["--json"], "jsonl": ["-f", "jsonl"], "csv": ["-f", "csv"], "text": []}


def _invoke(args: list[str], charset: str, input: str | None = None) -> tuple[int, str]:
    data = None if input is None else input.encode("utf-8")  # input is UTF-8, whatever stdout takes
    result = CliRunner(charset=charset).invoke(main, args, input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def _fits(unicode_out: str, fmt: str) -> str:
    """The reference: each JSON line as json.dumps(ensure_ascii=True) writes it; anything else as the codec's '?'."""
    if fmt in ("json", "jsonl"):
        return "".join(json.dumps(json.loads(line), ensure_ascii=True) + "\n" for line in unicode_out.splitlines())
    return unicode_out.encode("ascii", "replace").decode("ascii")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_batch_format_on_an_ascii_stdout_writes_every_answer(fmt: str, jobs: str) -> None:
    # An ASCII stdout failed the block holding the first θ: 4,716 of 5,000 answers written.
    args = ["batch", "-q", *FORMATS[fmt], "--jobs", jobs]
    before, after = (600, 400) if fmt == "text" else (3000, 2000)  # a table's answer is 160 characters, not 60
    data = _non_ascii_jobs(before, after)
    status, out = _invoke(args, "ascii", data)
    _, reference = _invoke(args, "utf-8", data)
    assert status == 0 and out.isascii()
    assert out == _fits(reference, fmt)
    numbers = re.findall(r"(?m)^ +(\d+)  " if fmt == "text" else r'(?m)^(?:\{"line": )?(\d+)\b', out)
    assert numbers == [str(n) for n in range(1, before + after + 3)]  # one answer a job, in order


SWEEPS = {
    "ranges": (["eval", "θ*φ + 1", "θ=0:1:0.0004", "φ=-1:1:1"], None, 2501 * 3),
    "rows": (["eval", "θ*φ + 1", "--rows", "-", "--keep", "θ"], "θ,φ\n" + "".join(f"{i},{-i}\n" for i in range(6000)), 6000),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("sweep", list(SWEEPS))
def test_every_sweep_on_an_ascii_stdout_writes_every_row(sweep: str, fmt: str) -> None:
    args, rows, count = SWEEPS[sweep]
    args = [*args, "-f", fmt]
    status, out = _invoke(args, "ascii", rows)
    _, reference = _invoke(args, "utf-8", rows)
    assert status == 0 and out.isascii() and "θ" in reference
    assert out == _fits(reference, fmt)
    assert len(out.splitlines()) == count + (fmt == "csv")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "env",
    [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}],
    ids=["ioencoding", "C-locale"],
)
def test_a_real_ascii_stdout_gets_every_answer_from_batch_and_sweeps(tmp_path, env: dict[str, str]) -> None:
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(NON_ASCII_JOBS, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LANG", "LC_", "PYTHONIO", "PYTHONUTF8"))}
    runs = [
        (["batch", str(jobs), "--json", "--jobs", "2"], "json"),
        (["batch", str(jobs), "-f", "csv"], "csv"),
        (["eval", "θ*2", "θ=0:1:0.001", "-f", "jsonl"], "jsonl"),  # under LC_ALL=C, argv too is UTF-8 read as ASCII
        (["eval", "θ*2", "θ=0:1:0.001"], "csv"),
    ]
    for args, fmt in runs:
        got = subprocess.run([*AUTODIFF, *args, "-q"], env={**environ, **env}, capture_output=True, timeout=50)
        _, reference = _invoke([*args, "-q"], "utf-8")
        assert got.returncode == 0 and got.stderr == b"", (args, got.stderr)
        assert got.stdout.decode("ascii") == _fits(reference, fmt), args


@pytest.mark.parametrize(
    "args",
    [["eval", "θ*φ", "θ=2", "φ=3", "--json"], ["explain", "sin(θ)", "θ=1", "--json"], ["diff", "tanh(é*θ)", "--json"]],
)
def test_one_json_answer_on_an_ascii_stdout_is_ascii_json_too(args: list[str]) -> None:
    status, out = _invoke(args, "ascii")
    _, reference = _invoke(args, "utf-8")
    assert status == 0 and "\\u" in out
    assert out == _fits(reference, "json")


def _holding_writer_to(monkeypatch, stream: io.TextIOWrapper, lines: list[str]) -> tuple[int, BaseException | None]:
    """Write ``lines`` through a holding LineWriter into ``stream``; the lines it counted, and what it raised."""
    monkeypatch.setattr(sys, "stdout", stream)
    counted = [0]

    def count() -> None:
        counted[0] += 1

    raised = None
    try:
        with LineWriter(hold=True) as out:
            for line in lines:
                out.write(line, count)
    except Exception as err:
        raised = err
    return counted[0], raised


def test_a_line_no_codec_can_take_is_written_with_a_question_mark_and_loses_no_held_line(monkeypatch) -> None:
    lines = [f"{i}\n" for i in range(3000)] + ["\udcff.txt\n"] + [f"{i}\n" for i in range(1000)]  # a file name's stray byte
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict", write_through=True)
    counted, raised = _holding_writer_to(monkeypatch, stream, lines)
    assert raised is None and counted == 4001
    assert buffer.getvalue().decode("utf-8") == "".join(lines).replace("\udcff", "?")


class FullAfter(io.RawIOBase):
    """A device that takes ``room`` bytes, the last of them by a short write, then fails with ENOSPC (a full disk)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.taken = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        left = self.room - len(self.taken)
        if left <= 0:
            raise OSError(28, "No space left on device")
        self.taken += bytes(data[:left])
        return min(left, len(data))


@pytest.mark.parametrize("room", [0, 100_000, 300_000])
def test_after_a_write_error_the_count_is_exactly_the_lines_written(monkeypatch, room: int) -> None:
    device = FullAfter(room)
    stream = io.TextIOWrapper(io.BufferedWriter(device, 8192), encoding="utf-8", write_through=True)
    lines = [f'{{"line": {i}, "value": {i * 0.5}}}\n' for i in range(20_000)]
    counted, raised = _holding_writer_to(monkeypatch, stream, lines)
    assert isinstance(raised, OSError) and raised.errno == 28
    written = bytes(device.taken).decode()
    counted_text = "".join(lines[:counted])
    assert written.startswith(counted_text)  # each line counted was written whole, in order
    assert len(written) - len(counted_text) <= LineWriter.HOLD_CHARS + 40  # at most the block the disk cut short
    assert counted < len(lines)


@pytest.mark.timeout(60)
def test_an_error_in_the_producer_still_writes_every_answer_held(monkeypatch) -> None:
    real = streams.run_batch

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        records = real(*args, **kwargs)
        for _ in range(3000):
            yield next(records)
        raise RuntimeError("a bug in the producer")

    monkeypatch.setattr(streams, "run_batch", failing)
    status, out = _invoke(["batch", "--json"], "utf-8", "".join(f'"x*{i}" x=1\n' for i in range(5000)))
    assert status == 1
    assert [json.loads(line)["value"] for line in out.splitlines()] == [float(i) for i in range(3000)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES | st.just({"\ud800": "\udcff\U0001f600"}))
def test_ascii_json_is_exactly_what_json_dumps_ensure_ascii_writes(value: object) -> None:
    assert ascii_json(json.dumps(value, ensure_ascii=False)) == json.dumps(value, ensure_ascii=True)
