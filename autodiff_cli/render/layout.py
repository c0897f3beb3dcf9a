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
ordered to cross as few lines as possible. A crossing is a vertical line
through an unbroken horizontal one; joins are always corner or tee glyphs, so
the two never look alike.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

__all__ = ["ASCII", "UNICODE", "Box", "Glyphs", "Run", "cell_width", "layout"]

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
ASCII = Glyphs("-", "|", "|", ">", "...", " g=", _joins("+++++++++|-"), ("|-- ", "`-- ", "|   ", "    "), "^")


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

    __slots__ = ("children", "col", "layer", "ordered", "right_aligned", "row", "runs", "users", "width")

    def __init__(self, runs: list[Run], children: list[int], ordered: bool = False) -> None:
        self.runs = runs
        self.children = children
        self.ordered = ordered  # an operation whose operands' order matters (a - b, not a + b)
        self.users: list[int] = []
        self.width = 0
        self.layer = 0
        self.row = 0
        self.col = 0  # first column of the label
        self.right_aligned = False



def _layers(nodes: list[Box]) -> None:
    for i, n in enumerate(nodes):
        for c in n.children:
            nodes[c].users.append(i)
        if n.children:
            n.layer = 1 + max(nodes[c].layer for c in n.children)
    for n in nodes:  # nodes come children first; a leaf moves right, next to its first user
        if not n.children and n.users:
            n.layer = min(nodes[u].layer for u in n.users) - 1
            n.right_aligned = n.layer > 0


def _sequence(nodes: list[Box], root: int) -> list[int]:
    """In-order: first operand, the operation, second operand (each node once)."""
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
        if len(kids) >= 2:
            tasks.append((False, kids[1]))
        tasks.append((True, i))
        if kids:
            tasks.append((False, kids[0]))
    return out


def _span(n: Box, nodes: list[Box]) -> tuple[int, int]:
    """The stretch of its row a node needs, in half-columns: 2k is the gap before column k."""
    start = 2 * n.layer if n.children else 2 * n.layer + 1
    end = 2 * max(nodes[u].layer for u in n.users) if n.users else 2 * n.layer + 1
    return start, end


def _rows(nodes: list[Box], order: list[int]) -> int:
    """Give each node a row; a row holds several nodes when their stretches do not meet."""
    last_on_row: list[int] = []
    end_of_row: list[int] = []
    for i in order:
        n = nodes[i]
        start, end = _span(n, nodes)
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


class _Net:
    """The bus in the gap before an operation: its operands' rows join its own row."""

    __slots__ = ("hi", "lo", "sources", "target", "track")

    def __init__(self, target: int, rows: list[int], sources: set[int]) -> None:
        self.target = target
        self.sources = sources  # rows where an operand comes in
        self.lo, self.hi = rows[0], rows[-1]  # rows: every row on the bus, sorted
        self.track = 0


def _nets(nodes: list[Box], layer: int) -> list[_Net]:
    nets = []
    for i, n in enumerate(nodes):
        if n.layer == layer + 1 and n.children:
            sources = {nodes[c].row for c in n.children}
            rows = sorted(sources | {n.row})
            if len(rows) > 1:
                nets.append(_Net(i, rows, sources))
    return nets


def _assign_tracks(nets: list[_Net]) -> int:
    """Tracks in order; a net reuses a track when it overlaps no earlier net there."""
    count = 0
    for k, net in enumerate(nets):
        net.track = 1 + max((m.track for m in nets[:k] if m.lo <= net.hi and net.lo <= m.hi), default=-1)
        count = max(count, net.track + 1)
    return count


def _reach(nodes: list[Box], rows_in_gap: dict[int, int], nets: list[_Net], layer: int) -> dict[int, tuple[int, int]]:
    """Which tracks the line on each row covers in the gap after ``layer`` (lo, hi; hi = past the end)."""
    track_of = {net.target: net.track for net in nets}
    inf = 1 << 30
    reach = {}
    for row, i in rows_in_gap.items():
        n = nodes[i]
        if n.layer == layer + 1:  # an exit, from its own track to the right
            reach[row] = (track_of.get(i, -1), inf)
        elif any(nodes[u].layer > layer + 1 for u in n.users):
            reach[row] = (-1, inf)  # passes through
        else:
            ends = [track_of.get(u, inf) for u in n.users if nodes[u].layer == layer + 1]
            reach[row] = (-1, max(ends))
    return reach


def _crossings(nets: list[_Net], reach: dict[int, tuple[int, int]]) -> int:
    total = 0
    for net in nets:
        for row in range(net.lo + 1, net.hi):
            if row in net.sources:
                continue
            lo, hi = reach.get(row, (0, -1))
            if lo < net.track <= hi:
                total += 1
    return total


