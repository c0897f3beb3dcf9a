"""autodiff in real pipelines: separate processes, real pipes, real signals.

These start `python -m autodiff_cli` as a child process, because what they
check (streaming through a pipe, a reader that goes away, SIGINT and SIGTERM,
peak memory) only exists between processes.
"""

from __future__ import annotations

import io
import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff_cli.cli.output import LineWriter

from .ptys import run_on_terminal

AUTODIFF = [sys.executable, "-m", "autodiff_cli"]
CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "cases.jsonl").read_text().splitlines()]
PROGRAMS = ["x*y + {k}", "tanh(x*{k} + y)", "log(1 + x*x) * {k}", "sqrt(x*x + y*y + {k})", "sin(x)*cos(y) + {k}"]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes and signals")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def jobs_file(path: Path, n: int) -> Path:
    """``n`` jobs, half JSON and half shell-quoted, over a few programs (so they run fast)."""
    with open(path, "w") as f:
        for i in range(n):
            program = PROGRAMS[i % 5].format(k=i % 3 + 1)
            if i % 2:
                f.write(f'"{program}" x={i % 97 * 0.01} y={i % 13}\n')
            else:
                f.write(json.dumps({"expr": program, "vars": {"x": i % 89 * 0.01, "y": i % 7}}) + "\n")
    return path


class Child:
    """A running autodiff whose output lines can be awaited with a timeout."""

    def __init__(self, args: list[str], stdin: object = subprocess.PIPE) -> None:
        env = {**os.environ, "NO_COLOR": "1"}
        self.proc = subprocess.Popen(
            [*AUTODIFF, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, env=env
        )
        self.buffer = b""

    def send(self, text: str) -> None:
        self.proc.stdin.write(text.encode())

    def line(self, timeout: float = 20.0) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            assert ready, f"no output line within {timeout} s (so far {self.buffer!r})"
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            assert chunk, f"output ended before a whole line: {self.buffer!r}"
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def finish(self, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
        if self.proc.stdin:
            self.proc.stdin.close()
            self.proc.stdin = None
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.buffer + out, err


# --- pipelines -----------------------------------------------------------------------


def test_batch_in_a_pipeline_feeds_the_next_program(tmp_path):
    cases = [c for c in CASES if "error" not in c][:100]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": c["id"], "expr": c["expr"], "vars": c["vars"]}) + "\n" for c in cases))
    consumer = "import json, sys\nfor line in sys.stdin:\n    r = json.loads(line)\n    print(r['id'], r['value'])"
    with open(jobs, "rb") as f:
        batch = subprocess.Popen([*AUTODIFF, "batch", "--json"], stdin=f, stdout=subprocess.PIPE)
        reader = subprocess.run([sys.executable, "-c", consumer], stdin=batch.stdout, capture_output=True, check=True)
        batch.stdout.close()
        assert batch.wait(timeout=30) == 0
    got = [line.split(" ") for line in reader.stdout.decode().splitlines()]
    assert [g[0] for g in got] == [c["id"] for c in cases]
    assert all(close(float(g[1]), c["value"]) for g, c in zip(got, cases, strict=True))


def test_each_answer_is_written_before_the_next_job_arrives():
    child = Child(["batch", "--json"])
    child.send('"a*b" a=2 b=3\n')
    assert json.loads(child.line())["value"] == 6.0
    child.send('{"expr": "sqrt(x)", "vars": {"x": 16}}\n')
    assert json.loads(child.line())["gradients"] == {"x": 0.125}
    code, rest, err = child.finish()
    assert (code, rest) == (0, b"")
    assert err == b"2 ok, 0 failed\n"


def test_answers_stream_with_workers_too():
    child = Child(["batch", "--json", "--jobs", "2"])
    for i in range(3):
        child.send(f'"x^2" x={i}\n')
        expected = {"line": i + 1, "expr": "x^2", "value": float(i * i), "gradients": {"x": 2.0 * i}}
        assert json.loads(child.line()) == expected
    code, rest, _ = child.finish()
    assert (code, rest) == (0, b"")


def test_sweep_rows_stream_too():
    child = Child(["eval", "x*y", "--rows", "-", "--format", "csv"])
    child.send("x,y\n2,3\n")
    assert child.line() == b"x,y,value,d/dx,d/dy,error_kind,error_message\n"
    assert child.line() == b"2,3,6.0,3.0,2.0,,\n"
    child.send("-1,4\n")
    assert child.line() == b"-1,4,-4.0,4.0,-1.0,,\n"
    code, rest, _ = child.finish()
    assert (code, rest) == (0, b"")


def test_invalid_utf8_on_one_line_in_a_real_pipe():
    child = Child(["batch", "--json"])
    child.send('"a+1" a=1\n')
    child.proc.stdin.write(b'"a\xc3(" a=1\n')
    child.send('"a+2" a=1\n')
    code, out, err = child.finish()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r.get("value") for r in records] == [2.0, None, 3.0]
    assert records[1]["error"] == {"kind": "input", "message": "the line is not valid UTF-8 (byte 3)"}
    assert code == 1 and err == b"2 ok, 1 failed\n"


# --- a reader that goes away ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["batch", "--json", "JOBS"], ["batch", "JOBS", "--jobs", "2"], ["eval", "x*y", "x=0:99999:1", "y=0:9:1"]],
    ids=["batch", "batch-jobs-2", "sweep"],
)
def test_a_closed_pipe_ends_quietly(tmp_path, args):
    jobs = jobs_file(tmp_path / "jobs.txt", 30_000)
    child = Child([str(jobs) if a == "JOBS" else a for a in args], stdin=subprocess.DEVNULL)
    assert child.line()  # like `| head -1`: one line, then the reader leaves
    child.proc.stdout.close()
    code = child.proc.wait(timeout=30)
    err = child.proc.stderr.read()
    assert err == b"", err.decode()
    assert code == 1


