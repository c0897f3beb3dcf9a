"""Where each node and edge of a graph goes on a page: the geometry the SVG and HTML painters draw.

The arrangement (each node's column and row) is render/layout.py's ``place``,
the one the terminal picture uses; this module only turns it into
coordinates. A node's label is a few lines of monospace text whose size is
estimated from its characters (``CHAR`` wide, ``LINE`` high), so the
geometry is known without a font or a browser. Edges run as in the terminal
picture: along the operand's row (free from its column to its last user's,
so the line meets no box), then up or down in the gap before the user's
column, on a track of their own, into one port per operand. Nothing here
writes SVG: a painter reads ``Geometry``.
"""

from __future__ import annotations

from ..graph_view import GraphView, Node
from ..numbers import format_number, table_digits
from .layout import Box, cell_width, place

__all__ = ["CHAR", "FONT", "LINE", "Edge", "Geometry", "Shape", "geometry"]

FONT = 13.0
"""Font size of every label, in px."""

CHAR = 0.62 * FONT
"""Advance of one monospace character: 0.6 em in the common monospace fonts, with a little to spare."""

LINE = 18.0
"""Height of one line of a label."""

PAD = 8.0  # inside a box, around its text
GUTTER = 12.0  # the strip left of an operation's text where its operands' numbers go
PORT = 16.0  # between two ports of one box
MARGIN = 16.0  # around the drawing
ROW_GAP = 16.0  # between two rows of boxes
GAP = 28.0  # a gap between columns, at least
TRACK = 8.0  # between two vertical lines in a gap

_SYMMETRIC = frozenset({"+", "*", "min", "max"})

Run = tuple[str, str]  # (text, kind): op, name, key, value, grad, const


class Shape:
    """One node's box: where it is, what it says, and where its operands come in."""

    __slots__ = ("h", "index", "lines", "node", "ordered", "ports", "result", "w", "x", "y")

    def __init__(self, index: int, node: Node, lines: list[list[Run]], result: bool, ordered: bool) -> None:
        self.index = index  # position in Geometry.shapes, children first
        self.node = node
        self.lines = lines
        self.result = result
        self.ordered = ordered  # its operands' order matters (a - b): the ports are numbered
        self.x = self.y = self.w = self.h = 0.0
        self.ports: list[float] = []  # y of each operand's port on the left side, in operand order

    @property
    def text_x(self) -> float:
        """Where the label's text starts: after the port numbers' strip for an operation."""
        return self.x + PAD + (GUTTER if self.node.inputs else 0.0)

    def baseline(self, line: int) -> float:
        return self.y + PAD + LINE * line + FONT


class Edge:
    """An operand's line into its user: ``source`` feeds argument ``position`` of ``target``."""

    __slots__ = ("points", "position", "source", "target")

    def __init__(self, source: int, target: int, position: int, points: list[tuple[float, float]]) -> None:
        self.source = source
        self.target = target
        self.position = position
        self.points = points  # a polyline: out of the source's right side, into the target's port


class Geometry:
    """The whole drawing: boxes children first (the result last), edges, joins and size."""

    __slots__ = ("edges", "height", "joins", "legend_y", "shapes", "width")

    def __init__(
        self, shapes: list[Shape], edges: list[Edge], joins: list[tuple[float, float]], width: float, height: float
    ) -> None:
        self.shapes = shapes
        self.edges = edges
        self.joins = joins  # where a line branches off another of the same operand: drawn as a dot
        self.width = width
        self.height = height
        self.legend_y = height - MARGIN  # baseline of the legend under the drawing


def _lines(v: Node, name: str | None, digits: int, literal: bool) -> list[list[Run]]:
    """A node's label: operation and name, then its value and its gradient; a number written in a program alone
    is its value (``literal``: a Value graph's leaves are no program's numbers, so they show their gradients)."""
    if not v.inputs and not name and literal:
        return [[(format_number(v.value, digits), "const")]]
    head: list[Run] = [(v.label, "op")] if v.inputs else []
    if name:
        head += [(" → ", "key"), (name, "name")] if head else [(name, "name")]
    value = [("value ", "key"), (format_number(v.value, digits), "value")]
    grad = [("grad ", "key"), (format_number(v.grad, digits), "grad")]
    return [head, value, grad] if head else [value, grad]


def text_width(runs: list[Run]) -> float:
    """Estimated width of a line of runs in the monospace font (a wide letter takes two cells)."""
    return CHAR * sum(cell_width(text) for text, _ in runs)


