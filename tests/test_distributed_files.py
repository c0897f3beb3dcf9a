"""Byte ranges of a shared batch file: the lines and numbers of a serial run, wherever the ranges cut.

The reference is ``lines.LineReader`` reading the whole file (the serial
run's reader): counting line starts per grain and reading each range's lines
from its first line start must give the same numbered lines, for ranges cut at
every byte (inside CRLF pairs, UTF-8 characters, a BOM, long lines). These run
without Dask; tests/test_distributed.py runs the same on a real cluster.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import distributed_files
from autodiff_cli.batch import run_batch
from autodiff_cli.distributed_files import Piece, count_starts, probe, range_lines, shared_path, write_records
from autodiff_cli.lines import MAX_LINE_BYTES, LineReader, Overlong
from autodiff_cli.records import jsonl_line
from autodiff_cli.records_csv import batch_csv_line

from .clusters import ready

PIECES = [
    b"x^2 x=3",
    b"",
    b"   ",
    b"# c",
    "\u03b8 \u03b8=1 \u00e9\u20ac\U0001f600".encode(),
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"a" * 50,
]
ENDS = [b"\n", b"\r\n", b"\r", b"\n\r", b"\r\r\n"]


def whole(data: bytes) -> list[tuple[int, bytes | Overlong]]:
    return list(LineReader(io.BytesIO(data)))


def by_ranges(path: str, size: int, cut: int, first_line: int = 1) -> list[tuple[int, bytes | Overlong]]:
    """The file's lines read range by range, ``cut`` bytes a range, numbered from the grain counts."""
    counts = [
        c
        for start in range(0, size, distributed_files.REGION)
        for c in count_starts(path, start, min(start + distributed_files.REGION, size), distributed_files.GRAIN)
    ]
    out: list[tuple[int, bytes | Overlong]] = []
    number = first_line
    grains_per_range = max(1, cut // distributed_files.GRAIN)
    for first in range(0, len(counts), grains_per_range):
        count = sum(counts[first : first + grains_per_range])
        if count:
            got = list(range_lines(path, first * distributed_files.GRAIN, count, number))
            assert len(got) == count
            out.extend(got)
        number += count
    return out


@pytest.fixture
def small_grains(monkeypatch):
    """Grains of 1 byte and regions of 5: every byte is a range boundary, every region a short one."""
    monkeypatch.setattr(distributed_files, "GRAIN", 1)
    monkeypatch.setattr(distributed_files, "REGION", 5)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from([*ENDS, b""])), max_size=12), st.integers(1, 9))
def test_ranges_cut_anywhere_read_the_serial_lines(tmp_path_factory, pieces, cut):
    data = b"".join(piece + end for piece, end in pieces)
    path = tmp_path_factory.mktemp("r") / "jobs"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(distributed_files, "GRAIN", 1)
        patch.setattr(distributed_files, "REGION", 5)
        assert by_ranges(str(path), len(data), cut) == whole(data)


@pytest.mark.usefixtures("small_grains")
@pytest.mark.parametrize("data", [b"", b"\n", b"\r", b"\r\n", b"a", b"a\rb\r\nc\n\rd", b"\r\r\r\n\n", b"\xef\xbb\xbfx x=1\r\n"])
def test_edges_of_line_ends(tmp_path, data):
    path = tmp_path / "jobs"
    path.write_bytes(data)
    for cut in (1, 2, 3):
        assert by_ranges(str(path), len(data), cut) == whole(data)
    assert sum(count_starts(str(path), 0, len(data), 1)) == len(whole(data))


def test_real_grains_on_a_random_mixed_file_and_first_line(tmp_path):
    rng = random.Random(7)
    data = b"".join(rng.choice(PIECES) * rng.randint(1, 40) + rng.choice(ENDS) for _ in range(6000))
    path = tmp_path / "jobs"
    path.write_bytes(data)
    want = whole(data)
    for cut in (distributed_files.GRAIN, 3 * distributed_files.GRAIN, distributed_files.REGION, 10**9):
        assert by_ranges(str(path), len(data), cut) == want
    # --first-line: numbers shifted as numbered_lines shifts them, the bytes unchanged.
    assert by_ranges(str(path), len(data), 5000, first_line=41) == [(n + 40, raw) for n, raw in want]


@pytest.mark.timeout(60)
def test_an_overlong_line_across_many_ranges_is_one_limit_record(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed_files, "REGION", 1 << 22)
    data = b"x x=1\r" + b"y" * (MAX_LINE_BYTES + 10) + b"\r\nx x=2\n"
    path = tmp_path / "jobs"
    path.write_bytes(data)
    got = by_ranges(str(path), len(data), 1 << 20)
    assert got == whole(data) == [(1, b"x x=1"), (2, Overlong(MAX_LINE_BYTES + 10)), (3, b"x x=2")]


