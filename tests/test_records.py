"""The machine contract lives in records.py and records_csv.py: checked with json, csv and ast.

A sweep's CSV and JSON lines for a block must say the same numbers (read back
with the standard library's readers), and batch and sweep must build their
records without reaching up into render.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff_cli.errors import DOMAIN, AutodiffError
from autodiff_cli.program import compile_program
from autodiff_cli.records import Done, dumps, file_label, finite_or_text, result_record, sweep_format

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli"
NAMES = ["a", "b"]
GIVEN = [[0.1, -2.0, 1e-300], [3.0, 0.5, 7.25]]
SHOWN: list[list[str] | None] = [None, ["3", ".5", "7.250"]]  # b as the rows wrote it


def _block(fmt: str) -> str:
    values = [a * b for a, b in zip(*GIVEN, strict=True)]
    return sweep_format(fmt, NAMES).block(Done(4, GIVEN, SHOWN, values, [GIVEN[1], GIVEN[0]]))


@pytest.mark.timeout(10)
def test_sweep_jsonl_block_reads_back_exactly() -> None:
    rows = [json.loads(line) for line in _block("jsonl").splitlines()]
    assert [r["row"] for r in rows] == [4, 5, 6]
    for r, a, b in zip(rows, *GIVEN, strict=True):
        assert r["inputs"] == {"a": a, "b": b}  # the floats read, not the text written
        assert r["value"] == a * b and r["gradients"] == {"a": b, "b": a}


@pytest.mark.timeout(10)
def test_sweep_csv_block_echoes_what_the_rows_wrote() -> None:
    fmt = sweep_format("csv", NAMES)
    rows = list(csv.reader(io.StringIO(fmt.header() + _block("csv"))))
    assert rows[0] == ["a", "b", "value", "d/da", "d/db", "error_kind", "error_message"]
    assert [r[1] for r in rows[1:]] == ["3", ".5", "7.250"]
    for r, a, b in zip(rows[1:], *GIVEN, strict=True):
        assert float(r[0]) == a and [float(x) for x in r[2:5]] == [a * b, b, a] and r[5:] == ["", ""]


@pytest.mark.timeout(10)
def test_single_rows_match_blocks() -> None:
    result = compile_program("a*b").run({"a": 0.1, "b": 3.0})
    for fmt in ("csv", "jsonl"):
        out = sweep_format(fmt, NAMES)
        one = out.success(4, {"a": 0.1, "b": 3.0}, {"a": 0.1, "b": 3.0}, result)
        block = out.block(Done(4, [[0.1], [3.0]], [None, None], [result.value], [[3.0], [0.1]]))
        assert one == block, fmt
    failed = sweep_format("jsonl", NAMES).failure(9, {"a": 1.0}, AutodiffError(DOMAIN, "no"))
    assert json.loads(failed) == {"row": 9, "inputs": {"a": 1.0}, "error": {"kind": "domain", "message": "no"}}


@pytest.mark.timeout(10)
def test_records_are_rfc_8259() -> None:
    result = compile_program("a/b").run({"a": 1.0, "b": 0.0}, strict=False)
    line = dumps(result_record("a/b", result))
    assert json.loads(line)["value"] == "inf"  # no bare Infinity
    assert [finite_or_text(x) for x in (math.inf, -math.inf, math.nan, 0.5)] == ["inf", "-inf", "nan", 0.5]
    assert dumps({"s": "a\u2028b"}) == '{"s": "a\\u2028b"}'  # one record, one line for every reader


def _imports(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.timeout(10)
@pytest.mark.parametrize("module", ["batch.py", "sweep.py", "jobs.py", "records.py", "records_csv.py"])
def test_records_never_come_from_render(module: str) -> None:
    assert not any("render" in name for name in _imports(PACKAGE / module))


@pytest.mark.timeout(60)
def test_records_load_no_display() -> None:
    code = "import sys, autodiff_cli.records, autodiff_cli.records_csv; print(any(m.startswith('rich') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=50)
    assert out.stdout.strip() == "False"


# --- a FILE's name in records ------------------------------------------------------------------

# Byte names: two that are not UTF-8 (a lone 0xFF, a stray continuation byte), UTF-8 past ASCII, a line break.
FILE_NAMES = [b"\xff.txt", b"a\x80b.txt", "é.txt".encode(), b"na\nme.txt"]


@given(st.binary(max_size=40))
def test_a_file_label_is_the_bytes_as_backslashreplace_decodes_them(name: bytes) -> None:
    label = file_label(os.fsdecode(name))
    assert label == name.decode("utf-8", "backslashreplace")  # the standard codec, an independent reference
    label.encode("utf-8")  # valid Unicode: no lone surrogate left


@pytest.mark.parametrize(("name", "label"), [("\ud800x", "\\ud800x"), ("\udfff", "\\udfff"), ("\U0001f600", "\U0001f600")])
def test_other_lone_surrogates_are_written_as_u_escapes(name: str, label: str) -> None:
    assert file_label(name) == label


def test_dask_ranges_name_their_file_by_the_same_rule() -> None:
    from autodiff_cli.distributed_files import write_records

    piece = write_records([{"line": 1, "value": 2.0}], ("jsonl", os.fsdecode(b"\xfe\x80.txt")))
    assert json.loads(piece.text.encode("utf-8").decode("utf-8"))["file"] == "\\xfe\\x80.txt"


@pytest.mark.timeout(60)
@pytest.mark.skipif(sys.platform != "linux", reason="file names that are not UTF-8 are a POSIX matter")
@pytest.mark.parametrize("fmt", ["--json", "--format=csv"])
def test_batch_names_files_in_valid_utf8_whatever_their_bytes(fmt: str, tmp_path: pathlib.Path) -> None:
    paths = []
    for i, name in enumerate(FILE_NAMES):
        path = os.path.join(os.fsencode(tmp_path), name)
        with open(path, "wb") as f:
            f.write(f'{{"expr": "a*{i}", "vars": {{"a": 1}}}}\n'.encode())
        paths.append(path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG")}
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"autodiff_cli", b"batch", *paths, fmt.encode()],
        capture_output=True,
        env=env,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")  # strict: raises on any byte that is not UTF-8
    want = [os.fsdecode(p).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for p in paths]
    if fmt == "--json":
        records = [json.loads(line) for line in text.splitlines()]
        assert [r["file"] for r in records] == want and [r["value"] for r in records] == [0.0, 1.0, 2.0, 3.0]
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [r["file"] for r in rows] == want and [r["value"] for r in rows] == ["0.0", "1.0", "2.0", "3.0"]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), _JSON_VALUES, max_size=6))
def test_the_one_encoder_writes_what_json_dumps_writes(record: dict) -> None:
    # dumps keeps CPython's C encoder between calls: it must write json.dumps's text (then escape line breakers).
    want = json.dumps(record, ensure_ascii=False, allow_nan=False)
    for ch, escaped in (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        want = want.replace(ch, escaped)
    assert dumps(record) == want
    assert json.loads(dumps(record)) == record
