"""The DAG picture: read it back and check it says what the graph says.

The main check traces the drawn lines like a reader would, from every node's
label rightwards, along buses and through crossings, and compares the nodes it
arrives at with the node's users in the graph. A drawing that joins two lines
it should not, breaks one, or leaves a stray stroke fails it.
"""

from __future__ import annotations

import math
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_cli.engine import topological_order
from autodiff_cli.errors import AutodiffError
from autodiff_cli.graph_view import graph_view
from autodiff_cli.numbers import format_number
from autodiff_cli.parser import parse
from autodiff_cli.program import Program
from autodiff_cli.render import dag
from autodiff_cli.render.layout import ASCII, UNICODE, Box, cell_width, layout

# --- helpers ----------------------------------------------------------------------------

# directions each glyph connects: up, down, left, right
JOINS = {glyph: dirs for dirs, glyph in UNICODE.joins.items()}


def run(source: str, **bindings: float) -> Program:
    program = Program(parse(source))
    program.run(bindings)
    return program


def cells_of(rows: list[list[tuple[str, str]]]) -> list[list[str]]:
    """The picture as a grid of terminal cells (a wide letter fills two: itself, then '')."""
    grid = []
    for row in rows:
        cells: list[str] = []
        for text, _ in row:
            for ch in text:
                w = cell_width(ch)
                if w == 0 and cells:
                    cells[-1] += ch
                    continue
                cells.append(ch)
                cells.extend([""] * (w - 1))
        grid.append(cells)
    return grid


class Broken(AssertionError):
    pass


def trace(grid: list[list[str]], boxes: list[Box], start: int) -> tuple[set[int], set[tuple[int, int]]]:
    """The boxes a reader reaches by following the line out of box ``start``, and the cells walked."""
    owner = {}
    for i, b in enumerate(boxes):
        for c in range(b.col, b.col + b.width):
            owner[(b.row, c)] = i
    b = boxes[start]
    reached: set[int] = set()
    walked: set[tuple[int, int]] = set()
    todo = [(b.row, b.col + b.width + 1, "R")]
    seen = set()
    while todo:
        r, c, d = todo.pop()
        if (r, c, d) in seen:
            continue
        seen.add((r, c, d))
        if (r, c) in owner:
            t = owner[(r, c)]
            if d != "R" or c != boxes[t].col:
                raise Broken(f"a line runs into the middle of a label at row {r}, column {c}")
            reached.add(t)
            continue
        if r < 0 or r >= len(grid) or c >= len(grid[r]):
            raise Broken(f"a line runs off the picture at row {r}, column {c}")
        ch = grid[r][c]
        walked.add((r, c))
        step = {"R": (r, c + 1), "U": (r - 1, c), "D": (r + 1, c)}
        if d == "R" and ch in ("─", "│", "①", "②"):  # a line, a crossing, an operand mark
            todo.append((*step["R"], "R"))
        elif d in "UD" and ch == "│":
            todo.append((*step[d], d))
        elif ch in JOINS:
            up, down, left, right = JOINS[ch]
            came = {"R": left, "U": down, "D": up}[d]
            if not came:
                raise Broken(f"{ch!r} at row {r}, column {c} does not join the line arriving from {d}")
            for ok, nd in ((up and d != "D", "U"), (down and d != "U", "D"), (right, "R")):
                if ok:
                    todo.append((*step[nd], nd))
        else:
            raise Broken(f"the line breaks at row {r}, column {c} ({ch!r}, going {d})")
    return reached, walked


