"""Batches beyond one process: a real Dask LocalCluster, GNU parallel, --first-line.

The reference is always the serial run of the same input (itself checked
against the conformance corpus in test_batch.py): a cluster must give the same
records, in the same order, with the same line numbers, byte for byte.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff_cli.batch import run_batch
from autodiff_cli.records import jsonl_line

from .clusters import ready
from .conftest import CASES

distributed = pytest.importorskip("distributed", reason="needs the dask extra: pip install -e '.[dask]'")

from autodiff_cli.distributed import CHUNK_JOBS, MIN_CHUNK_JOBS, DaskEngine, connect  # noqa: E402

POISON = "poison(x)"  # a job the test plugin makes kill whatever worker process runs it

# Lines meant to break a batch: each must become the same record (or the same silence) on a cluster.
HOSTILE = [
    b"",
    b"   # a comment",
    b'{"expr": "x^2", "vars": {"x": 3}, "id": {"nested": [1, null, "two"]}}',
    b'{"expr": "log(x)", "vars": {"x": 0}, "id": 7}',
    b'{"expr": "exp(x)", "vars": {"x": 1000}}',
    b'{"expr": "sin(x) + cos(y", "vars": {"x": 1, "y": 2}}',
    b'{"expr": "x + nope", "vars": {"x": 1}}',
    b'{"expr": 42}',
    b"[1, 2]",
    b'{"expr": "x", "vars": {"x": NaN}}',
    b"{not json",
    b"\xff\xfe not utf-8 x=1",
    b'"unterminated x=1',
    b"tanh(a*b+c) a=2 b=3 c=1",
    b"x^2 x=1e999",
    b"x^2 x=3 x=4",
    b'{"expr": "' + b"(" * 2000 + b"x" + b")" * 2000 + b'", "vars": {"x": 1}}',
    b'{"expr": "a\\ud800"}',
    b'{"expr": "x^2", "vars": {"x": 2}}\r',
    '{"expr": "sqrt(\u00e9)", "vars": {"\u00e9": 4}}'.encode(),
]


def corpus_input(copies: int = 1) -> bytes:
    """The conformance corpus as JSON jobs, a hostile line after every ten."""
    lines: list[bytes] = []
    for _ in range(copies):
        for i, case in enumerate(CASES):
            lines.append(json.dumps({"id": case["id"], "expr": case["expr"], "vars": case["vars"]}).encode())
            if i % 10 == 9:
                lines.append(HOSTILE[(i // 10) % len(HOSTILE)])
    return b"".join(line + b"\n" for line in lines)


def heavy_input(jobs: int, statements: int = 5) -> bytes:
    """Distinct programs of a few milliseconds each, so a run lasts long enough to kill a worker in."""
    lines = []
    for i in range(jobs):
        steps = "; ".join(f"y{k} = tanh(y{k - 1}*{1 + k / 1000 + i / 1e6} + x)" for k in range(1, statements + 1))
        lines.append(json.dumps({"id": i, "expr": f"y0 = x*{i + 1}; {steps}; y{statements}", "vars": {"x": 0.5}}))
    return "".join(line + "\n" for line in lines).encode()


def serial(data: bytes) -> list[str]:
    return [jsonl_line(r) for r in run_batch([("-", io.BytesIO(data))])]


def on_cluster(client: object, data: bytes, chunk_jobs: int = 40) -> list[str]:
    engine = DaskEngine(client, chunk_jobs=chunk_jobs)
    return [jsonl_line(r) for r in run_batch([("-", io.BytesIO(data))], engine=engine)]


@pytest.fixture(scope="module")
def client():
    """One real LocalCluster (2 worker processes, loopback only) for the whole module."""
    with connect("local:2") as c:
        yield c


# --- the Dask engine -------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_cluster_gives_the_serial_records_on_the_corpus_and_hostile_lines(client):
    data = corpus_input()
    want = serial(data)
    assert len(want) == len(CASES) + len(CASES) // 10 - 2 * (len(CASES) // 10 // len(HOSTILE) + 1)
    assert on_cluster(ready(client), data) == want
    # Every job exactly once, at its own line of the input.
    numbers = [json.loads(line)["line"] for line in want]
    jobs = [n for n, raw in enumerate(data.splitlines(), 1) if raw.strip() and not raw.strip().startswith(b"#")]
    assert numbers == jobs


@pytest.mark.timeout(120)
def test_one_job_per_chunk_and_one_chunk_for_all_give_the_same_records(client):
    data = corpus_input()[:8_000]
    want = serial(data)
    assert on_cluster(ready(client), data, chunk_jobs=1) == want
    assert on_cluster(client, data, chunk_jobs=10**6) == want


@pytest.mark.timeout(120)
def test_chunks_shrink_to_about_a_tenth_of_a_second_of_work_and_the_records_stay_the_same(client):
    data = heavy_input(1200, statements=40)  # about a millisecond a job
    want = serial(data)
    engine = DaskEngine(ready(client))
    assert engine.chunk_jobs == CHUNK_JOBS
    got = [jsonl_line(r) for r in run_batch([("-", io.BytesIO(data))], engine=engine)]
    assert got == want
    # Jobs of ~0.1-1 ms: a chunk of 0.1 s holds far fewer than CHUNK_JOBS of them, and at least MIN_CHUNK_JOBS.
    assert MIN_CHUNK_JOBS <= engine.chunk_jobs < CHUNK_JOBS


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_run_loses_no_record_and_repeats_none(client):
    data = heavy_input(800)
    want = serial(data)
    before = ready(client).run(os.getpid)
    victim = sorted(before.values())[0]
    engine = DaskEngine(client, chunk_jobs=25)
    got = []
    for record in run_batch([("-", io.BytesIO(data))], engine=engine):
        got.append(jsonl_line(record))
        if len(got) == 50:
            os.kill(victim, signal.SIGKILL)
    assert got == want
    assert [json.loads(line)["line"] for line in got] == list(range(1, 801))
    ready(client)
    assert victim not in client.run(os.getpid).values(), "the worker was not killed: the test proved nothing"


# --- the command line ------------------------------------------------------------------


def autodiff(*args: str, input: bytes = b"", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autodiff_cli", *args], input=input, capture_output=True, timeout=timeout, check=False
    )


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cli_scheduler_local_is_byte_for_byte_the_serial_run(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(corpus_input())
    second.write_bytes(b"\xef\xbb\xbf" + b"\n".join(HOSTILE) + b"\n")
    args = ["batch", str(first), str(second), "--format", "csv"]
    want = autodiff(*args)
    got = autodiff(*args, "--scheduler", "local:2")
    assert want.returncode == 1
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert want.stdout.count(b"\n") > len(CASES)


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch):
    from click.testing import CliRunner

    from autodiff_cli.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    result = CliRunner().invoke(main, ["batch", "--scheduler", "local:2"], input="x x=1\n")
    assert result.exit_code == 2
    assert "pip install 'autodiff-cli[dask]'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "local:0"], "N >= 1"),
        (["--scheduler", "local:two"], "tcp://HOST:PORT, dask or local[:N]"),
        (["--scheduler", "tcp://a host:1"], "tcp://HOST:PORT, dask or local[:N]"),
        (["--scheduler", "local:2", "--jobs", "2"], "pick one"),
        (["--first-line", "0"], "--first-line"),
    ],
)
def test_bad_scheduler_and_first_line_options_are_usage_errors(args, message):
    from click.testing import CliRunner

    from autodiff_cli.cli import main

    result = CliRunner().invoke(main, ["batch", *args], input="x x=1\n")
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.timeout(60)
def test_an_unreachable_scheduler_is_a_usage_error_before_any_output(monkeypatch):
    import socket

    from click.testing import CliRunner

    from autodiff_cli import distributed as engine
    from autodiff_cli.cli import main

    monkeypatch.setattr(engine.distributed_connect, "CONNECT_TIMEOUT", "2s")
    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = CliRunner().invoke(main, ["batch", "--scheduler", f"tcp://127.0.0.1:{port}"], input="x x=1\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "cannot reach the Dask scheduler" in result.stderr


# --- splitting the input: --first-line and GNU parallel ---------------------------------


def test_blocks_numbered_with_first_line_join_into_the_whole_run():
    from click.testing import CliRunner

    from autodiff_cli.cli import main

    def batch(data: bytes, *args: str) -> bytes:
        return CliRunner().invoke(main, ["batch", "--json", "-q", *args], input=data).stdout_bytes

    data = corpus_input()
    lines = data.splitlines(keepends=True)
    out = b"".join(
        batch(b"".join(lines[start : start + 128]), "--first-line", str(start + 1)) for start in range(0, len(lines), 128)
    )
    assert out == batch(data)
    assert out.count(b"\n") > len(CASES)


PARALLEL_RECIPE = Path(__file__).parent.parent / "examples" / "parallel.sh"


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed")
@pytest.mark.timeout(120)
def test_the_gnu_parallel_recipe_gives_the_serial_output(tmp_path):
    data = corpus_input()
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes(data)
    env = {**os.environ, "AUTODIFF": f"{sys.executable} -m autodiff_cli", "BLOCK": "200"}
    result = subprocess.run(["sh", str(PARALLEL_RECIPE), str(jobs)], capture_output=True, timeout=100, env=env, check=False)
    want = autodiff("batch", "--json", "-q", input=data)
    assert result.stdout == want.stdout
    assert result.returncode != 0  # the corpus has failing jobs, and the recipe says so


@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed")
@pytest.mark.timeout(120)
def test_the_gnu_parallel_recipe_warns_of_nothing_on_blocks_over_a_megabyte(tmp_path):
    # Blocks of 1,100 lines of ~1 KB: past parallel's 1 MB default block size, which warned on each.
    padding = "p" * 1000
    data = "".join(json.dumps({"id": f"{padding}{i}", "expr": "x*2", "vars": {"x": i}}) + "\n" for i in range(2300)).encode()
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes(data)
    env = {**os.environ, "AUTODIFF": f"{sys.executable} -m autodiff_cli", "BLOCK": "1100"}
    result = subprocess.run(["sh", str(PARALLEL_RECIPE), str(jobs)], capture_output=True, timeout=100, env=env, check=False)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == "".join(jsonl_line(r) for r in run_batch([("-", io.BytesIO(data))])).encode()


@pytest.mark.parametrize(("program", "kind"), [("a +* b", "syntax"), ("log(x)", "domain"), ("1 + q(x)", "name")])
def test_errors_pickle_with_the_reducers_dask_installs(program, kind):
    """Dask's tblib pickles an exception with its __context__: a syntax error must not carry lark's parser state."""
    import pickle

    import tblib.pickling_support

    from autodiff_cli import AutodiffError, evaluate

    with pytest.raises(AutodiffError) as raised:
        evaluate(program, {"x": -1})
    tblib.pickling_support.install(raised.value)
    again = pickle.loads(pickle.dumps(raised.value))
    assert again.kind == kind
    assert (again.message, again.line, again.column, again.source) == (
        raised.value.message,
        raised.value.line,
        raised.value.column,
        raised.value.source,
    )


GUIDE = Path(__file__).parent.parent / "docs" / "guide.md"


def guide_recipe() -> str:
    """The dask.bag recipe of docs/guide.md ("Many machines"), as written there."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("```python\nimport dask.bag as db")
    return text[start + len("```python\n") : text.index("```", start + 10)]


@pytest.mark.timeout(120)
def test_the_dask_bag_recipe_as_written_gives_the_bytes_of_batch(client, tmp_path, monkeypatch):
    """The guide's recipe, run as printed (only HOST filled in): the files, catenated, are batch --json's bytes."""
    lines = [json.dumps({"id": c["id"], "expr": c["expr"], "vars": c["vars"]}, ensure_ascii=False) for c in CASES[:150]]
    lines[3:3] = ["", "# a comment", '{"expr": "\u03b8^2", "vars": {"\u03b8": 3}, "id": "\u03b8"}', "log(x) x=0"]
    lines.insert(40, "sqrt(\u03b8) \u03b8=4")
    data = "".join(line + "\n" for line in lines).encode()
    (tmp_path / "jobs.jsonl").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    code = guide_recipe().replace("tcp://HOST:8786", ready(client).scheduler.address).replace("npartitions=64", "npartitions=12")
    scope: dict[str, object] = {}
    exec(compile(code, "guide.md", "exec"), scope)  # the recipe as documented
    scope["client"].close()
    files = sorted(tmp_path.glob("answers-*.jsonl"))
    assert len(files) > 10  # sorted by name = in order, also past answers-9
    got = b"".join(path.read_bytes() for path in files)
    want = autodiff("batch", "--json", "-q", str(tmp_path / "jobs.jsonl")).stdout
    assert got == want
    assert "θ".encode() in got and b'"line": 45' in got
    results = scope["results"].compute(scheduler=client.get)
    from autodiff_cli import AutodiffError, Result

    assert [isinstance(r, AutodiffError) for r in results] == [b'"error"' in line for line in want.splitlines()]
    assert all(isinstance(r, (Result, AutodiffError)) for r in results)


@pytest.mark.timeout(120)
def test_the_engine_reads_a_bounded_window_ahead_of_what_it_answers(client):
    """Memory stays flat: at most IN_FLIGHT chunks per worker thread are read before the first answer."""
    read = 0

    def lines():
        nonlocal read
        for number in range(1, 1_000_001):
            read += 1
            yield number, b"x^2 x=3\n"

    engine = DaskEngine(ready(client), chunk_jobs=20)
    records = engine(lambda: False, lines(), True)
    first = next(records)
    assert first == {"line": 1, "expr": "x^2", "value": 9.0, "gradients": {"x": 6.0}}
    assert read <= (engine.window + 1) * 20
    for _ in range(500):
        record = next(records)
    assert record["line"] == 501
    assert read <= 501 + (engine.window + 1) * 20
    records.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_answers_stream_from_a_pipe_before_the_input_ends():
    proc = subprocess.Popen(
        [sys.executable, "-m", "autodiff_cli", "batch", "--json", "--scheduler", "local:1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        proc.stdin.write(b"x^2 x=3\n")
        proc.stdin.flush()
        first = proc.stdout.readline()  # the input is still open: this answer came by itself
        assert json.loads(first) == {"line": 1, "expr": "x^2", "value": 9.0, "gradients": {"x": 6.0}}
        proc.stdin.write(b"log(x) x=-1\n")
        proc.stdin.close()
        rest, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert json.loads(rest)["error"]["kind"] == "domain"
    assert err == b"1 ok, 1 failed\n"
    assert proc.returncode == 1


# --- last: this one kills workers over and over ------------------------------------------


class Poison(distributed.WorkerPlugin):
    """Makes every worker, also those started after a death, die on the POISON job."""

    name = "autodiff-test-poison"

    def setup(self, worker: object) -> None:
        from autodiff_cli import batch

        real = batch.run_job

        def run_job(job, strict=True):
            if job.expr == POISON:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(job, strict)

        batch.run_job = run_job


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_job_that_kills_every_worker_becomes_an_error_record(client):
    ready(client).register_plugin(Poison())
    jobs = [f"x^2 x={i}" for i in range(1, 40)]
    jobs[17] = f"{POISON} x=1"
    data = "".join(line + "\n" for line in jobs).encode()
    start = time.monotonic()
    got = [json.loads(line) for line in on_cluster(client, data, chunk_jobs=10)]
    assert time.monotonic() - start < 200
    assert [r["line"] for r in got] == list(range(1, 40))
    killed = got[17]
    assert killed["expr"] == POISON
    assert killed["error"]["kind"] == "limit"
    for i, record in enumerate(got, 1):
        if i != 18:
            assert record == {"line": i, "expr": "x^2", "value": float(i * i), "gradients": {"x": 2.0 * i}}


# --- addresses that cannot work, and local:N ----------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("scheduler", ["localhost", "garbage", "inproc://x", "tcp://host", "foo://h:1", "tcp://[::1", "h:1:2"])
def test_an_address_dask_cannot_use_is_a_usage_error_at_once_without_a_traceback(scheduler):
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "autodiff_cli", "batch", "--scheduler", scheduler],
        input=b"x x=1\n",
        capture_output=True,
        timeout=25,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2 and "tcp://HOST:PORT" in stderr, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert time.monotonic() - start < 10  # not Client.__del__'s 20 s wait


def test_local_workers_are_capped_as_jobs_are():
    from autodiff_cli.batch import WORKERS_PER_CORE, cpu_count, worker_count
    from autodiff_cli.distributed_connect import local_workers

    cap = WORKERS_PER_CORE * cpu_count()
    assert local_workers("local:99999") == (99999, cap) == (99999, worker_count(99999))
    assert local_workers("local:1") == (1, 1) and local_workers("local") == (0, cpu_count())
    assert local_workers("tcp://127.0.0.1:8786") is None and local_workers("[::1]:8786") is None
    with pytest.raises(ValueError, match="N >= 1"):
        local_workers("local:0")


def test_a_local_cluster_past_the_cap_says_so(monkeypatch):
    from click.testing import CliRunner

    from autodiff_cli.cli import main, streams

    monkeypatch.setattr(streams, "_engine", lambda *args: None)  # the note, not a cluster
    result = CliRunner().invoke(main, ["batch", "--scheduler", "local:99999"], input="x x=1\n")
    assert result.exit_code == 0, result.output
    assert "--scheduler local:99999 is more than 4 per core: starting at most" in result.stderr
    quiet = CliRunner().invoke(main, ["batch", "--scheduler", "local:99999", "-q"], input="x x=1\n")
    assert "per core" not in quiet.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--scheduler", "tls://127.0.0.1:1"], {}, "needs Dask's TLS settings"),
        (["--scheduler", "tls://[::1]:1"], {}, "DASK_DISTRIBUTED__COMM__TLS__CA_FILE"),
        (["--scheduler", "ucx://127.0.0.1:1"], {}, "ucx protocol is not installed"),
        (["--scheduler", "dask"], {"DASK_SCHEDULER_ADDRESS": ""}, "none is set"),
        (["--scheduler", "local:2", "--scheduler-file", "s.json"], {}, "pick one"),
        (["--scheduler", "tcp://[::1"], {}, "tcp://HOST:PORT, dask or local[:N]"),
    ],
)
def test_addresses_dask_cannot_use_here_are_one_line_usage_errors(args, env, message, monkeypatch):
    """Refused before any connection is tried: no internal TypeError, no traceback, nothing on stdout."""
    from click.testing import CliRunner

    from autodiff_cli.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DASK_DISTRIBUTED__COMM__TLS__CA_FILE", raising=False)
    result = CliRunner().invoke(main, ["batch", "-q", *args], input="x x=1\n")
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr.replace("Error: ", "")