def test_written_records_are_the_serial_lines_and_counts():
    records = [
        {"line": 3, "expr": "x", "value": 1.0, "gradients": {"x": 1.0}},
        {"line": 5, "error": {"kind": "syntax", "message": "m"}},
    ]
    piece = write_records(records, ("jsonl", None))
    assert (piece.ok, piece.failed, piece.last_line) == (1, 1, 5)
    assert piece.text.count("\n") == 2 and piece.text.startswith('{"line": 3')
    named = write_records(records, ("csv", "a b.jsonl"))
    assert named.text.splitlines()[0].startswith("a b.jsonl,3,")
    assert write_records([], ("csv", None)).last_line is None


def test_probe_reads_regular_files_only(tmp_path):
    path = tmp_path / "jobs"
    path.write_bytes(b"x x=1\n")
    assert probe(str(path))[0] == 6
    assert probe(str(tmp_path)) is None and probe(str(tmp_path / "absent")) is None
    assert probe("/dev/null") is None


def test_a_file_is_shared_only_if_every_worker_reads_it_the_same(tmp_path):
    path = tmp_path / "jobs"
    path.write_bytes(b"x x=1\n")
    mine = probe(str(path))

    class Client:
        def __init__(self, *theirs):
            self.theirs = theirs

        def run(self, function, *args, on_error):
            assert function is probe and args == (str(path),)
            return {f"tcp://w{i}:1": seen for i, seen in enumerate(self.theirs)}

    assert shared_path(Client(mine, mine), str(path)) == str(path)
    assert shared_path(Client(mine, None), str(path)) is None  # a worker that cannot read it
    assert shared_path(Client(mine, (6, "other")), str(path)) is None  # another file of the same size
    assert shared_path(Client(), str(path)) is None
    assert shared_path(Client(mine), "-") is None and shared_path(Client(mine), str(tmp_path)) is None


# --- on a real LocalCluster ------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed", reason="needs the dask extra: pip install -e '.[dask]'")
    from autodiff_cli.distributed import connect

    with connect("local:2") as made:
        yield made


def serial(path: Path, fmt: str = "jsonl", name: str | None = None, first_line: int = 1) -> str:
    """The serial run's lines, written as the batch command writes them (without the CSV header)."""
    with open(path, "rb") as stream:
        records = run_batch([(name or "-", stream)], name_files=name is not None, first_line=first_line)
        if fmt == "csv":
            return "".join(batch_csv_line(r, name is not None) for r in records)
        return "".join(map(jsonl_line, records))


def on_cluster(client, path: Path, fmt: str = "jsonl", name: str | None = None, first_line: int = 1) -> list[Piece]:
    """The pieces of the byte-range path; the client parses no job and sends no line (both would fail)."""
    from autodiff_cli import batch
    from autodiff_cli.distributed import DaskEngine

    def refuse(*args, **kwargs):
        raise AssertionError("the client did per-job work")

    engine = DaskEngine(ready(client))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "parse_job", refuse)
        patch.setattr(engine, "_submit", refuse)
        shared = engine.shared(str(path))
        assert shared == str(path.resolve())
        return list(engine.run_file(shared, (fmt, name), True, first_line))


def mixed_file(tmp_path: Path, copies: int = 1) -> Path:
    """The conformance corpus and the hostile lines, with every line end, multi-byte UTF-8 and a BOM."""
    from .test_distributed import HOSTILE, corpus_input

    lines = corpus_input(copies).split(b"\n")
    ends = [b"\n", b"\r\n", b"\r", b"\n"]
    data = b"\xef\xbb\xbf" + b"".join(line + ends[i % 4] for i, line in enumerate(lines + HOSTILE))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data + "\u03b8^2 \u03b8=3".encode())  # and no line end at the end
    return path


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("grain", "first", "most"), [(1, 7, 7), (3, 64, 300), (1024, 1 << 16, 1 << 22)])
def test_ranges_on_the_cluster_write_the_serial_bytes(client, tmp_path, monkeypatch, grain, first, most):
    path = mixed_file(tmp_path)
    if grain < 1024:  # ranges of a few bytes: cut inside CRLF pairs, UTF-8 characters and the BOM
        path.write_bytes(path.read_bytes()[:5000] + "\u00e9\u20ac x=1\r\n".encode() * 3)
    monkeypatch.setattr(distributed_files, "GRAIN", grain)
    monkeypatch.setattr(distributed_files, "REGION", grain * 1000)
    monkeypatch.setattr(distributed_files, "FIRST_RANGE", first)
    monkeypatch.setattr(distributed_files, "MAX_RANGE", most)
    for fmt, name in [("jsonl", None), ("csv", "the file.jsonl")]:
        want = serial(path, fmt, name)
        pieces = on_cluster(client, path, fmt, name)
        assert "".join(p.text for p in pieces) == want
        assert sum(p.ok + p.failed for p in pieces) == want.count("\n") > 50
        assert sum(p.failed for p in pieces) == want.count("error") if fmt == "jsonl" else True
        assert len(pieces) > (20 if grain < 1024 else 0)