def check_picture(source: str, bindings: dict[str, float], width: int = 10_000) -> list[str]:
    """Draw the whole graph and trace every edge; return the picture's lines."""
    program = run(source, **bindings)
    boxes, shown, complete = dag._view(graph_view(program.graph), None, 4, UNICODE)
    assert complete
    rows, _ = layout(boxes, len(boxes) - 1, UNICODE, width, 10_000)
    assert rows is not None
    grid = cells_of(rows)
    # Every node below the result is one box; every box's operands are its node's.
    nodes = topological_order(program.graph.result)
    assert len(boxes) == shown == len(nodes)
    assert sum(len(b.children) for b in boxes) == sum(len(set(map(id, v._prev))) for v in nodes)
    walked_all: set[tuple[int, int]] = set()
    for i, b in enumerate(boxes):
        if not b.users:
            continue
        reached, walked = trace(grid, boxes, i)
        assert reached == set(b.users), f"box {i} ({b.runs}) reaches {reached}, should reach {b.users}"
        walked_all |= walked
    labels = {(b.row, c) for b in boxes for c in range(b.col, b.col + b.width)}
    strays = [
        (r, c)
        for r, cells in enumerate(grid)
        for c, ch in enumerate(cells)
        if ch.strip() and (r, c) not in labels and (r, c) not in walked_all
    ]
    assert not strays, f"strokes that belong to no edge: {strays[:5]}"
    return ["".join(cells) for cells in grid]


# --- the picture says what the graph says -------------------------------------------------

EXAMPLES = [
    ("c = a + b; d = c * 4", {"a": 2, "b": 3}),
    ("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1}),
    ("x*sin(x) + exp(-x)", {"x": 1.5}),
    ("x*x*x", {"x": 2}),
    ("c = a*b; c*c + c", {"a": 2, "b": 3}),
    ("z = a*b + c; y = tanh(z); y*z + y", {"a": 0.5, "b": -1, "c": 2}),
    ("atan2(y, x) + max(x, y)", {"x": 1, "y": 2}),
    ("θ = α*β; λ = sin(θ) + 变量; λ/θ", {"α": 0.5, "β": 2, "变量": 3}),
    ("a*b + (b - a)", {"a": 1, "b": 3}),
    ("h = tanh(w1*x1 + w2*x2 + b); (h - t)^2", {"w1": 1, "x1": 2, "w2": -1, "x2": 0.5, "b": 0, "t": 1}),
]


@pytest.mark.parametrize(("source", "bindings"), EXAMPLES)
def test_every_edge_is_drawn_and_nothing_else(source: str, bindings: dict[str, float]) -> None:
    check_picture(source, bindings)


def test_the_seed_picture() -> None:
    lines = check_picture("c = a + b; d = c * 4", {"a": 2, "b": 3})
    assert lines == [
        "a(2) ∂4 ──┐",
        "          ├─[+]→ c(5) ∂4 ──┐",
        "b(3) ∂4 ──┘                ├─[*]→ d(20) ∂1",
        "                       4 ──┘",
    ]


@st.composite
def programs(draw: st.DrawFn) -> str:
    """Programs with shared inputs, named intermediates read more than once, and 1- and 2-argument calls."""
    names = ["a", "b", "c"]

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["sin", "tanh", "-"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "atan2"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )

    statements = []
    count = draw(st.integers(1, 4))
    for k in range(count):
        leaves = st.sampled_from([*names, "2", "0.5"])
        expr = draw(st.recursive(leaves, extend, max_leaves=8))
        if k < count - 1:
            statements.append(f"t{k} = {expr}")
            names.append(f"t{k}")
        else:
            statements.append(expr)
    return "; ".join(statements)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_are_drawn_faithfully(source: str) -> None:
    try:
        check_picture(source, {"a": 0.3, "b": -0.7, "c": 1.1})
    except AutodiffError:
        assume(False)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(20, 160), st.booleans())
def test_every_picture_fits_the_width(source: str, width: int, ascii: bool) -> None:
    try:
        program = run(source, a=0.3, b=-0.7, c=1.1)
    except AutodiffError:
        assume(False)
    picture = dag.draw_dag(program.graph, width=width, ascii=ascii)
    assert picture.rows
    assert all(cell_width(line) <= width for line in picture.lines)
    assert len(picture.rows) <= dag.MAX_ROWS * (dag.TALL if picture.down else 1)
    if ascii:
        assert all(line.isascii() for line in picture.lines)
    assert dag.draw_dag(program.graph, width=width, ascii=ascii).lines == picture.lines  # deterministic


