"""The DAG picture, read back from its characters alone (tests/dag_oracle.py), is the program's graph.

Operands are compared in order, on the issue's programs, on random programs
full of operations whose operands' order matters, left to right and top to
bottom, at widths that call for every form of the picture.
"""

from __future__ import annotations

import pathlib
import random

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from autodiff_cli.engine import Value, topological_order
from autodiff_cli.errors import AutodiffError
from autodiff_cli.graph_view import graph_view
from autodiff_cli.parser import parse
from autodiff_cli.program import Program
from autodiff_cli.render import dag
from autodiff_cli.render.layout import ASCII, UNICODE, cell_width
from autodiff_cli.render.vertical import vertical

from .dag_oracle import Misdrawn, assert_drawn_as_graph, assert_labels_clear, unicode_of


def run(source: str, **bindings: float) -> Program:
    program = Program(parse(source))
    program.run(bindings)
    return program


EXAMPLES = [
    ("c = a + b; d = c * 4", {"a": 2, "b": 3}),
    ("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1}),
    ("x*sin(x) + exp(-x)", {"x": 1.5}),
    ("c = a*b; c*c + c", {"a": 2, "b": 3}),
    ("z = a*b + c; y = tanh(z); y*z + y", {"a": 0.5, "b": -1, "c": 2}),
    ("θ = α*β; λ = sin(θ) + 变量; λ/θ", {"α": 0.5, "β": 2, "变量": 3}),
    ("m = max(a, b); s = exp(a - m) + exp(b - m); log(s) + m", {"a": 1, "b": 2}),
    ("b - a", {"a": 1, "b": 3}),
    ("t = a - b; t / (b - t) ^ a", {"a": 1.5, "b": 3}),
    ("atan2(x, y) - atan2(y, x)", {"x": 1, "y": 2}),
]


@pytest.mark.parametrize(("source", "bindings"), EXAMPLES)
@pytest.mark.parametrize("width", [60, 80, 120, 200, 10_000])
def test_the_picture_reads_back_as_the_graph(source: str, bindings: dict[str, float], width: int) -> None:
    program = run(source, **bindings)
    picture = dag.draw_dag(program.graph, width=width)
    if picture.kind != "dag":
        pytest.skip(f"not drawn as a DAG at {width} columns")
    assert_drawn_as_graph(picture.lines, program.graph)


def test_the_oracle_catches_swapped_operands() -> None:
    """b - a drawn with the labels of its operands swapped must fail, though every edge is there."""
    program = run("b - a", a=1, b=3)
    lines = dag.draw_dag(program.graph, width=200).lines
    assert_drawn_as_graph(lines, program.graph)
    swapped = [
        line.replace("b(3) ∂1", "XXXXXXX").replace("a(1) ∂-1", "b(3) ∂1 ").replace("XXXXXXX", "a(1) ∂-1") for line in lines
    ]
    assert swapped != lines
    with pytest.raises(AssertionError):
        assert_drawn_as_graph(swapped, program.graph)


def test_the_oracle_catches_a_broken_line() -> None:
    program = run("tanh(a*b+c)", a=2, b=3, c=1)
    lines = dag.draw_dag(program.graph, width=200).lines
    broken = [line.replace("├", "│", 1) for line in lines]
    with pytest.raises(AssertionError):
        assert_drawn_as_graph(broken, program.graph)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """Programs full of operations whose operands' order matters, with shared names."""
    names = ["a", "b", "c"]

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["-", "/", "^", "+", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["sin", "tanh", "-"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["atan2", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )

    statements = []
    count = draw(st.integers(1, 4))
    for k in range(count):
        leaves = st.sampled_from([*names, "2", "0.5"])
        expr = draw(st.recursive(leaves, extend, max_leaves=7))
        if k < count - 1:
            statements.append(f"t{k} = {expr}")
            names.append(f"t{k}")
        else:
            statements.append(expr)
    return "; ".join(statements)


@pytest.mark.timeout(300)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from([50, 60, 80, 120, 10_000]), st.booleans())
def test_random_pictures_read_back_as_their_graphs(source: str, width: int, ascii: bool) -> None:
    """In Unicode and in plain ASCII (read as a person reads + and *), labels clear of other nodes' lines."""
    try:
        program = run(source, a=0.3, b=1.7, c=1.1)
    except AutodiffError:
        assume(False)
    picture = dag.draw_dag(program.graph, width=width, ascii=ascii)
    assume(picture.kind == "dag" and picture.complete)
    lines = unicode_of(picture.lines) if ascii else picture.lines
    assert_labels_clear(lines)
    assert_drawn_as_graph(lines, program.graph)


MLP = {
    "x1": 0.5, "x2": -1.5, "w11": 0.8, "w12": -0.4, "b1": 0.1, "w21": -0.6, "w22": 0.3, "b2": 0.0,
    "w31": 1.2, "w32": 0.7, "b3": 0.5, "v1": 1.5, "v2": -2.0, "v3": 0.5, "c": 0.2, "t": 1.0,
}  # fmt: skip
ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("source", "bindings", "width"),
    [
        ("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1}, 80),
        ((ROOT / "examples" / "shared.ad").read_text(encoding="utf-8"), {"a": 0.5, "b": -1, "c": 2}, 80),
        ("m = max(a, b); s = exp(a - m) + exp(b - m); log(s) + m", {"a": 1, "b": 2}, 80),
        ((ROOT / "examples" / "mlp.ad").read_text(encoding="utf-8"), MLP, 120),
    ],
    ids=["mission", "shared", "logsumexp", "mlp"],
)
def test_the_issues_programs_draw_as_dags(source: str, bindings: dict[str, float], width: int) -> None:
    """Before compact labels these were trees below 123, 151 and 255 columns."""
    program = run(source, **bindings)
    picture = dag.draw_dag(program.graph, width=width)
    assert picture.kind == "dag" and picture.complete
    assert all(cell_width(line) <= width for line in picture.lines)
    assert_drawn_as_graph(picture.lines, program.graph)


def test_small_programs_draw_as_dags_at_80_columns() -> None:
    """Programs of up to 15 nodes and depth up to 6 (a sample): nearly all are DAGs at 80 columns."""
    rnd = random.Random(7)

    def expr(d: int, names: list[str]) -> str:
        if d == 0 or rnd.random() < 0.25:
            return rnd.choice([*names, "2", "0.5"])
        k = rnd.random()
        if k < 0.5:
            return f"({expr(d - 1, names)} {rnd.choice('+-*/^')} {expr(d - 1, names)})"
        if k < 0.8:
            return f"{rnd.choice(['sin', 'tanh', 'exp', 'cos'])}({expr(d - 1, names)})"
        return f"{rnd.choice(['atan2', 'max'])}({expr(d - 1, names)}, {expr(d - 1, names)})"

    drawn = tried = 0
    while tried < 150:
        names = ["a", "b", "c"]
        statements = []
        for k in range(rnd.randint(1, 3)):
            statements.append(f"t{k} = {expr(3, names)}")
            names.append(f"t{k}")
        try:
            program = run("; ".join([*statements, expr(3, names)]), a=0.7, b=1.3, c=2.1)
        except AutodiffError:
            continue
        nodes = topological_order(program.graph.result)
        if len(nodes) > 15 or _depth(program.graph.result) > 6:
            continue
        tried += 1
        picture = dag.draw_dag(program.graph, width=80)
        if picture.kind == "dag":
            drawn += 1
            assert_drawn_as_graph(picture.lines, program.graph)
    assert drawn >= 0.97 * tried


def _depth(v: Value) -> int:
    depth: dict[int, int] = {}
    for n in topological_order(v):
        depth[id(n)] = 1 + max((depth[id(c)] for c in n._prev), default=-1)
    return depth[id(v)]


@pytest.mark.timeout(300)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
# Drawn as it first placed its columns, two lines needed one column whichever bus lay lower.
@example("t0 = a; t1 = tanh(a); t2 = (max(t1, b) - (b - sin(t1))); (t1 - t2)")
def test_random_top_to_bottom_pictures_read_back_as_their_graphs(source: str) -> None:
    try:
        program = run(source, a=0.3, b=1.7, c=1.1)
    except AutodiffError:
        assume(False)
    for g in (UNICODE, ASCII):
        boxes, _, _ = dag._view(graph_view(program.graph), None, 3, g, compact=True)
        rows, _ = vertical(boxes, len(boxes) - 1, g, 10_000, 10_000)
        assert rows is not None
        lines = ["".join(text for text, _ in row) for row in rows]
        assert_drawn_as_graph(unicode_of(lines) if g is ASCII else lines, program.graph)


def test_the_oracle_catches_a_gradient_standing_after_another_nodes_line() -> None:
    """x ───┐ ∂-0.78 reads as x's gradient: a value or gradient line must stand clear of other nodes' line ends."""
    clear = [
        "a ───┐",
        "=2   ├─[*]→",
        "∂3   │ =6",
        "     │ ∂1",
        "b ───┘",
        "=3",
        "∂2",
    ]
    assert_labels_clear(clear)
    crowded = [*clear[:3], "b ───┘ ∂1", "=3", "∂2"]
    with pytest.raises(Misdrawn, match="right after"):
        assert_labels_clear(crowded)
    with pytest.raises(Misdrawn, match="runs through"):
        assert_labels_clear([*clear[:3], "     │ ∂1─", *clear[4:]])


def test_ascii_buses_on_one_track_keep_a_row_apart() -> None:
    """In ASCII a bus ending (+) right above another starting (+) reads as one bus: x1 and y2 joined (Coulomb's law)."""
    program = run("dx = x2 - x1; dy = y2 - y1; r2 = dx^2 + dy^2; k*q1*q2/r2", k=9, q1=1, q2=-2, x1=0, y1=0, x2=0.3, y2=0.4)
    for width in (80, 120, 200):
        lines = dag.draw_dag(program.graph, width=width, ascii=True).lines
        for r in range(len(lines) - 1):
            for c, ch in enumerate(lines[r]):
                below = lines[r + 1][c : c + 1]
                if ch == "+" and below == "+":  # one above the other: they must be one line
                    above_dirs = unicode_of(lines)[r][c]
                    assert above_dirs in "┬┼├┤┌┐", f"row {r}, column {c}: + over + that are not joined"
        assert_drawn_as_graph(unicode_of(lines), program.graph)