# --- signals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "status", "workers"),
    [(signal.SIGINT, 130, "1"), (signal.SIGTERM, 143, "1"), (signal.SIGINT, 130, "2")],
    ids=["sigint", "sigterm", "sigint-jobs-2"],
)
def test_a_signal_while_waiting_for_input_exits_cleanly(signum, status, workers):
    child = Child(["batch", "--json", "--jobs", workers])
    for i in range(3):
        child.send(f'"x+{i}" x=1\n')
        assert json.loads(child.line())["value"] == 1.0 + i
    child.proc.send_signal(signum)
    code, rest, err = child.finish()
    assert code == status
    assert rest == b""
    assert b"Traceback" not in err
    assert err.decode().strip() == "3 ok, 0 failed (interrupted)"


def test_sigint_in_the_middle_of_output_leaves_only_whole_lines(tmp_path):
    jobs = jobs_file(tmp_path / "jobs.txt", 60_000)
    child = Child(["batch", "--json", str(jobs)], stdin=subprocess.DEVNULL)
    child.line()
    time.sleep(0.2)  # the child is now blocked on a full pipe, mid-stream
    child.proc.send_signal(signal.SIGINT)
    code, out, err = child.finish()
    assert code == 130
    assert b"Traceback" not in err
    assert out.endswith(b"\n")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in records] == list(range(2, len(records) + 2))
    assert len(records) < 59_999


# --- memory -----------------------------------------------------------------------------


