"""Hostile input for `batch`, sweeps and the standard streams: one bad job never stops the rest.

Each test feeds something a careless or hostile producer could send (ids that
cannot be echoed, duplicate JSON members, lone CRs, lines with no end, a
worker killed by the kernel, closed or full standard streams) and checks that
every line still gets exactly one record, in order, with the values a hand
computation gives, and that time and memory stay bounded.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from autodiff_cli import batch, shellwords
from autodiff_cli.batch import run_batch, worker_count
from autodiff_cli.cli import main
from autodiff_cli.lines import LineReader, Overlong, text_blocks
from autodiff_cli.workers import WorkerPool

AUTODIFF = [sys.executable, "-m", "autodiff_cli"]


def run(args: list[str], input: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def answers(data: bytes, jobs: int = 1) -> list[dict]:
    return list(run_batch([("-", io.BytesIO(data))], jobs=jobs))


def shell(argv: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``argv`` run by sh (for redirections such as ``>&-``), with this Python's autodiff."""
    command = argv.replace("autodiff ", " ".join(map(shlex.quote, AUTODIFF)) + " ")
    return subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, timeout=timeout)


class Zeros(io.RawIOBase):
    """``size`` NUL bytes with no line end (a bounded /dev/zero), then ``tail``."""

    def __init__(self, size: int, tail: bytes = b"") -> None:
        self.left = size
        self.tail = tail

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1) -> bytes:
        if self.left > 0:
            k = min(n, self.left)
            self.left -= k
            return bytes(k)
        out, self.tail = self.tail[:n], self.tail[n:]
        return out

    read = read1


# --- 1. ids that cannot be echoed -----------------------------------------------------


@pytest.mark.parametrize("job_id", ["1e400", "-1e400", "[" * 65 + "]" * 65, "[" * 600 + "]" * 600])
@pytest.mark.parametrize("jobs", [1, 2])
def test_an_id_that_cannot_be_echoed_is_an_input_error_for_its_line_only(job_id: str, jobs: int) -> None:
    # 1e400 reads as inf (json.dumps then refused it and the whole run died);
    # 600 levels could not be pickled back from a worker with --jobs 2.
    data = f'{{"id": {job_id}, "expr": "x*3", "vars": {{"x": 2}}}}\n{{"id": 7, "expr": "x*x", "vars": {{"x": 5}}}}\n'
    status, out, err = run(["batch", "--json", "--jobs", str(jobs)], data)
    first, second = records(out)
    assert first["line"] == 1 and first["error"]["kind"] == "input" and '"id"' in first["error"]["message"]
    assert "id" not in first and "value" not in first
    assert second == {"line": 2, "id": 7, "expr": "x*x", "value": 25.0, "gradients": {"x": 10.0}}
    assert status == 1 and "internal error" not in err


@pytest.mark.parametrize(
    "job_id",
    [
        '"caf\\u00e9 \\ud83d\\ude00"',
        "12345678901234567890123456789",
        "null",
        "true",
        "-0.5",
        '{"a": [1, {"b": null}]}',
        "[" * 64 + "]" * 64,
    ],
)
def test_an_id_that_can_be_echoed_comes_back_as_it_was_read(job_id: str) -> None:
    data = f'{{"expr": "x", "vars": {{"x": 1}}, "id": {job_id}}}\n'
    for jobs in ("1", "2"):
        _, out, _ = run(["batch", "--json", "--jobs", jobs], data)
        (record,) = records(out)
        assert record["id"] == json.loads(job_id) and record["value"] == 1.0


def test_a_number_with_too_many_digits_is_an_input_error_that_names_no_python_internals() -> None:
    data = '{"id": 1' + "0" * 5000 + ', "expr": "x", "vars": {"x": 1}}\n"x+1" x=1\n'
    status, out, _ = run(["batch", "--json"], data)
    first, second = records(out)
    assert first["error"] == {"kind": "input", "message": "not valid JSON: a number has too many digits"}
    assert second["value"] == 2.0 and status == 1


