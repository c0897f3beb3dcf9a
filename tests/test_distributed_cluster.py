"""A cluster as an operations engineer runs one: `dask scheduler` and `dask worker` processes, faults injected.

Every process listens on loopback only (127.0.0.1 or [::1]) and is killed by
its own pid when its test ends. The reference is always the serial run of the
same input: what a cluster writes before it is lost must be that run's first
lines, and resuming where autodiff says must give the rest of it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autodiff_cli import __version__
from autodiff_cli.batch import run_batch
from autodiff_cli.records import jsonl_line

distributed = pytest.importorskip("distributed", reason="needs the dask extra: pip install -e '.[dask]'")

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
# autodiff on every machine, as the checkout under test (also where it is not installed).
OURS = {**os.environ, "PYTHONPATH": str(ROOT)}
# Autodiff itself, with a shorter wait for workers where a test needs one (same code, smaller constant).
AUTODIFF = [sys.executable, "-c", "import sys; from autodiff_cli.cli import main; sys.exit(main())"]
SHORT_WAIT = [
    sys.executable,
    "-c",
    "import sys; from autodiff_cli import distributed_connect as d; d.WORKER_WAIT = 4.0;"
    " from autodiff_cli.cli import main; sys.exit(main())",
]


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A `dask scheduler` and its `dask worker`s, each its own process, all killed by pid at the end."""

    def __init__(self, tmp: Path, host: str = "127.0.0.1") -> None:
        self.tmp = tmp
        self.host = host
        self.port = free_port(host)
        self.bracketed = f"[{host}]" if ":" in host else host  # as Dask writes an IPv6 host
        self.address = f"tcp://{self.bracketed}:{self.port}"
        self.file = tmp / f"scheduler-{self.port}.json"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_scheduler(self) -> Cluster:
        args = ["scheduler", "--host", self.bracketed, "--port", str(self.port), "--no-dashboard"]
        self.scheduler = self._spawn([*args, "--scheduler-file", str(self.file)], OURS)
        deadline = time.monotonic() + 60
        while not self.file.exists():
            assert time.monotonic() < deadline, "the scheduler did not start"
            assert self.scheduler.poll() is None, "the scheduler exited"
            time.sleep(0.1)
        return self

    def add_worker(self, env: dict[str, str] = OURS) -> subprocess.Popen[bytes]:
        args = ["worker", self.address, "--nthreads", "1", "--host", self.bracketed, "--no-dashboard", "--no-nanny"]
        worker = self._spawn(args, env)
        self.workers.append(worker)
        return worker

    def _spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            env={**env, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.tmp,
            start_new_session=True,
        )

    def wait_for_workers(self, count: int) -> None:
        with distributed.Client(self.address, set_as_default=False, timeout="30s") as client:
            client.wait_for_workers(count, timeout=60)

    def worker_addresses(self) -> set[str]:
        with distributed.Client(self.address, set_as_default=False, timeout="30s") as client:
            return set(client.nthreads())

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One healthy cluster on IPv6 loopback, for the tests that only read from it."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    made = Cluster(tmp_path_factory.mktemp("shared"), host="::1")
    try:
        made.start_scheduler()
        made.add_worker()
        made.add_worker()
        made.wait_for_workers(2)
        yield made
    finally:
        made.stop()


def jobs_input(count: int, statements: int = 3) -> bytes:
    """Distinct programs, with a failing job and a comment now and then (line numbers must survive them)."""
    lines = []
    for i in range(count):
        if i % 97 == 13:
            lines.append("# a comment")
        elif i % 89 == 7:
            lines.append(f"log(x) x={-i}")
        else:
            steps = "; ".join(f"y{k} = tanh(y{k - 1}*{1 + k / 1000 + i / 1e6} + x)" for k in range(1, statements + 1))
            lines.append(json.dumps({"id": i, "expr": f"y0 = x*{i + 1}; {steps}; y{statements}", "vars": {"x": 0.5}}))
    return "".join(line + "\n" for line in lines).encode()


def serial(data: bytes, first_line: int = 1) -> bytes:
    return "".join(jsonl_line(r) for r in run_batch([("-", io.BytesIO(data))], first_line=first_line)).encode()


def autodiff(*args: str, input: bytes = b"", env: dict[str, str] = OURS, command: list[str] = AUTODIFF):
    return subprocess.run([*command, *args], input=input, capture_output=True, timeout=120, env=env, check=False)


