"""The graph as an SVG drawing: render/geometry.py's coordinates, painted as vector graphics.

No Graphviz, no other program, no new dependency: a string of SVG that any
browser, notebook or vector editor shows at any size. Every node shows its
operation or name, its value and its gradient; an operation whose operands'
order matters numbers its ports 1 and 2. Colours live in one embedded
<style>, light by default (it prints well) and dark under
``prefers-color-scheme: dark``; ``PALETTES`` holds them so that a test can
compute their contrast. Every text from a program is made printable
(text.printable) and then XML-escaped, so no name or comment can end an
element or inject markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..graph_view import Drawable, GraphView, Node, graph_view
from ..program import Program, compile_program
from ..text import clip, printable
from .geometry import FONT, Geometry, Shape, geometry, text_width

__all__ = ["PALETTES", "TEXT_KINDS", "program_svg", "svg_document", "to_svg", "xml_text"]

PALETTES: dict[str, dict[str, str]] = {
    "light": {
        "bg": "#ffffff",
        "box": "#f8fafc",
        "stroke": "#475569",
        "result": "#0f766e",
        "edge": "#64748b",
        "op": "#6d28d9",
        "name": "#0f172a",
        "key": "#475569",
        "value": "#1d4ed8",
        "grad": "#b91c1c",
        "const": "#334155",
        "port": "#334155",
        "legend": "#334155",
        "current": "#fef3c7",
        "mark": "#b45309",
    },
    "dark": {
        "bg": "#0f172a",
        "box": "#1e293b",
        "stroke": "#94a3b8",
        "result": "#5eead4",
        "edge": "#94a3b8",
        "op": "#c4b5fd",
        "name": "#f1f5f9",
        "key": "#cbd5e1",
        "value": "#93c5fd",
        "grad": "#fca5a5",
        "const": "#e2e8f0",
        "port": "#e2e8f0",
        "legend": "#e2e8f0",
        "current": "#422006",
        "mark": "#fbbf24",
    },
}
"""The colours of each scheme: text kinds are read on "box" and on "current" (a node the HTML page
is at: that fill, a "mark" border; the nodes it touches get the border alone), the legend on "bg"."""

TEXT_KINDS = ("op", "name", "key", "value", "grad", "const", "port")
"""The kinds of text drawn inside a box (on its fill); the legend is drawn on the background."""

LEGEND = "value: the node's value   grad: ∂result/∂node   ①, ②: first and second operand"
# The terminal picture's operand marks (render.layout.UNICODE.marks), never digits that read as numbers.
PORTS = "①②③④⑤⑥⑦⑧⑨"

FONTS = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"


def xml_text(text: str) -> str:
    """``text`` safe as XML character data and inside a double-quoted attribute, whatever it holds.

    Control characters (which XML 1.0 cannot hold at all), bidi overrides and
    lone surrogates are first shown as escapes (text.printable).
    """
    text = printable(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")


def _rules(colours: Mapping[str, str]) -> str:
    return (
        f".ad-bg{{fill:{colours['bg']}}}"
        f".ad-box{{fill:{colours['box']};stroke:{colours['stroke']}}}"
        f".ad-result .ad-box{{stroke:{colours['result']};stroke-width:2.5}}"
        f".ad-edge{{fill:none;stroke:{colours['edge']}}}"
        f".ad-join,.ad-arrow{{fill:{colours['edge']}}}"
        f".ad-current .ad-box{{fill:{colours['current']};stroke:{colours['mark']};stroke-width:4}}"
        f".ad-touched .ad-box{{stroke:{colours['mark']};stroke-width:2.5;stroke-dasharray:5 3}}"
        + "".join(f".ad-{kind}{{fill:{colours[kind]}}}" for kind in (*TEXT_KINDS, "legend"))
    )


def style_sheet() -> str:
    """The drawing's CSS: the light palette, the dark one under prefers-color-scheme (no '<' or '&' in it)."""
    return (
        f"svg.ad-graph text{{font-family:{FONTS};font-size:{FONT:g}px;white-space:pre}}"
        ".ad-op,.ad-name{font-weight:bold}.ad-box{stroke-width:1.2}.ad-edge{stroke-width:1.4}"
        + _rules(PALETTES["light"])
        + "@media (prefers-color-scheme: dark){"
        + _rules(PALETTES["dark"])
        + "}"
    )