def geometry(
    view: GraphView, digits: int | None = None, names: dict[Node, str] | None = None, room: dict[Node, str] | None = None
) -> Geometry:
    """The coordinates of every node and edge of ``view`` (the nodes below its result).

    ``names`` are what each node is called (``view.called`` when None); numbers
    have ``digits`` significant digits (TABLE_DIGITS when None). ``room``: the
    longest number a node's box must have room for besides its own (the HTML
    page writes each step's partial gradients into the boxes).
    """
    digits = table_digits(digits)
    called = view.called if names is None else names
    order = view.order
    index = {v: i for i, v in enumerate(order)}
    boxes = [Box([], list(dict.fromkeys(index[c] for c in v.inputs))) for v in order]
    nrows = place(boxes, len(boxes) - 1)
    shapes = []
    for i, v in enumerate(order):
        ordered = len(v.inputs) == 2 and v.op not in _SYMMETRIC
        shape = Shape(i, v, _lines(v, called.get(v), digits, bool(view.source)), v is view.result, ordered)
        extra = [[("value ", "key"), (room[v], "value")]] if room and v in room else []
        shape.w = 2 * PAD + (GUTTER if v.inputs else 0.0) + max(text_width(line) for line in [*shape.lines, *extra])
        shape.h = 2 * PAD + LINE * len(shape.lines) - (LINE - FONT) + 4.0
        shapes.append(shape)
    _rows_to_y(shapes, boxes, nrows)
    edges = [(index[c], i, k) for i, v in enumerate(order) for k, c in enumerate(v.inputs)]
    tracks = _tracks(shapes, boxes, edges)
    xs, width = _columns(shapes, boxes, tracks)
    made: list[Edge] = []
    ends: dict[int, float] = {}  # how far right each operand's line goes
    for (s, t, k), track in zip(edges, tracks[0], strict=True):
        a, b = shapes[s], shapes[t]
        tx = xs[boxes[t].layer] - GAP / 2 - track * TRACK
        sy, py = a.y + a.h / 2, b.ports[k]
        points = [(a.x + a.w, sy), (tx, sy), (tx, py), (b.x, py)]
        made.append(Edge(s, t, k, [p for j, p in enumerate(points) if j == 0 or p != points[j - 1]]))
        ends[s] = max(ends.get(s, 0.0), tx)
    joins = [(e.points[1][0], e.points[1][1]) for e in made if len(e.points) > 2 and e.points[1][0] < ends[e.source]]
    height = max((s.y + s.h for s in shapes), default=0.0) + ROW_GAP + LINE + MARGIN
    return Geometry(shapes, made, sorted(set(joins)), width, height)


def _rows_to_y(shapes: list[Shape], boxes: list[Box], nrows: int) -> None:
    """Each row as tall as its tallest box; a box centred on its row, its ports spread about the centre."""
    tall = [0.0] * nrows
    for shape, box in zip(shapes, boxes, strict=True):
        tall[box.row] = max(tall[box.row], shape.h)
    top = [MARGIN] * nrows
    for r in range(1, nrows):
        top[r] = top[r - 1] + tall[r - 1] + ROW_GAP
    for shape, box in zip(shapes, boxes, strict=True):
        centre = top[box.row] + tall[box.row] / 2
        shape.y = centre - shape.h / 2
        n = len(shape.node.inputs)
        shape.ports = [centre + (k - (n - 1) / 2) * PORT for k in range(n)]


def _tracks(shapes: list[Shape], boxes: list[Box], edges: list[tuple[int, int, int]]) -> tuple[list[int], dict[int, int]]:
    """A track in the gap before its target's column for each edge, and how many tracks each gap needs.

    Two edges share a track when their vertical stretches are well apart;
    tracks are counted from the target's side, so the first fits next to it.
    """
    by_gap: dict[int, list[tuple[float, float, int]]] = {}
    for e, (s, t, k) in enumerate(edges):
        sy, py = shapes[s].y + shapes[s].h / 2, shapes[t].ports[k]
        by_gap.setdefault(boxes[t].layer, []).append((min(sy, py), max(sy, py), e))
    chosen = [0] * len(edges)
    counts: dict[int, int] = {}
    for layer, spans in by_gap.items():
        ends: list[float] = []  # the lowest y used on each track so far
        for lo, hi, e in sorted(spans):
            free = next((j for j, end in enumerate(ends) if end + TRACK < lo), None)
            if free is None:
                free = len(ends)
                ends.append(hi)
            ends[free] = hi
            chosen[e] = free
        counts[layer] = len(ends)
    return chosen, counts


def _columns(shapes: list[Shape], boxes: list[Box], tracks: tuple[list[int], dict[int, int]]) -> tuple[list[float], float]:
    """Each column's left x (a leaf sits against its column's right side) and the drawing's width."""
    layers = max((b.layer for b in boxes), default=0) + 1
    wide = [0.0] * layers
    for shape, box in zip(shapes, boxes, strict=True):
        wide[box.layer] = max(wide[box.layer], shape.w)
    xs = [MARGIN] * layers
    for k in range(1, layers):
        xs[k] = xs[k - 1] + wide[k - 1] + GAP + TRACK * max(tracks[1].get(k, 0) - 1, 0)
    for shape, box in zip(shapes, boxes, strict=True):
        right = not shape.node.inputs and box.layer > 0
        shape.x = xs[box.layer] + (wide[box.layer] - shape.w if right else 0.0)
    return xs, xs[-1] + wide[-1] + MARGIN
