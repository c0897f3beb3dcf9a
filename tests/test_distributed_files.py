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

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import distributed_files
from autodiff_cli.distributed_files import count_starts, probe, range_lines, write_records
from autodiff_cli.lines import MAX_LINE_BYTES, LineReader, Overlong

PIECES = [b"x^2 x=3", b"", b"   ", b"# c", "\u03b8 \u03b8=1 \u00e9\u20ac\U0001f600".encode(), b"\xff\xfe", b"\xef\xbb\xbf", b"a" * 50]
ENDS = [b"\n", b"\r\n", b"\r", b"\n\r", b"\r\r\n"]


def whole(data: bytes) -> list[tuple[int, bytes | Overlong]]:
    return list(LineReader(io.BytesIO(data)))


def by_ranges(path: str, size: int, cut: int, first_line: int = 1) -> list[tuple[int, bytes | Overlong]]:
    """The file's lines read range by range, ``cut`` bytes a range, numbered from the grain counts."""
    counts = [c for start in range(0, size, distributed_files.REGION) for c in count_starts(path, start, min(start + distributed_files.REGION, size))]
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
    assert sum(count_starts(str(path), 0, len(data))) == len(whole(data))


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
    records = [{"line": 3, "expr": "x", "value": 1.0, "gradients": {"x": 1.0}}, {"line": 5, "error": {"kind": "syntax", "message": "m"}}]
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
