"""--graph dot and --graph mermaid: every node once, with its name, operation, value and gradient."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.engine import topological_order
from autodiff_cli.numbers import TABLE_DIGITS, format_number
from autodiff_cli.parser import parse
from autodiff_cli.program import Program
from autodiff_cli.render.export import to_dot, to_mermaid

PROGRAMS = [
    ("c = a + b; d = c * 4", {"a": 2, "b": 3}),
    ("z = a*b + c; y = tanh(z); y*z + y", {"a": 0.5, "b": -1, "c": 2}),
    ("θ = α*β; λ = sin(θ) + 变量; λ/θ", {"α": 0.5, "β": 2, "变量": 3}),
    ("x*x - max(x, 2) + atan2(x, -x)", {"x": 1.5}),
]


def run(source: str, bindings: dict[str, float]) -> Program:
    program = Program(parse(source))
    program.run(bindings)
    return program


def graph_facts(program: Program) -> tuple[int, int, int]:
    """Values, operations and operand edges (each distinct operand once) below the result."""
    nodes = topological_order(program.graph.result)
    ops = [v for v in nodes if v._prev]
    return len(nodes), len(ops), sum(len({id(c) for c in v._prev}) for v in ops)


def dot_or_skip() -> None:
    """Skip without Graphviz, except where it is required (CI sets AUTODIFF_REQUIRE=graphviz): fail there."""
    if shutil.which("dot") is None:
        if "graphviz" in os.environ.get("AUTODIFF_REQUIRE", "").split(","):
            pytest.fail("AUTODIFF_REQUIRE=graphviz, but Graphviz's dot is not on PATH")
        pytest.skip("Graphviz is not installed (.ci/run installs it)")


def test_a_required_graphviz_that_is_missing_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("AUTODIFF_REQUIRE", "graphviz")
    with pytest.raises(pytest.fail.Exception, match="AUTODIFF_REQUIRE"):
        dot_or_skip()
    monkeypatch.delenv("AUTODIFF_REQUIRE")
    with pytest.raises(pytest.skip.Exception):
        dot_or_skip()


@pytest.mark.parametrize(("source", "bindings"), PROGRAMS)
def test_graphviz_draws_the_dot(source: str, bindings: dict[str, float]) -> None:
    dot_or_skip()
    program = run(source, bindings)
    dot = to_dot(program.graph)
    svg = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True, timeout=60).stdout
    root = ET.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    groups = root.findall(".//svg:g", ns)
    nodes = [g for g in groups if g.get("class") == "node"]
    edges = [g for g in groups if g.get("class") == "edge"]
    values, ops, operands = graph_facts(program)
    assert len(nodes) == values + ops  # a record per value, a small node per operation
    assert len(edges) == ops + operands  # op -> its value, and operand -> op
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for name in program.graph.inputs:
        assert name in texts
    assert f"data {format_number(program.graph.result.data, TABLE_DIGITS)}" in texts
    assert "grad 1" in texts  # the result's own gradient


def test_dot_holds_names_values_gradients_and_operations() -> None:
    program = run("c = a + b; d = c * 4", {"a": 2, "b": 3})
    dot = to_dot(program.graph)
    assert "rankdir=LR" in dot
    records = re.findall(r'label="\{ (.*?) \}"', dot)
    assert sorted(records) == sorted(
        ["a | data 2 | grad 4", "b | data 3 | grad 4", "c | data 5 | grad 4", "d | data 20 | grad 1", "data 4 | grad 5"]
    )
    assert sorted(re.findall(r'_op \[label="(.)"\]', dot)) == ["*", "+"]


@pytest.mark.parametrize(("source", "bindings"), PROGRAMS)
def test_mermaid_holds_every_node_once(source: str, bindings: dict[str, float]) -> None:
    program = run(source, bindings)
    text = to_mermaid(program.graph)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    boxes = [re.fullmatch(r'  (v\d+)\["(.*)"\]', line) for line in lines]
    circles = [re.fullmatch(r'  (v\d+_op)\(\("(.*)"\)\)', line) for line in lines]
    arrows = [re.fullmatch(r"  (v\d+(?:_op)?) --> (v\d+(?:_op)?)", line) for line in lines]
    assert all(b or c or a for b, c, a in zip(boxes[1:], circles[1:], arrows[1:], strict=True))
    ids = [m.group(1) for m in boxes + circles if m]
    assert len(ids) == len(set(ids))
    values, ops, operands = graph_facts(program)
    assert sum(1 for m in boxes if m) == values
    assert sum(1 for m in circles if m) == ops
    assert sum(1 for m in arrows if m) == ops + operands
    declared = set(ids)
    assert all(m.group(1) in declared and m.group(2) in declared for m in arrows if m)
    labels = " ".join(m.group(2) for m in boxes if m)
    for name in program.graph.inputs:
        assert name in labels
    assert "grad 1" in labels


def test_the_cli_prints_the_exports() -> None:
    runner = CliRunner()
    dot = runner.invoke(main, ["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1", "--graph", "dot"])
    assert dot.exit_code == 0 and dot.output.startswith("digraph autodiff {")
    mermaid = runner.invoke(main, ["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1", "--graph", "mermaid", "--digits", "6"])
    assert mermaid.exit_code == 0 and mermaid.output.startswith("flowchart LR")
    assert "data 0.999998" in mermaid.output


def test_exports_of_a_big_graph_hold_every_node() -> None:
    source = " + ".join(f"{k}*x" for k in range(1, 2001))
    program = run(source, {"x": 0.5})
    values, ops, operands = graph_facts(program)
    assert to_dot(program.graph).count("shape=record") == values == 1 + 2000 + 2000 + 1999
    assert to_mermaid(program.graph).count(" --> ") == ops + operands