@pytest.mark.timeout(180)
def test_first_line_numbers_ranges_as_it_numbers_a_serial_run(client, tmp_path, monkeypatch):
    path = mixed_file(tmp_path)
    monkeypatch.setattr(distributed_files, "FIRST_RANGE", 4096)
    monkeypatch.setattr(distributed_files, "MAX_RANGE", 4096)
    want = serial(path, first_line=1001)
    assert want.startswith('{"line": 1001, "expr": "\ufeff')  # a BOM is stripped on line 1 only, as serial does
    assert "".join(p.text for p in on_cluster(client, path, first_line=1001)) == want
    assert [p.last_line for p in on_cluster(client, path, first_line=1001)][-1] == 1000 + len(whole(path.read_bytes()))


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_run_loses_no_range_and_repeats_none(client, tmp_path, monkeypatch):
    import os
    import signal

    from autodiff_cli.distributed import DaskEngine

    from .test_distributed import heavy_input

    path = tmp_path / "heavy.jsonl"
    path.write_bytes(heavy_input(800))
    monkeypatch.setattr(distributed_files, "FIRST_RANGE", 4096)
    monkeypatch.setattr(distributed_files, "MAX_RANGE", 4096)
    want = serial(path)
    victim = sorted(ready(client).run(os.getpid).values())[0]
    engine = DaskEngine(client)
    got = []
    for piece in engine.run_file(str(path), ("jsonl", None), True):
        got.append(piece.text)
        if len(got) == 2:
            os.kill(victim, signal.SIGKILL)
    assert len(got) > 10
    assert "".join(got) == want
    ready(client)
    assert victim not in client.run(os.getpid).values(), "the worker was not killed: the test proved nothing"


@pytest.mark.timeout(180)
def test_a_range_dask_gives_up_on_is_run_job_by_job_from_the_client(client, tmp_path, monkeypatch):
    from distributed import KilledWorker

    from autodiff_cli.distributed import DaskEngine

    path = mixed_file(tmp_path)
    monkeypatch.setattr(distributed_files, "FIRST_RANGE", 3000)
    monkeypatch.setattr(distributed_files, "MAX_RANGE", 3000)
    engine = DaskEngine(ready(client))
    real = engine._result
    given_up = []

    def result(future):
        answer = real(future)
        if isinstance(answer, Piece) and len(given_up) < 2 and answer.ok + answer.failed > 2:
            given_up.append(answer)
            raise KilledWorker("range", "worker", 3)
        return answer

    monkeypatch.setattr(engine, "_result", result)
    got = "".join(p.text for p in engine.run_file(str(path), ("jsonl", None), True))
    assert len(given_up) == 2
    assert got == serial(path)


@pytest.mark.timeout(180)
def test_the_batch_command_mixes_shared_files_and_standard_input(client, tmp_path, monkeypatch):
    """Two files by ranges and stdin line by line, named in CSV: the serial run's bytes, counts and exit status."""
    from click.testing import CliRunner

    from autodiff_cli.cli import main, streams
    from autodiff_cli.distributed import DaskEngine

    first = mixed_file(tmp_path)
    second = tmp_path / "second.jsonl"
    second.write_bytes(b"x^2 x=2\r\nlog(x) x=-1\r\n")
    stdin = b"\xef\xbb\xbfsqrt(x) x=4\nnope(\n"
    args = ["batch", str(first), "-", str(second), "--format", "csv"]
    want = CliRunner().invoke(main, args, input=stdin)
    monkeypatch.setattr(streams, "_engine", lambda *a: DaskEngine(ready(client), tell=streams.say))
    got = CliRunner().invoke(main, args, input=stdin)
    assert (got.exit_code, got.stdout_bytes) == (want.exit_code, want.stdout_bytes) == (1, want.stdout_bytes)
    assert got.stderr.splitlines()[-1] == want.stderr.splitlines()[-1]  # "N ok, M failed"
    assert "is not the same file" not in got.stderr