# --- 2. a worker killed by the kernel -------------------------------------------------


def _die_or_sleep(original):  # type: ignore[no-untyped-def]
    def run_job(job, strict=True):  # type: ignore[no-untyped-def]
        if job.error is None and job.expr == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if job.error is None and job.expr == "nap":
            time.sleep(0.3)
        return original(job, strict)

    return run_job


@pytest.mark.timeout(60)
def test_a_job_that_kills_its_worker_twice_is_a_limit_error_and_the_rest_are_answered(monkeypatch) -> None:
    monkeypatch.setattr(batch, "run_job", _die_or_sleep(batch.run_job))  # workers are forked: they see it
    lines = ["die" if i in (5, 70, 71, 300) else f'"x*{i}" x=1' for i in range(1, 401)]
    got = answers(("\n".join(lines) + "\n").encode(), jobs=2)
    assert [r["line"] for r in got] == list(range(1, 401))
    for i, record in enumerate(got, 1):
        if i in (5, 70, 71, 300):
            assert record["error"]["kind"] == "limit"
            assert record["error"]["message"] == "the worker running this job died twice (signal 9); it was not run again"
        else:
            assert record["value"] == float(i), record


class KillAWorker(io.RawIOBase):
    """Jobs that take a while; after 40 lines, SIGKILL goes to a worker (as the OOM killer would)."""

    def __init__(self, n: int, workers: list[int]) -> None:
        self.lines = [b"nap nap=1\n" if i % 10 == 0 else f'"x+{i}" x=0\n'.encode() for i in range(1, n + 1)]
        self.workers = workers
        self.killed: int | None = None

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if len(self.lines) == 20 and self.killed is None:
            time.sleep(0.2)  # a nap is under way in a worker now
            self.killed = self.workers[0]
            os.kill(self.killed, signal.SIGKILL)
        return self.lines.pop(0) if self.lines else b""

    read = read1


@pytest.mark.timeout(60)
def test_a_worker_killed_from_outside_loses_no_job(monkeypatch) -> None:
    # multiprocessing.Pool waited for the dead worker's answer forever.
    monkeypatch.setattr(batch, "run_job", _die_or_sleep(batch.run_job))
    monkeypatch.setattr(batch, "CHUNK", 5)  # units go out as the lines come, not all at the end
    pids: list[int] = []
    real_start = WorkerPool._start

    def start(self):  # type: ignore[no-untyped-def]
        worker = real_start(self)
        pids.append(worker.process.pid)
        return worker

    monkeypatch.setattr(WorkerPool, "_start", start)
    stream = KillAWorker(60, pids)
    got = list(run_batch([("-", stream)], jobs=2))
    assert stream.killed is not None and len(pids) >= 3  # the dead one was replaced
    assert [r["line"] for r in got] == list(range(1, 61))
    assert [r["value"] for r in got] == [1.0 if i % 10 == 0 else float(i) for i in range(1, 61)]


# --- 3. --jobs N ----------------------------------------------------------------------


def test_jobs_are_capped_at_four_workers_per_core_and_started_as_work_arrives(monkeypatch) -> None:
    cores = batch.cpu_count()
    assert worker_count(1000) == 4 * cores and worker_count(0) == cores and worker_count(3) == min(3, 4 * cores)
    started: list[int] = []
    real_start = WorkerPool._start

    def counting_start(self):  # type: ignore[no-untyped-def]
        started.append(1)
        return real_start(self)

    monkeypatch.setattr(WorkerPool, "_start", counting_start)
    assert answers(b'"x^2" x=3\n', jobs=1000)[0]["value"] == 9.0
    assert len(started) == 1  # multiprocessing.Pool started all 1,000 (4 s and 2 GB)