def peak_rss_kib(jobs: Path) -> int:
    with open(jobs, "rb") as f:
        proc = subprocess.Popen([*AUTODIFF, "batch", "--json", "-q"], stdin=f, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return usage.ru_maxrss


@pytest.mark.slow
def test_memory_stays_flat_however_long_the_input(tmp_path):
    small = peak_rss_kib(jobs_file(tmp_path / "small.txt", 10_000))
    large = peak_rss_kib(jobs_file(tmp_path / "large.txt", 100_000))
    # Keeping each answer would cost ~1 KiB per job: 90 MiB more for the large run.
    assert large < small + 8 * 1024, (small, large)


def test_sigint_in_the_middle_of_a_sweep_leaves_only_whole_lines():
    child = Child(["eval", "x*y", "x=0:99999:1", "y=0:9:1", "--format", "jsonl"], stdin=subprocess.DEVNULL)
    first = json.loads(child.line())
    time.sleep(0.2)
    child.proc.send_signal(signal.SIGINT)
    code, out, err = child.finish()
    assert code == 130 and b"Traceback" not in err
    assert out.endswith(b"\n")
    rows = [first["row"], *(json.loads(line)["row"] for line in out.splitlines())]
    assert rows == list(range(1, len(rows) + 1))
    assert len(rows) < 1_000_000


# --- the progress bar -------------------------------------------------------------------


def run_with_terminal_stderr(args: list[str], tmp_path: Path) -> tuple[int, bytes, str]:
    """Run with standard error on a pseudo-terminal, as a person at a terminal would."""
    out_path = tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
        status, seen, _ = run_on_terminal(args, env, streams=("stderr",), stdout=out, deadline=30)
    return status, out_path.read_bytes(), seen


def test_a_progress_bar_on_a_terminal_but_never_in_the_output(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    lines = (json.dumps({"expr": f"tanh(a*{i} + b)", "vars": {"a": 1, "b": 2}}) + "\n" for i in range(2000))
    jobs.write_text("".join(lines))
    code, out, terminal = run_with_terminal_stderr(["batch", str(jobs), "--json"], tmp_path)
    assert code == 0
    assert "jobs" in terminal and "2000 ok, 0 failed" in terminal
    assert [json.loads(line)["line"] for line in out.splitlines()] == list(range(1, 2001))
    code, out, terminal = run_with_terminal_stderr(["batch", str(jobs), "--json", "--quiet"], tmp_path)
    assert code == 0 and terminal == "" and len(out.splitlines()) == 2000


# --- blocks ------------------------------------------------------------------------------


class _Counting(io.StringIO):
    """A standard output that counts the writes it gets (not a terminal, not a regular file)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_a_holding_writer_writes_in_blocks_and_counts_only_what_it_wrote(monkeypatch):
    out = _Counting()
    monkeypatch.setattr(sys, "stdout", out)
    counted: list[int] = []
    with LineWriter(hold=True) as writer:
        for i in range(1000):
            writer.write(f"{i}\n", lambda i=i: counted.append(i))
        assert out.getvalue() == "" and counted == []  # held: nothing is written or counted yet
        writer.flush()  # what a producer does before it waits
        assert out.getvalue() == "".join(f"{i}\n" for i in range(1000)) and counted == list(range(1000))
        assert out.writes == 1
        writer.write("last\n", lambda: counted.append(-1))
    assert out.getvalue().endswith("999\nlast\n") and counted[-1] == -1  # leaving writes what is held
    assert out.writes == 2


def test_a_holding_writer_writes_a_full_block_at_once(monkeypatch):
    out = _Counting()
    monkeypatch.setattr(sys, "stdout", out)
    line = "x" * 99 + "\n"
    with LineWriter(hold=True) as writer:
        for _ in range(2 * LineWriter.HOLD_CHARS // len(line)):
            writer.write(line)
        assert out.writes == 1  # the first block went out by itself; the second is held
    assert out.getvalue() == line * (2 * LineWriter.HOLD_CHARS // len(line))


def test_a_batch_to_a_pipe_writes_far_fewer_blocks_than_lines(tmp_path):
    jobs = jobs_file(tmp_path / "jobs.txt", 3000)
    code = (
        "import sys, autodiff_cli.cli.output as o\n"
        "writes = []\n"
        "real = o.LineWriter._emit\n"
        "o.LineWriter._emit = lambda self, text, counts: (writes.append(text.count('\\n')), real(self, text, counts))\n"
        "from autodiff_cli.cli import main\n"
        "sys.argv = ['autodiff', 'batch', '--json', '-q', sys.argv[1]]\n"
        "try:\n    main()\nfinally:\n    print(len(writes), sum(writes), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(jobs)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    blocks, lines = map(int, done.stderr.split())
    assert lines == 3000 == len(done.stdout.splitlines())
    assert blocks < 30  # a block per 64 KiB, not a write per line
