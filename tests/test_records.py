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
import pathlib
import subprocess
import sys

import pytest

from autodiff_cli.errors import DOMAIN, AutodiffError
from autodiff_cli.program import compile_program
from autodiff_cli.records import Done, dumps, finite_or_text, result_record, sweep_format

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