def test_jobs_past_the_cap_say_so_on_stderr_unless_quiet() -> None:
    status, out, err = run(["batch", "--json", "--jobs", "1000"], '"x^2" x=3\n')
    assert records(out)[0]["value"] == 9.0 and status == 0
    assert f"running at most {4 * batch.cpu_count()} workers" in err
    _, _, err = run(["batch", "--json", "--jobs", "1000", "--quiet"], '"x^2" x=3\n')
    assert err == ""


# --- 4. line ends ---------------------------------------------------------------------


def test_lone_cr_crlf_and_lf_each_end_one_line_in_batch() -> None:
    data = b'"x" x=1\r"x" x=2\r\n"x" x=3\n\r{"expr": "x", "vars": {"x": 4}}\r"x" x=5'
    got = answers(data)
    # bytes.splitlines ends lines at exactly \r, \n and \r\n: the independent reference.
    numbered = [i for i, line in enumerate(data.splitlines(), 1) if line.strip()]
    assert [r["line"] for r in got] == numbered == [1, 2, 3, 5, 6]
    assert [r["value"] for r in got] == [1.0, 2.0, 3.0, 4.0, 5.0]


@given(st.binary(max_size=60).map(lambda b: bytes(b"ab\r\n"[x % 4] for x in b)), st.integers(1, 8))
def test_line_numbers_do_not_depend_on_where_reads_cut_the_input(data: bytes, read_bytes: int) -> None:
    got = list(LineReader(io.BytesIO(data), read_bytes=read_bytes))
    assert [line for _, line in got] == data.splitlines()
    assert [n for n, _ in got] == list(range(1, len(got) + 1))


@pytest.mark.parametrize("rows", [b"x,y\r1,2\r3,4\r", b'{"x": 1, "y": 2}\r{"x": 3, "y": 4}\r', b"x,y\r\n1,2\r3,4\n"])
def test_lone_cr_ends_rows_of_a_sweep(rows: bytes) -> None:
    status, out, _ = run(["eval", "x*y", "--rows", "-", "-f", "jsonl"], rows)
    assert [(r["row"], r["value"]) for r in records(out)] == [(1, 2.0), (2, 12.0)] and status == 0


# --- 5 and 10. duplicate members, bad cells -------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"expr": "a", "vars": {"a": 1, "a": 2}}',
        '{"expr": "a", "expr": "a+1", "vars": {"a": 1}}',
        '{"id": 1, "id": 2, "expr": "a", "vars": {"a": 1}}',
        '{"id": {"k": 1, "k": 1}, "expr": "a", "vars": {"a": 1}}',
    ],
)
def test_a_member_named_twice_is_an_input_error(line: str) -> None:
    status, out, _ = run(["batch", "--json"], line + '\n"b*2" b=4\n')
    first, second = records(out)
    assert first["error"]["kind"] == "input" and "appears twice" in first["error"]["message"]
    assert second["value"] == 8.0 and status == 1


@pytest.mark.parametrize(
    "bad",
    [
        b'{"x": 1, "x": 2}',
        b'{"x": 1e400}',
        b'{"x": 1' + b"0" * 5000 + b"}",
        b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"x": "3"}',
        b'{"x": 2, "id": 1e400}',
    ],
)
def test_a_bad_json_row_is_a_row_error_and_the_sweep_goes_on(bad: bytes) -> None:
    status, out, _ = run(["eval", "x^2", "--rows", "-", "-f", "jsonl"], b'{"x": 3}\n' + bad + b'\n{"x": 5}\n')
    got = records(out)
    assert [r["row"] for r in got] == [1, 2, 3] and status == 1
    assert got[0]["value"] == 9.0 and got[1]["error"]["kind"] == "input" and got[2]["value"] == 25.0


@pytest.mark.parametrize("cell", [b"1\x1f", b"\x1c2", b"1" + b"0" * 5000, b"nan", b"1e400", b"\xff"])
def test_a_bad_csv_cell_is_a_row_error_and_the_sweep_goes_on(cell: bytes) -> None:
    status, out, _ = run(["eval", "x^2", "--rows", "-", "-f", "jsonl"], b"x\n3\n" + cell + b"\n5\n")
    got = records(out)
    assert [r["row"] for r in got] == [1, 2, 3] and status == 1
    assert got[0]["value"] == 9.0 and "error" in got[1] and got[2]["value"] == 25.0