def _order_gap(nodes: list[Box], nets: list[_Net], rows_in_gap: dict[int, int], layer: int) -> int:
    """Order the buses of one gap to cross few lines (ties: fewer tracks); return the track count."""

    def score(order: list[_Net]) -> tuple[int, int]:
        count = _assign_tracks(order)
        return _crossings(order, _reach(nodes, rows_in_gap, order, layer)), count

    order = sorted(nets, key=lambda n: (n.lo, n.hi, n.target))
    best = score(order)
    improved = len(order) <= 12
    while improved:
        improved = False
        for k in range(len(order) - 1):
            trial = [*order[:k], order[k + 1], order[k], *order[k + 2 :]]
            s = score(trial)
            if s < best:
                order, best, improved = trial, s, True
    nets[:] = order
    return _assign_tracks(order)


def layout(nodes: list[Box], root: int, g: Glyphs, width: int, max_rows: int) -> tuple[list[list[Run]] | None, int]:
    """Place and draw: the rows, or None when wider or taller than allowed; and the width needed (0: too tall)."""
    _layers(nodes)
    nrows = _rows(nodes, _sequence(nodes, root))
    if nrows > max_rows:
        return None, 0
    depth = max(n.layer for n in nodes) + 1
    for n in nodes:
        n.width = sum(cell_width(t) for t, _ in n.runs)
    layer_width = [0] * depth
    for n in nodes:
        layer_width[n.layer] = max(layer_width[n.layer], n.width + 1)
    # Which node's line crosses each gap on each row (at most one, by construction of the rows).
    in_gap: list[dict[int, int]] = [{} for _ in range(depth)]
    for i, n in enumerate(nodes):
        start, end = _span(n, nodes)
        for gap in range(max(0, (start - 1) // 2), depth - 1):
            if start <= 2 * gap + 2 <= end:
                in_gap[gap][n.row] = i
    gaps: list[list[_Net]] = []
    gap_width = []
    for gap in range(depth - 1):
        nets = _nets(nodes, gap)
        tracks = _order_gap(nodes, nets, in_gap[gap], gap)
        gaps.append(nets)
        gap_width.append(2 * tracks + 2)
    x = [0] * depth
    for k in range(1, depth):
        x[k] = x[k - 1] + layer_width[k - 1] + gap_width[k - 1]
    total_width = x[-1] + layer_width[-1] - 1
    if total_width > width:
        return None, total_width
    return _paint(nodes, gaps, x, layer_width, nrows, total_width, g), total_width


def _paint(
    nodes: list[Box],
    gaps: list[list[_Net]],
    x: list[int],
    layer_width: list[int],
    nrows: int,
    total_width: int,
    g: Glyphs,
) -> list[list[Run]]:
    track_x: dict[int, int] = {}
    for gap, nets in enumerate(gaps):
        for net in nets:
            track_x[net.target] = x[gap] + layer_width[gap] + 2 + 2 * net.track
    cells: list[list[Run | None]] = [[None] * total_width for _ in range(nrows)]
    line: list[set[int]] = [set() for _ in range(nrows)]
    for i, n in enumerate(nodes):
        n.col = x[n.layer] + (layer_width[n.layer] - 1 - n.width if n.right_aligned else 0)
        if n.users:
            ends = [track_x.get(u, x[nodes[u].layer] - 1) for u in n.users]
            line[n.row].update(range(n.col + n.width + 1, max(ends) + 1))
        if i in track_x:
            line[n.row].update(range(track_x[i], x[n.layer]))
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
    for nets in gaps:
        for net in nets:
            tx = track_x[net.target]
            target_row = nodes[net.target].row
            for row in range(net.lo, net.hi + 1):
                up, down = row > net.lo, row < net.hi
                if row in net.sources or row == target_row:
                    left = row in net.sources
                    right = row == target_row or (tx + 1) in line[row]
                    cells[row][tx] = (g.joins[(up, down, left, right)], "edge")
                elif tx in line[row]:
                    cells[row][tx] = (g.cross, "edge")
                else:
                    cells[row][tx] = (g.v, "edge")
            target = nodes[net.target]
            first, second = (nodes[c].row for c in target.children[:2]) if target.ordered else (0, 0)
            if first > second:  # the first operand is drawn below the second: number them
                cells[first][tx - 1] = ("1", "op")
                cells[second][tx - 1] = ("2", "op")
    rows: list[list[Run]] = []
    for r in range(nrows):
        runs: list[Run] = []
        for c in range(total_width):
            cell = cells[r][c]
            if cell is None:
                cell = (g.h, "edge") if c in line[r] else (" ", "edge")
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


