"""A layered drawing in box-drawing characters: boxes of text joined by buses, left to right.

The geometry behind render/dag.py, free of anything autodiff: boxes (runs of
styled text) with children. A box's column is its depth from the leaves (a
leaf sits just left of its first user); rows follow an in-order walk so that
a box with two children sits between them, as in

    a(2) ──┐
           ├─→ c(5)
    b(3) ──┘

and a row holds several boxes when their stretches do not meet. Each gap
between columns holds one vertical bus per box of the next column, on tracks
ordered to cross as few lines as possible (render/routing.py). A crossing is
a vertical line through an unbroken horizontal one; joins are always corner or
tee glyphs, so the two never look alike.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from .blocks import stack
from .routing import Drawing, candidates, misread, relays, route, span

__all__ = ["ASCII", "UNICODE", "Box", "Glyphs", "Run", "cell_width", "layout", "place"]

Run = tuple[str, str]  # (text, kind): the kind names a style (name, value, grad, op, edge, ...)


# Plain classes, not dataclasses: making a dataclass costs about a millisecond of start-up.


class Glyphs(NamedTuple):
    """The characters of one drawing style."""

    h: str
    v: str
    cross: str
    arrow: str
    more: str
    grad: str
    # box corners and tees by (up, down, left, right)
    joins: dict[tuple[bool, bool, bool, bool], str]
    tree: tuple[str, str, str, str]  # branch, last branch, pipe, space
    shared: str
    # the first and second operand's marks, where the first comes in below the second: not digits, which
    # read as numbers next to the values; plain ASCII has no such glyph, so it marks the first alone
    marks: tuple[str, str] = ("①", "②")


def _joins(chars: str) -> dict[tuple[bool, bool, bool, bool], str]:
    keys = [
        (False, True, True, False),  # ┐
        (True, False, True, False),  # ┘
        (False, True, False, True),  # ┌
        (True, False, False, True),  # └
        (True, True, True, False),  # ┤
        (True, True, False, True),  # ├
        (False, True, True, True),  # ┬
        (True, False, True, True),  # ┴
        (True, True, True, True),  # ┼
        (True, True, False, False),  # │
        (False, False, True, True),  # ─
    ]
    return dict(zip(keys, chars, strict=True))


UNICODE = Glyphs("─", "│", "│", "→", "⋯", " ∂", _joins("┐┘┌└┤├┬┴┼│─"), ("├── ", "└── ", "│   ", "    "), "↑")
ASCII = Glyphs("-", "|", "|", ">", "...", " g=", _joins("+++++++++|-"), ("|-- ", "`-- ", "|   ", "    "), "^", ("*", ""))


def cell_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide East Asian letters take two, marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


class Box:
    """A label with children (indices of earlier boxes); layout() fills in where it goes."""

    __slots__ = ("children", "col", "extra", "head", "layer", "ordered", "right_aligned", "row", "runs", "users", "width")

    def __init__(self, runs: list[Run], children: list[int], ordered: bool = False, extra: list[list[Run]] | None = None) -> None:
        self.runs = runs
        self.extra = extra or []  # lines of the label under the first (the compact form), left-aligned with it
        self.children = children
        self.ordered = ordered  # an operation whose operands' order matters (a - b, not a + b)
        self.users: list[int] = []
        self.width = 0  # of the whole label
        self.head = 0  # of its first line, where the edges leave
        self.layer = 0
        self.row = 0
        self.col = 0  # first column of the label
        self.right_aligned = False


def _layers(nodes: list[Box]) -> None:
    """Columns: an operation right of its operands, a leaf just left of its first user."""
    for n in nodes:
        n.users = []
        n.layer = 0
        n.right_aligned = False
    for i, n in enumerate(nodes):
        for c in n.children:
            nodes[c].users.append(i)
        if n.children:
            n.layer = 1 + max(nodes[c].layer for c in n.children)
    for n in nodes:  # nodes come children first
        if not n.children and n.users:
            n.layer = min(nodes[u].layer for u in n.users) - 1
            n.right_aligned = n.layer > 0


def _sequence(nodes: list[Box], root: int) -> list[int]:
    """In-order: the first operands, the operation, the others (each node once)."""
    out: list[int] = []
    seen: set[int] = set()
    tasks: list[tuple[bool, int]] = [(False, root)]
    while tasks:
        emit, i = tasks.pop()
        if emit:
            out.append(i)
            continue
        if i in seen:
            continue
        seen.add(i)
        kids = nodes[i].children
        half = (len(kids) + 1) // 2  # a box with many operands sits among them, as one with two between
        tasks.extend((False, k) for k in reversed(kids[half:]))
        tasks.append((True, i))
        tasks.extend((False, k) for k in reversed(kids[:half]))
    return out


def _rows(nodes: list[Box], order: list[int]) -> int:
    """Give each node a row; a row holds several nodes when their stretches do not meet."""
    last_on_row: list[int] = []
    end_of_row: list[int] = []
    for i in order:
        n = nodes[i]
        start, end = span(n, nodes)
        row = -1
        if len(n.children) == 1:
            s = n.children[0]
            if nodes[s].users == [i] and last_on_row[nodes[s].row] == s:
                row = nodes[s].row  # a straight line from the only operand
        if row < 0 and end_of_row and end_of_row[-1] < start:
            row = len(end_of_row) - 1
        if row < 0:
            last_on_row.append(i)
            end_of_row.append(end)
            row = len(end_of_row) - 1
        n.row = row
        last_on_row[row] = i
        end_of_row[row] = end
    return len(end_of_row)


def place(nodes: list[Box], root: int) -> int:
    """Give every box its column (``layer``) and ``row``, text aside; return the number of rows.

    This is the whole graph's arrangement, shared by every painter: the
    terminal drawing below routes lines between these places, and
    render/geometry.py turns them into coordinates for SVG and HTML. A
    node's row is free from its column to its last user's, so a line along
    it meets no other box.
    """
    _layers(nodes)
    return _rows(nodes, _sequence(nodes, root))


def _least_width(nodes: list[Box]) -> int:
    """Columns a drawing takes at least: each column as wide as its widest label, a column of line between."""
    widest: dict[int, int] = {}
    for n in nodes:
        widest[n.layer] = max(widest.get(n.layer, 0), n.width + 1)
    return sum(widest.values()) + len(widest) - 2


def layout(
    nodes: list[Box], root: int, g: Glyphs, width: int, max_rows: int, tight: bool = False
) -> tuple[list[list[Run]] | None, int]:
    """Place and draw: the rows, or None when wider or taller than allowed; and the width needed (0: too tall).

    ``tight`` spends one column less on the line into each gap (``─┐``, not ``──┐``).

    A drawing must read back as the graph it draws. Where one does not (a line
    going on through a bus that gathers two operands joins them to whatever
    that line goes on to), the edges concerned get relay rows and the drawing
    is made again; with all of them relayed, no such joins are left.
    """
    base_rows = place(nodes, root)
    for n in nodes:
        n.head = sum(cell_width(t) for t, _ in n.runs)
        n.width = max([n.head, *(sum(cell_width(t) for t, _ in line) for line in n.extra)])
    if tight and _least_width(nodes) > width:
        return None, 0  # hopeless: not worth routing (the width it would need is not known then)
    apart = int(len(set(g.joins.values())) < len(g.joins))  # corners that look alike must not touch
    placed = [n.row for n in nodes]
    edges = candidates(nodes)
    chosen: list[tuple[int, int]] = []
    while True:
        for n, row in zip(nodes, placed, strict=True):
            n.row = row
        relay_rows, nrows = relays(nodes, base_rows, chosen)
        if nrows > max_rows:
            return None, 0
        drawing = route(nodes, relay_rows, nrows, 1 if tight else 2, apart)
        if len(chosen) == len(edges) or not misread(nodes, drawing):
            break
        # Relay the edges whose operand's line goes on past the bus; if none is left, all of them.
        more = [e for e in edges if e not in chosen and e in drawing.passing]
        chosen += more or [e for e in edges if e not in chosen]
    stack(drawing, nodes)  # before saying what width it needs: at that width it must fit the rows too
    if drawing.nrows > max_rows:
        return None, 0
    if drawing.width > width:
        return None, drawing.width
    return _runs(drawing, nodes, g), drawing.width


def _runs(drawing: Drawing, nodes: list[Box], g: Glyphs) -> list[list[Run]]:
    """The drawing in ``g``'s characters, as rows of styled runs."""
    cells: list[list[Run | None]] = [[None] * drawing.width for _ in range(drawing.nrows)]
    for n in nodes:
        col = n.col
        for text, kind in n.runs:
            for ch in text:
                w = cell_width(ch)
                if w == 0 and col > n.col:  # a combining mark rides on the letter before it
                    prev = cells[n.row][col - 1]
                    if prev is not None:
                        cells[n.row][col - 1] = (prev[0] + ch, prev[1])
                    continue
                cells[n.row][col] = (ch, kind)
                for k in range(1, w):
                    cells[n.row][col + k] = ("", kind)
                col += w
    for (r, col), pieces in drawing.extras.items():
        for text, kind in pieces:
            for ch in text:  # numbers and ∂: one column each
                cells[r][col] = (ch, kind)
                col += 1
    for (r, c), join in drawing.joins.items():
        glyph = g.cross if join == "x" else g.v if join == "v" else g.joins[join]  # type: ignore[index]
        cells[r][c] = (glyph, "edge")
    for (r, c), mark in drawing.marks.items():
        glyph = g.marks[int(mark) - 1]
        if glyph:  # else the line goes on through (a cell on the operand's line)
            cells[r][c] = (glyph, "mark")
    rows: list[list[Run]] = []
    for r in range(drawing.nrows):
        runs: list[Run] = []
        for c in range(drawing.width):
            cell = cells[r][c]
            if cell is None:
                cell = (g.h, "edge") if c in drawing.line[r] else (" ", "edge")
            if runs and runs[-1][1] == cell[1]:
                runs[-1] = (runs[-1][0] + cell[0], cell[1])
            else:
                runs.append(cell)
        while runs and runs[-1][1] == "edge" and not runs[-1][0].strip():
            runs.pop()
        if runs and runs[-1][1] == "edge":
            runs[-1] = (runs[-1][0].rstrip(), "edge")
        rows.append(runs)
    return rows