# --- the ways Dask's tools name a scheduler --------------------------------------------


@pytest.mark.timeout(120)
def test_ipv6_scheduler_file_and_dask_scheduler_address_give_the_serial_bytes(shared: Cluster, tmp_path: Path) -> None:
    data = jobs_input(300)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes(data)
    want = serial(data)
    assert want.count(b"\n") > 250 and b'"kind": "domain"' in want
    assert shared.address.startswith("tcp://[::1]:")
    env = {**OURS, "DASK_SCHEDULER_ADDRESS": shared.address}
    runs = {
        "address": autodiff("batch", "--json", str(jobs), "--scheduler", shared.address),
        "file": autodiff("batch", "--json", str(jobs), "--scheduler-file", str(shared.file)),
        "dask": autodiff("batch", "--json", str(jobs), "--scheduler", "dask", env=env),
    }
    failed = want.count(b'"error"')
    summary = f"{len(want.splitlines()) - failed} ok, {failed} failed\n"
    for how, run in runs.items():
        assert (run.returncode, run.stdout) == (1, want), (how, run.stderr)
        err = run.stderr.decode()
        assert f"Dask scheduler {shared.address}: 2 workers" in err, (how, err)
        assert err.endswith(summary), err
        assert "Traceback" not in err
    # Without --scheduler, a configured address is named, and the batch runs here: the same bytes.
    here = autodiff("batch", "--json", str(jobs), env=env)
    assert (here.returncode, here.stdout) == (1, want)
    assert f"running here; DASK_SCHEDULER_ADDRESS ({shared.address})" in here.stderr.decode()


# --- every machine checked, none harmed -----------------------------------------------


def stub(tmp: Path, name: str, body: str) -> dict[str, str]:
    """An environment whose `import autodiff_cli` is ``body``: another version, or none at all."""
    package = tmp / name / "autodiff_cli"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(tmp / name)}


@pytest.mark.timeout(150)
def test_every_worker_is_checked_each_that_differs_is_named_and_none_is_harmed(cluster: Cluster) -> None:
    other = "0.0.9" if __version__ != "0.0.9" else "0.0.8"
    old = stub(cluster.tmp, "old", f"__version__ = {other!r}\n")
    none = stub(cluster.tmp, "none", "raise ModuleNotFoundError('No module named autodiff_cli', name='autodiff_cli')\n")
    cluster.start_scheduler()
    cluster.add_worker()
    cluster.add_worker(old)
    without = cluster.add_worker(none)
    cluster.wait_for_workers(3)
    before = cluster.worker_addresses()
    for _ in range(2):  # the verdict is the same every time, whichever worker Dask would pick
        run = autodiff("batch", "--json", "--scheduler", cluster.address, input=b"x^2 x=3\n")
        err = run.stderr.decode()
        assert (run.returncode, run.stdout) == (2, b""), err
        assert err.count("\n") <= 3 and "Traceback" not in err, err
        assert f"(autodiff {other})" in err and "(no autodiff)" in err, err
        named = [address for address in before if address in err]
        assert len(named) == 2, err  # the two that differ, by address, and not the one that matches
    assert without.poll() is None, "the worker without autodiff was stopped"
    assert cluster.worker_addresses() == before  # all three still in the scheduler


@pytest.mark.timeout(120)
def test_a_scheduler_without_autodiff_is_named_as_the_scheduler(cluster: Cluster, tmp_path: Path) -> None:
    none = stub(tmp_path, "none", "raise ModuleNotFoundError('No module named autodiff_cli', name='autodiff_cli')\n")
    cluster.scheduler = cluster._spawn(
        [
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(cluster.port),
            "--no-dashboard",
            "--scheduler-file",
            str(cluster.file),
        ],
        none,
    )
    cluster.add_worker()
    cluster.wait_for_workers(1)
    run = autodiff("batch", "--scheduler-file", str(cluster.file), input=b"x x=1\n")
    err = run.stderr.decode()
    assert run.returncode == 2 and f"the scheduler {cluster.address} (no autodiff)" in err, err
    assert "\\n" not in err and "Traceback" not in err


# --- faults: a lost cluster says how far it got, and resuming there gives the rest ------------


