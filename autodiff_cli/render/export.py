"""The whole graph for real drawing tools: Graphviz DOT and Mermaid flowcharts.

DOT follows micrograd's ``draw_dot``: left to right, one record per value
(name, data, grad), and a small node per operation between its operands and
its result. Every node below the result appears once, however large the graph.
"""

from __future__ import annotations

from ..graph_view import Drawable, graph_view
from ..numbers import format_number, table_digits

__all__ = ["to_dot", "to_mermaid"]


def _parts(graph: Drawable, digits: int | None) -> tuple[list[tuple[str, list[str], str | None]], list[tuple[str, str]]]:
    """Every value (id, label fields, operation or None) and every operand edge (value id, operation id)."""
    view = graph_view(graph)
    nodes = view.order
    ids = {v: f"v{i}" for i, v in enumerate(nodes)}
    names = view.called
    digits = table_digits(digits)
    values = []
    for v in nodes:
        fields = [names[v]] if v in names else []
        fields += [f"data {format_number(v.value, digits)}", f"grad {format_number(v.grad, digits)}"]
        values.append((ids[v], fields, v.label if v.inputs else None))
    edges = [(ids[c], f"{ids[v]}_op") for v in nodes for c in dict.fromkeys(v.inputs)]
    return values, edges


def _dot_quote(text: str) -> str:
    # In a DOT string only \" is an escape; a backslash stays, for the record syntax to read.
    return '"' + text.replace('"', '\\"') + '"'


def _record_field(text: str) -> str:
    return "".join("\\" + ch if ch in "{}|<>\\" else ch for ch in text)


def to_dot(graph: Drawable, digits: int | None = None) -> str:
    """Graphviz DOT for the graph after a run; ``dot -Tsvg`` draws it."""
    values, edges = _parts(graph, digits)
    lines = ["digraph autodiff {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for key, fields, op in values:
        label = "{ " + " | ".join(_record_field(f) for f in fields) + " }"
        lines.append(f"  {key} [shape=record, label={_dot_quote(label)}];")
        if op is not None:
            lines.append(f"  {key}_op [label={_dot_quote(op)}];")
            lines.append(f"  {key}_op -> {key};")
    lines += [f"  {a} -> {b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: Drawable, digits: int | None = None) -> str:
    """A Mermaid flowchart (``flowchart LR``) of the graph after a run."""
    values, edges = _parts(graph, digits)
    lines = ["flowchart LR"]
    for key, fields, op in values:
        lines.append(f'  {key}["{"<br/>".join(_mermaid_text(f) for f in fields)}"]')
        if op is not None:
            lines.append(f'  {key}_op(("{_mermaid_text(op)}"))')
            lines.append(f"  {key}_op --> {key}")
    lines += [f"  {a} --> {b}" for a, b in edges]
    return "\n".join(lines)