def test_the_picture_does_not_depend_on_hash_seeds() -> None:
    code = (
        "from autodiff_cli.program import Program; from autodiff_cli.parser import parse;"
        "from autodiff_cli.render.dag import draw_dag;"
        "p = Program(parse('z = a*b + c; y = tanh(z); w = max(y, z); y*z + w - atan2(a, w)'));"
        "p.run({'a': 0.5, 'b': -1, 'c': 2});"
        "print('\\n'.join(draw_dag(p.graph, width=400).lines))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1 and "[atan2]" in outputs.pop()


# --- labels ---------------------------------------------------------------------------------


def test_labels_show_name_or_operation_value_and_gradient() -> None:
    lines = check_picture("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1})
    text = "\n".join(lines)
    for piece in ("a(2) ∂9.978e-6", "b(3) ∂6.652e-6", "c(1) ∂3.326e-6", "[*]→ 6 ∂3.326e-6", "[tanh]→ 1.000 ∂1"):
        assert piece in text


def test_a_node_used_twice_by_one_operation_names_both_operands() -> None:
    text = "\n".join(check_picture("c = a*b; c*c + c", {"a": 2, "b": 3}))
    assert "[c*c]→ 36" in text
    assert "[max(x, x)]" in "\n".join(check_picture("max(x, x) + 1", {"x": 2}))


def test_operands_drawn_upside_down_are_marked_with_no_digit() -> None:
    """The marks read as first and second, never as numbers beside the values: ① ②, or * on the first in ASCII."""
    program = run("θ = α*β; λ = sin(θ) + 1; λ/θ", α=0.5, β=2)
    picture = dag.draw_dag(program.graph, width=200)
    rows = {text: k for k, row in enumerate(picture.rows) for text, kind in row if kind == "mark"}
    lines = picture.lines
    assert set(rows) == {"①", "②"}
    assert "θ(1)" in lines[rows["②"]] and "λ(" in lines[rows["①"]]
    assert any("first and the second operand" in note for note in dag.summary(picture, 200))
    plain = dag.draw_dag(program.graph, width=200, ascii=True)
    marks = [(k, text) for k, row in enumerate(plain.rows) for text, kind in row if kind == "mark"]
    assert len(marks) == 1 and marks[0][1] == "*" and "l(" not in plain.lines[marks[0][0]]
    assert "λ(" in plain.lines[marks[0][0]]
    assert any(note.startswith("*: the first operand") for note in dag.summary(plain, 200, ascii=True))
    for shown in (picture, plain):  # no digit stands on a line
        assert not any(
            kind in ("edge", "mark") and any(ch in "0123456789" for ch in text) for row in shown.rows for text, kind in row
        )
    # and not where the order shows
    upright = dag.draw_dag(run("a - b", a=1, b=2).graph, width=200)
    assert not any(kind == "mark" for row in upright.rows for _, kind in row)


@pytest.mark.parametrize(
    ("x", "digits", "shown"),
    [
        (2.0, 4, "2"),
        (20.0, 1, "20"),
        (-0.39999999999999997, 4, "-0.4"),  # float noise is not rounding
        (0.30000000000000004, 4, "0.3"),
        (0.9999983369439447, 4, "1.000"),  # rounded: keeps its zeros, not exactly 1
        (0.9999983369439447, 17, "0.9999983369439447"),
        (9.978328034703256e-06, 4, "9.978e-6"),
        (123456.0, 3, "1.23e5"),
        (1e20, 4, "1e20"),
        (-0.0, 4, "-0"),  # the sign of zero shows, as in the JSON
        (math.inf, 4, "inf"),
        (-math.inf, 4, "-inf"),
        (math.nan, 4, "nan"),
    ],
)
def test_format_number(x: float, digits: int, shown: str) -> None:
    assert format_number(x, digits) == shown


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 17))
def test_format_number_is_within_its_digits(x: float, digits: int) -> None:
    text = format_number(x, digits)
    shown, exact = Decimal(text), Decimal(x)
    rounded = abs(shown - exact) <= abs(exact) * Decimal(10) ** (1 - digits) / 2 * Decimal("1.000000001")
    assert rounded or float(text) == x  # rounded to the digits, or the shortest text that reads back as x