def run_until_lost(cluster: Cluster, data: bytes, kill: str, tmp: Path) -> tuple[int, bytes, str, float]:
    """Start a batch, kill the scheduler or every worker once answers flow; the batch's status, output, stderr, wait."""
    jobs = tmp / "jobs.jsonl"
    jobs.write_bytes(data)
    proc = subprocess.Popen(
        [*SHORT_WAIT, "batch", "--json", str(jobs), "--scheduler", cluster.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=OURS,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first, proc.stderr.read().decode()
        if kill == "scheduler":
            assert cluster.scheduler is not None
            cluster.scheduler.kill()
        else:
            for worker in cluster.workers:
                worker.kill()
        killed = time.monotonic()
        out, err = proc.stdout.read(), proc.stderr.read()  # the buffered reader holds what follows ``first``
        proc.wait(timeout=90)
        return proc.returncode, first + out, err.decode(), time.monotonic() - killed
    finally:
        proc.kill()
        proc.wait()


def assert_resumable(data: bytes, out: bytes, err: str, tmp: Path) -> None:
    want = serial(data)
    assert out and out.endswith(b"\n") and want.startswith(out), "not whole lines of the serial run"
    assert out != want, "the batch ended before the fault: the test proved nothing"
    lines = out.splitlines()
    last = json.loads(lines[-1])["line"]
    failed = sum(b'"error"' in line for line in lines)
    assert f"\n{len(lines) - failed} ok, {failed} failed\n" in err, err
    assert f"answers were written up to line {last} of " in err
    start = last + 1
    assert f"tail -n +{start} " in err and f"--first-line {start} " in err, err
    rest = b"".join(data.splitlines(keepends=True)[start - 1 :])
    assert out + serial(rest, first_line=start) == want  # resuming as told gives the rest, numbered as one run


@pytest.mark.timeout(150)
def test_a_lost_scheduler_is_exit_3_with_the_summary_and_the_line_to_resume_from(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_scheduler()
    cluster.add_worker()
    cluster.wait_for_workers(1)
    data = jobs_input(2500)
    status, out, err, waited = run_until_lost(cluster, data, "scheduler", tmp_path)
    assert status == 3, err
    assert "autodiff: cluster error: lost the Dask scheduler" in err, err
    assert "Traceback" not in err and "distributed." not in err, err
    assert waited < 40  # Dask's reconnection attempts, not a minute of silence
    assert_resumable(data, out, err, tmp_path)


@pytest.mark.timeout(150)
def test_all_workers_lost_is_said_then_exit_3_with_the_line_to_resume_from(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_scheduler()
    cluster.add_worker()
    cluster.add_worker()
    cluster.wait_for_workers(2)
    data = jobs_input(2500)
    status, out, err, waited = run_until_lost(cluster, data, "workers", tmp_path)
    assert status == 3, err
    assert "no worker left: waiting up to 4 s for one" in err, err
    assert "autodiff: cluster error: the Dask cluster has had no worker for 4 s" in err, err
    assert "Traceback" not in err and "distributed." not in err, err
    assert waited < 30
    assert_resumable(data, out, err, tmp_path)


# --- Ctrl-C in every phase before the first answer -------------------------------------------


def interrupt_when_told(args: list[str], told: str) -> tuple[int, bytes, str, float]:
    """Run autodiff until stderr says ``told``, then SIGINT: its status, stdout, stderr, and how long it took to go."""
    proc = subprocess.Popen([*AUTODIFF, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=OURS)
    try:
        assert proc.stderr is not None
        seen = b""
        while told.encode() not in seen:
            line = proc.stderr.readline()
            assert line, f"autodiff ended without saying {told!r}: {seen!r}"
            seen += line
        time.sleep(0.5)  # in the wait itself, not before it
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=30)
        return proc.returncode, out, (seen + err).decode(), time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.timeout(120)
def test_ctrl_c_while_waiting_for_a_worker_a_scheduler_or_its_file_exits_130_at_once(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_scheduler()  # and no worker
    status, out, err, took = interrupt_when_told(["batch", "--scheduler", cluster.address], "waiting for a Dask worker to join")
    assert (status, out) == (130, b""), err
    assert took < 10 and "(interrupted)" in err and "Traceback" not in err
    with socket.socket() as silent:  # accepts connections and never answers: a scheduler that hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        status, out, err, took = interrupt_when_told(["batch", "--scheduler", address], "connecting to the Dask")
    assert (status, out) == (130, b""), err
    assert took < 10 and "Traceback" not in err
    status, out, err, took = interrupt_when_told(
        ["batch", "--scheduler-file", str(tmp_path / "later.json")], "waiting for the Dask scheduler to write"
    )
    assert (status, out) == (130, b"") and took < 10, err