# --- 6. counts after an interrupt -----------------------------------------------------


def _feed(pipe: Any, pieces: Iterable[bytes]) -> None:
    """Write to a child's standard input until done or until the child stops reading."""
    try:
        for piece in pieces:
            pipe.write(piece)
        pipe.close()
    except (BrokenPipeError, ValueError):
        pass


def _interrupted(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run autodiff, read all it writes, SIGINT it once it is under way; (status, stdout, stderr)."""
    proc = subprocess.Popen([*AUTODIFF, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(1 << 16), b"")))  # type: ignore[union-attr]
    reader.start()
    assert proc.stdin is not None
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, [stdin]), daemon=True).start()
    while sum(map(len, chunks)) < 200_000:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    reader.join(60)
    err = proc.stderr.read().decode()  # type: ignore[union-attr]
    return proc.wait(60), b"".join(chunks).decode(), err


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_after_an_interrupt_the_sweep_summary_counts_the_rows_written() -> None:
    # It counted a block of 4,096 rows that was computed but never written.
    for _ in range(3):
        status, out, err = _interrupted(["eval", "x*2", "x=0:5000000:1", "-f", "csv"])
        written = len(out.splitlines()) - 1  # the header
        match = re.fullmatch(r"autodiff: (\d+) rows ok, 0 failed \(interrupted\)\n", err)
        assert status == 130 and match, err
        assert int(match.group(1)) == written


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_after_an_interrupt_the_batch_summary_counts_the_records_written() -> None:
    status, out, err = _interrupted(["batch", "--json"], b'"x*2" x=1\n' * 300_000)
    assert status == 130
    assert err == f"{len(out.splitlines())} ok, 0 failed (interrupted)\n"


# --- 7. shell quoting -----------------------------------------------------------------


@given(st.text(alphabet=" \t\r\n'\"\\#ab=é\x1f", max_size=40))
def test_the_shell_splitter_agrees_with_shlex(text: str) -> None:
    try:
        want: object = shlex.split(text, comments=True)
    except ValueError as err:
        want = ("error", str(err))
    try:
        got: object = shellwords.split(text)
    except ValueError as err:
        got = ("error", str(err))
    assert got == want


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_4_mb_shell_quoted_line_takes_linear_time() -> None:
    # shlex.split grows one string a character at a time: the square of the
    # length (3 s for 400 kB in one word, minutes for 4 MB).
    program = "x+" * 2_000_000 + "x"
    start = time.process_time()
    words = shellwords.split(f'"{program}" x=1 ' + " ".join(f"'a{i}'=1" for i in range(200_000)))
    assert time.process_time() - start < 5
    assert words == [program, "x=1", *(f"a{i}=1" for i in range(200_000))]
    status, out, _ = run(["batch", "--json"], f'"{program}" x=1\n"x" x=1\n')
    first, second = records(out)
    assert first["error"]["kind"] == "limit" and "4,000,001 characters" in first["error"]["message"]
    assert second["value"] == 1.0 and status == 1


# --- 8. input with no line end --------------------------------------------------------


def test_a_line_without_end_is_never_held_whole() -> None:
    tracemalloc.start()
    try:
        got = list(LineReader(Zeros(50_000_000, b"\nnext\n"), limit=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [(1, Overlong(50_000_000, 1_000_000)), (2, b"next")]
    assert peak < 3_000_000


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_an_overlong_batch_line_is_a_limit_error_and_the_batch_goes_on() -> None:
    tracemalloc.start()
    try:
        got = list(run_batch([("-", Zeros(40_000_000, b'\r\n"x+1" x=1\n'))]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got[0] == {
        "line": 1,
        "error": {"kind": "limit", "message": "the line has 40,000,000 bytes; a line has at most 16,000,000"},
    }
    assert got[1]["line"] == 2 and got[1]["value"] == 2.0
    assert peak < 20_000_000  # the limit, and not the 40 MB of the line


def test_an_overlong_row_is_a_limit_error_and_the_sweep_goes_on() -> None:
    blocks = list(text_blocks(Zeros(3_000_000, b"\n4\n"), limit=1_000_000))
    assert blocks[0] == "\ud8003000000\n"
    status, out, _ = run(["eval", "x^2", "--rows", "-", "-f", "jsonl"], b"x\n3\n" + bytes(17_000_000) + b"\n5\n")
    got = records(out)
    assert got[0]["value"] == 9.0 and got[2]["value"] == 25.0 and status == 1
    assert got[1]["error"] == {"kind": "limit", "message": "the line has 17,000,000 bytes; a line has at most 16,000,000"}


def _max_rss_kib(args: list[str], feed: Iterator[bytes]) -> tuple[int, bytes, int]:
    """Run autodiff in a child Python that reports its own peak memory; (status, stdout, KiB)."""
    code = (
        "import re, sys\nfrom autodiff_cli.cli import main\n"
        f"try:\n    main(args={args!r})\nexcept SystemExit as e:\n    status = e.code\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so it would be pytest's.
        "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
        "print(status, hwm, file=sys.stderr)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    threading.Thread(target=_feed, args=(proc.stdin, feed), daemon=True).start()
    out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    proc.wait(60)
    status, rss = err.decode().split()[-2:]
    return int(status), out, int(rss)


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("args", [["batch", "--json"], ["eval", "x+1", "--rows", "-", "-f", "jsonl"]])
def test_a_pipe_of_zeros_keeps_memory_bounded(args: list[str]) -> None:
    def zeros() -> Iterator[bytes]:
        yield b'{"x": 0}\n' if args[0] == "eval" else b""  # a sweep's first line says what the rows are
        for _ in range(200):
            yield bytes(1 << 20)
        yield b'\n{"x": 1}\n' if args[0] == "eval" else b'\n"x+1" x=1\n'

    status, out, rss = _max_rss_kib(args, zeros())
    assert status == 1 and b'"limit"' in out and b'"value": 2.0' in out
    assert rss < 150_000  # KiB; holding the 200 MB line took more than 400 MB


def test_eval_reads_at_most_the_program_limit_from_standard_input() -> None:
    result = shell("head -c 30000000 /dev/zero | autodiff eval - x=1")
    assert result.returncode == 1 and result.stdout == b""
    assert (
        result.stderr
        == b"autodiff: limit error: standard input has more than 16,000,000 bytes; a program has at most 4,000,000 characters\n"
    )


# --- 9. standard streams --------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "status", "message"),
    [
        ("autodiff --help > /dev/full", 1, "autodiff: input/output error: No space left on device"),
        ("autodiff --version > /dev/full", 1, "autodiff: input/output error: No space left on device"),
        ("autodiff eval x x=1 > /dev/full", 1, "autodiff: input/output error: No space left on device"),
        ("printf '\"x\" x=1\\n' | autodiff batch --json > /dev/full", 1, "autodiff: input/output error: No space left on device"),
        ("autodiff eval x x=1 >&-", 1, "autodiff: input/output error: standard output is closed: there is nowhere to write"),
        ("autodiff --help >&-", 1, "autodiff: input/output error: standard output is closed: there is nowhere to write"),
        ("autodiff eval - x=1 <&-", 2, "autodiff: input error: standard input is closed: there is nothing to read"),
        ("autodiff batch --json <&-", 2, "autodiff: input error: standard input is closed: there is nothing to read"),
        ("autodiff eval x --rows - <&-", 2, "autodiff: input error: standard input is closed: there is nothing to read"),
    ],
)
def test_closed_or_full_standard_streams_give_one_line_and_a_status(command: str, status: int, message: str) -> None:
    result = shell(command)
    assert result.stderr.decode() == message + "\n"
    assert result.returncode == status
