"""The whole graph for real drawing tools: Graphviz DOT and Mermaid flowcharts.

DOT follows micrograd's ``draw_dot``: left to right, one record per value
(name, data, grad), and a small node per operation between its operands and
its result. Every node below the result appears once, however large the graph.
"""

from __future__ import annotations

from ..engine import Value, topological_order
from ..parser import Graph
from .dag import format_number, node_names, op_label

__all__ = ["to_dot", "to_mermaid"]


def _numbered(graph: Graph) -> tuple[list[Value], dict[Value, str]]:
    nodes = topological_order(graph.result)
    return nodes, {v: f"v{i}" for i, v in enumerate(nodes)}


def _operands(v: Value) -> list[Value]:
    return list(dict.fromkeys(v._prev))


def _dot_quote(text: str) -> str:
    # In a DOT string only \" is an escape; a backslash stays, for the record syntax to read.
    return '"' + text.replace('"', '\\"') + '"'


def _record_field(text: str) -> str:
    out = []
    for ch in text:
        if ch in '{}|<>\\':
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def to_dot(graph: Graph, digits: int = 4) -> str:
    """Graphviz DOT for the graph after a run; ``dot -Tsvg`` draws it."""
    nodes, ids = _numbered(graph)
    names = node_names(graph)
    lines = [
        "digraph autodiff {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica"];',
    ]
    for v in nodes:
        fields = [names[v]] if v in names else []
        fields += [f"data {format_number(v.data, digits)}", f"grad {format_number(v.grad, digits)}"]
        label = "{ " + " | ".join(_record_field(f) for f in fields) + " }"
        lines.append(f"  {ids[v]} [shape=record, label={_dot_quote(label)}];")
        if v._prev:
            lines.append(f"  {ids[v]}_op [label={_dot_quote(op_label(v))}];")
            lines.append(f"  {ids[v]}_op -> {ids[v]};")
    for v in nodes:
        for c in _operands(v):
            lines.append(f"  {ids[c]} -> {ids[v]}_op;")
    lines.append("}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: Graph, digits: int = 4) -> str:
    """A Mermaid flowchart (``flowchart LR``) of the graph after a run."""
    nodes, ids = _numbered(graph)
    names = node_names(graph)
    lines = ["flowchart LR"]
    for v in nodes:
        parts = [_mermaid_text(names[v])] if v in names else []
        parts += [f"data {format_number(v.data, digits)}", f"grad {format_number(v.grad, digits)}"]
        lines.append(f'  {ids[v]}["{"<br/>".join(parts)}"]')
        if v._prev:
            lines.append(f'  {ids[v]}_op(("{_mermaid_text(op_label(v))}"))')
            lines.append(f"  {ids[v]}_op --> {ids[v]}")
    for v in nodes:
        for c in _operands(v):
            lines.append(f"  {ids[c]} --> {ids[v]}_op")
    return "\n".join(lines)