def _shape(shape: Shape, key: str) -> list[str]:
    """A node's box and label, in a group that carries its number (and, on a page, explain's id)."""
    cls = "ad-node ad-result" if shape.result else "ad-node"
    out = [f'<g class="{cls}" id="ad-n{shape.index}"{key}>']
    out.append(f'<rect class="ad-box" x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" height="{shape.h:.1f}" rx="5"/>')
    for i, line in enumerate(shape.lines):
        spans = "".join(f'<tspan class="ad-{kind}">{xml_text(text)}</tspan>' for text, kind in line)
        out.append(f'<text x="{shape.text_x:.1f}" y="{shape.baseline(i):.1f}">{spans}</text>')
    if shape.ordered:
        for k, y in enumerate(shape.ports):
            port = PORTS[k] if k < len(PORTS) else str(k + 1)
            out.append(f'<text class="ad-port" x="{shape.x + 3:.1f}" y="{y + FONT * 0.35:.1f}">{port}</text>')
    out.append("</g>")
    return out


def svg_document(geo: Geometry, title: str, keys: Mapping[int, str] | None = None, legend: bool = True) -> str:
    """The SVG element of ``geo``; ``keys`` give shapes a ``data-id`` (explain's ids, on the HTML page)."""
    width, height = geo.width, geo.height if legend else geo.height - 18.0
    if legend:  # a small graph is narrower than its legend line: the picture widens to hold it
        width = max(width, 16 + text_width([(LEGEND, "legend")]) + 16)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ad-graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" font-size="{FONT:g}" role="img" aria-label="{xml_text(title)}">',
        f"<title>{xml_text(title)}</title>",
        f"<style>{style_sheet()}</style>",
        '<defs><marker id="ad-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">'
        '<path class="ad-arrow" d="M0,0 L8,4 L0,8 z"/></marker></defs>',
        f'<rect class="ad-bg" width="{width:.1f}" height="{height:.1f}"/>',
        '<g class="ad-edges">',
    ]
    for e in geo.edges:
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(e.points))
        ends = f'data-from="ad-n{e.source}" data-to="ad-n{e.target}" data-arg="{e.position}"'
        out.append(f'<path class="ad-edge" d="{d}" marker-end="url(#ad-arrow)" {ends}/>')
    out += [f'<circle class="ad-join" cx="{x:.1f}" cy="{y:.1f}" r="2.6"/>' for x, y in geo.joins]
    out.append("</g>")
    for shape in geo.shapes:
        key = keys.get(shape.index) if keys else None
        out += _shape(shape, f' data-id="{xml_text(key)}"' if key is not None else "")
    if legend:
        out.append(f'<text class="ad-legend" x="16" y="{geo.legend_y:.1f}">{xml_text(LEGEND)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def to_svg(graph: Drawable, digits: int | None = None, names: dict[Node, str] | None = None) -> str:
    """An SVG drawing of a graph that has been run (``Program.run``), every node with its value and gradient.

    ``names`` are what each node is called (the view's own names when None).
    """
    view: GraphView = graph_view(graph)
    return svg_document(geometry(view, digits, names), "autodiff: " + clip(view.source, 200) if view.source else "autodiff graph")


def program_svg(program: str | Program, bindings: Mapping[str, float] | None = None, digits: int | None = None) -> str:
    """The SVG picture of ``program`` run at ``bindings``: what ``autodiff eval ... --graph svg`` prints."""
    compiled = compile_program(program) if isinstance(program, str) else program
    compiled.run(bindings or {})
    return to_svg(compiled.graph, digits)