def test_cell_width_counts_terminal_columns() -> None:
    assert cell_width("abc") == 3
    assert cell_width("变量") == 4
    assert cell_width("é") == 1
    assert cell_width("e\u0301") == 1  # a combining accent takes no column


def test_ascii_uses_plain_characters() -> None:
    program = run("x*sin(x) + exp(-x)", x=1.5)
    picture = dag.draw_dag(program.graph, width=200, ascii=True)
    text = "\n".join(picture.lines)
    assert text.isascii()
    assert set(text) - set("x(1.5) g=0.88[*]>4967sin-exp+2312") <= {"|", "\n"}
    unicode = dag.draw_dag(program.graph, width=200)
    assert len(unicode.rows) == len(picture.rows)


# --- graphs too wide or too big ----------------------------------------------------------------


def test_too_wide_becomes_a_tree_with_shared_nodes_marked() -> None:
    program = run("z = a*b + c; y = tanh(z); y*z + y", a=0.5, b=-1, c=2)
    picture = dag.draw_dag(program.graph, width=54, max_rows=12)  # too narrow left to right, too few rows top down
    assert picture.kind == "tree" and picture.complete
    assert 54 < picture.needs <= 200  # and at that width it fits (below)
    lines = picture.lines
    assert lines[0].startswith("[+] 2.263")
    assert sum("y(0.9051)" in line for line in lines) == 2  # drawn once, then marked
    assert sum(line.endswith("↑") for line in lines) == 2  # y and z, met again
    assert all(cell_width(line) <= 54 for line in lines)
    assert dag.draw_dag(program.graph, width=picture.needs, max_rows=12).kind == "dag"


def test_a_big_graph_shows_the_part_nearest_the_result() -> None:
    source = " + ".join(f"sin({k}*x)*y" for k in range(1, 3001))
    program = run(source, x=0.5, y=2)
    picture = dag.draw_dag(program.graph, width=80)
    assert picture.kind == "dag" and not picture.complete
    assert picture.total == 15_001 and 3 <= picture.shown < 100
    assert len(picture.rows) <= dag.MAX_ROWS
    assert "⋯" in picture.lines[0]
    assert any("14,9" in note and "--graph dot" in note for note in dag.summary(picture, 80))


def test_a_deep_chain_does_not_recurse() -> None:
    source = "x" + "".join(f"\nx = tanh(x + {k})" for k in range(5000))
    program = run(source, x=0.1)
    picture = dag.draw_dag(program.graph, width=100)
    assert picture.kind == "dag" and not picture.complete and len(picture.rows) <= dag.MAX_ROWS
    assert "[tanh]→ x(" in "\n".join(picture.lines)


def test_when_nothing_fits_the_tree_is_cut() -> None:
    program = run(" + ".join(f"a{k}*b{k}" for k in range(200)), **{f"{p}{k}": 1.0 for k in range(200) for p in "ab"})
    picture = dag.draw_dag(program.graph, width=20, max_rows=10)
    assert picture.kind == "tree" and not picture.complete
    assert len(picture.rows) == 10 and all(cell_width(line) <= 20 for line in picture.lines)


def test_a_lone_leaf() -> None:
    assert dag.draw_dag(run("a", a=2).graph).lines == ["a(2) ∂1"]
    assert dag.draw_dag(run("2").graph).lines == ["2"]


def test_layout_is_pure_geometry() -> None:
    boxes = [Box([("p", "name")], []), Box([("q", "name")], []), Box([("r", "name")], [0, 1])]
    rows, needs = layout(boxes, 2, ASCII, 80, 10)
    assert ["".join(t for t, _ in row) for row in rows] == ["p --+", "    +-r", "q --+"]
    assert needs == 7
    assert layout(boxes, 2, ASCII, 6, 10) == (None, 7)
