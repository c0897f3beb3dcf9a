"""render draws from graph_view's plain nodes, never from the engine, the parser or the ops table.

The view is checked against the engine's own Values (value, gradient, operands
in order, the ops table's spelling), and the pictures' modules against their imports.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from autodiff_cli.engine import topological_order
from autodiff_cli.graph_view import graph_view
from autodiff_cli.ops import OPS
from autodiff_cli.program import compile_program

RENDER = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli" / "render"
PROGRAMS = [
    ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0}),
    ("z = a*a; y = z - a; max(y, z) / a", {"a": 1.5}),
    ("y = x*3; u = y + 1; 2", {"x": 4.0}),  # names that do not feed the result
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("source", "bindings"), PROGRAMS)
def test_view_says_what_the_engine_holds(source: str, bindings: dict[str, float]) -> None:
    program = compile_program(source)
    program.run(bindings)
    graph = program.graph
    view = graph_view(graph)
    assert graph_view(view) is view
    values = topological_order(graph.result)
    assert len(view.order) == len(values) and view.order[-1] is view.result
    seen = {}
    for v, node in zip(values, view.order, strict=True):
        seen[v] = node
        assert (node.value, node.grad, node.op) == (v.data, v.grad, v._op)
        assert node.inputs == tuple(seen[c] for c in v._prev)  # operands in order, repeats kept
        op = OPS.get(v._op)
        assert node.label == ("" if op is None else op.symbol or op.name) and node.infix == bool(op and op.symbol)
    for name, v in {**graph.inputs, **graph.names}.items():
        node = view.inputs.get(name) or view.names[name]
        assert (node.value, node.grad) == (v.data, v.grad)
        assert name in view.called[node].split("=")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("module", ["dag.py", "display.py", "export.py", "layout.py", "vertical.py", "routing.py"])
def test_pictures_import_no_engine_parser_or_ops(module: str) -> None:
    tree = ast.parse((RENDER / module).read_text(encoding="utf-8"))
    imported = {"." * n.level + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"..engine", "..parser", "..ops", "..graph"}, imported
