"""One rule for a CSV cell, wherever it is read: bindings.parse_number.

A sweep reads a block of plain numeric rows with float() (the fast path) and
falls back to reading each row's cells with parse_number (the careful path)
when any row fails. float() takes more than parse_number does (Unicode
digits and spaces, 1_000, infinity), so a cell such as "1" and a no-break
space used to be 1.0 in a clean block and an input error in a block with a
failing row. The property: a cell gives the same record whether or not its
block has a failing row, and that record is what parse_number says.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autodiff_cli.bindings import parse_number
from autodiff_cli.errors import AutodiffError
from autodiff_cli.program import compile_program
from autodiff_cli.sweep import Sweep

# Pieces a hostile cell is made of: what float() reads and parse_number does not, and the plain ones.
PIECES = [
    *"0123456789.eE+- \t_",
    "\u00a0",  # no-break space
    "\u2009",  # thin space
    "\u3000",  # ideographic space
    "\x1c",  # a separator str.strip() drops
    "\x0b",
    "\x0c",
    "١",  # Arabic-Indic one
    "٣",
    "１",  # fullwidth one
    "𝟗",  # mathematical bold nine
    "infinity",
    "inf",
    "nan",
    "NaN",
    "1e999",
    "1_000",
]
CELLS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)


def records(cells: list[str]) -> list[dict]:
    """The JSON-lines records of a sweep of ``x`` over one CSV column holding ``cells``."""
    sweep = Sweep(compile_program("x"), {}, [], "jsonl")
    data = ("x\n" + "".join(f"{cell}\n" for cell in cells)).encode("utf-8")
    return [json.loads(line) for chunk in sweep.run(io.BytesIO(data)) for line in chunk.splitlines() if line]


def verdict(cell: str) -> float | str:
    try:
        return parse_number(cell, "x")
    except AutodiffError as err:
        return err.kind


@settings(max_examples=300, deadline=None)
@given(CELLS)
@example("1\u00a0")
@example("1_000")
@example("١")
@example("infinity")
@example(" 2\t")
def test_a_cell_means_the_same_with_or_without_a_failing_row_in_its_block(cell: str) -> None:
    clean = records(["1", cell, "2"])
    with_failure = records(["1", cell, "2", "not a number"])
    assert clean[1] == with_failure[1]
    expected = verdict(cell)
    if isinstance(expected, float):
        assert clean[1]["value"] == expected and clean[1]["inputs"]["x"] == expected
    else:
        assert clean[1]["error"]["kind"] == expected
    assert clean[0]["value"] == 1.0 and clean[2]["value"] == 2.0  # its neighbours are untouched


@pytest.mark.parametrize("cell", ["1\u00a0", "1_000", "١", "１", "infinity", "nan", "1e999", "\u20091"])
def test_what_float_reads_and_a_binding_does_not_is_an_input_error_in_any_block(cell: str) -> None:
    for rows in ([cell], ["1", cell], [cell] * 5000):  # 5,000 rows: more than one block
        got = records(rows)
        assert all(r["error"]["kind"] == "input" for r in got if r["inputs"]["x"] != 1.0)


def test_a_block_of_plain_cells_reads_every_spelling_parse_number_takes() -> None:
    cells = ["1", "+2.", ".5", "-3e2", "4E-1", " 5", "6\t", "\t7 ", "0008", "-0"]
    got = records(cells)
    assert [r["value"] for r in got] == [parse_number(c) for c in cells]
