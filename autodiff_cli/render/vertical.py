"""The DAG top to bottom, for graphs too deep to draw left to right: layers as bands of rows.

Layered in the Sugiyama way: a node's layer is its depth (a leaf just above
its first user), an edge that skips layers runs through a dummy in each, the
order within a layer comes from barycenter sweeps, and the width is that of
the widest layer, not of the longest path. Between two bands lies a channel:

    a          b                a node's line leaves from under its label,
    =2         =3               splits into one drop per user (├─┐),
    ∂4         ∂4               each drop joins its user's bus on a track of
    ├─┐        │                its own, and the bus goes down into the user
    │ 1        2                (↓). A line crossing a bus is drawn unbroken
    │ └────┬───┘                (│). Where an operation's first operand comes
    │      ↓                    in right of its second, 1 and 2 say which.
    │      [-]
    ...

Same boxes as render/layout.py (compact labels), same glyphs; pure geometry.
"""

from __future__ import annotations

import functools

from .layout import Box, Glyphs, Run, _layers, _sequence, cell_width

__all__ = ["vertical"]

SWEEPS = 4


class _Plan:
    """Items (nodes, then dummies), what feeds what, and where each goes."""

    def __init__(self, nodes: list[Box]) -> None:
        self.layer = [n.layer for n in nodes]
        self.pred: list[list[int]] = [[] for _ in nodes]
        self.succ: list[list[int]] = [[] for _ in nodes]
        for t, n in enumerate(nodes):
            for s in n.children:
                prev = s
                for k in range(nodes[s].layer + 1, n.layer):  # a dummy in each layer skipped
                    d = len(self.layer)
                    self.layer.append(k)
                    self.pred.append([prev])
                    self.succ.append([])
                    self.succ[prev].append(d)
                    prev = d
                self.succ[prev].append(t)
                self.pred[t].append(prev)
        self.x = [0] * len(self.layer)
        self.drop: dict[tuple[int, int], int] = {}  # (item, successor) -> column of the line between them


def _order(plan: _Plan, nodes: list[Box], root: int) -> list[list[int]]:
    """Items of each layer, left to right: first as read from the result, then barycenter sweeps."""
    first = {i: k for k, i in enumerate(_sequence(nodes, root))}
    key: list[float] = [0.0] * len(plan.layer)
    for i in range(len(plan.layer)):
        key[i] = first.get(i, 0) if i < len(nodes) else key[plan.pred[i][0]] + 0.5
    layers: list[list[int]] = [[] for _ in range(max(plan.layer) + 1)]
    for i in sorted(range(len(plan.layer)), key=lambda i: key[i]):
        layers[plan.layer[i]].append(i)
    for _ in range(SWEEPS):
        for ks, near in ((range(1, len(layers)), plan.pred), (range(len(layers) - 2, -1, -1), plan.succ)):
            for k in ks:
                pos = {i: p for layer in layers for p, i in enumerate(layer)}
                layers[k].sort(key=functools.partial(_barycenter, near=near, pos=pos))
    return layers


def _barycenter(i: int, near: list[list[int]], pos: dict[int, int]) -> float:
    return sum(pos[j] for j in near[i]) / len(near[i]) if near[i] else pos[i]


def _place(plan: _Plan, nodes: list[Box], layers: list[list[int]]) -> None:
    """Columns: items packed left to right, two apart, each under its first operand's drop where there is room."""
    pos = {i: p for layer in layers for p, i in enumerate(layer)}
    above: set[int] = set()  # drop columns of the layer above
    for layer in layers:
        cursor = 0
        for i in layer:
            want = [plan.drop[(p, i)] for p in plan.pred[i][:1]]
            plan.x[i] = max([cursor, *want])
            if plan.x[i] not in want:  # a line down into it keeps a column from the drops above, if it can
                while plan.x[i] - 1 in above or plan.x[i] + 1 in above:
                    plan.x[i] += 1
            plan.succ[i].sort(key=lambda j: pos[j])
            for k, j in enumerate(plan.succ[i]):
                plan.drop[(i, j)] = plan.x[i] + 2 * k
            width = nodes[i].width if i < len(nodes) else 1
            cursor = plan.x[i] + max(width, 2 * len(plan.succ[i]) - 1) + 2
        above = {plan.drop[(i, j)] for i in layer for j in plan.succ[i]}


class _Net:
    __slots__ = ("exit", "hi", "lo", "sources", "target", "track")

    def __init__(self, target: int, sources: list[int], exit_col: int) -> None:
        self.target, self.sources, self.exit = target, sources, exit_col
        self.lo, self.hi = min(*sources, exit_col), max(*sources, exit_col)
        self.track = -1


def _tracks(nets: list[_Net]) -> int | None:
    """Give each net a track (row of the channel); None if no order works.

    A net whose exit column is another's drop must lie below it, or the two
    lines would meet; nets on one track keep a column apart.
    """
    above = {id(n): [m for m in nets if m is not n and n.exit in m.sources] for n in nets}
    done: list[_Net] = []
    left = sorted(nets, key=lambda n: (n.lo, n.hi))
    while left:
        ready = [n for n in left if all(m in done for m in above[id(n)])]
        if not ready:
            return None
        n = ready[0]
        t = 1 + max((m.track for m in above[id(n)]), default=-1)
        while any(m.track == t and m.lo <= n.hi + 1 and n.lo <= m.hi + 1 for m in done):
            t += 1
        n.track = t
        done.append(n)
        left.remove(n)
    return 1 + max((n.track for n in nets), default=-1)


class _Canvas:
    """Cells: line directions (u, d, l, r), join cells, and text."""

    def __init__(self) -> None:
        self.dirs: dict[tuple[int, int], set[str]] = {}
        self.joins: set[tuple[int, int]] = set()
        self.text: dict[tuple[int, int], Run] = {}

    def vline(self, col: int, top: int, bottom: int) -> None:
        self._line([(r, col) for r in range(top, bottom + 1)], "u", "d")

    def hline(self, row: int, left: int, right: int) -> None:
        self._line([(row, c) for c in range(left, right + 1)], "l", "r")

    def _line(self, cells: list[tuple[int, int]], back: str, forward: str) -> None:
        """Each cell of a straight line points back to the one before it and on to the one after."""
        for k, cell in enumerate(cells):
            dirs = self.dirs.setdefault(cell, set())
            if k > 0:
                dirs.add(back)
            if k < len(cells) - 1:
                dirs.add(forward)

    def write(self, row: int, col: int, runs: list[Run]) -> None:
        for text, kind in runs:
            for ch in text:
                self.text[(row, col)] = (ch, kind)
                w = cell_width(ch)
                for k in range(1, w):
                    self.text[(row, col + k)] = ("", kind)
                col += w


def _channel(
    canvas: _Canvas, plan: _Plan, upper: list[int], lower: list[int], row: int, nodes: list[Box], apart: int = 0
) -> int | None:
    """Draw the lines from one band's items to the next band's; return the first row of the next band.

    ``apart``: rows left between the split row, the tracks and the arrows, for
    glyphs whose corners look alike (in ASCII, ``+`` over ``+`` reads as joined).
    """
    for i in upper:  # the split row: one drop per successor
        drops = [plan.drop[(i, j)] for j in plan.succ[i]]
        if drops:
            canvas.vline(plan.x[i], row - 1, row)
            canvas.hline(row, drops[0], drops[-1])
            canvas.joins.update((row, c) for c in drops)
            for c in drops:
                canvas.dirs[(row, c)].add("d")
    nets, straight, marks = [], [], {}
    for t in lower:
        sources = [plan.drop[(p, t)] for p in plan.pred[t]]
        if not sources:  # a leaf
            continue
        if sources == [plan.x[t]]:
            straight.append(plan.x[t])
            continue
        nets.append(_Net(t, sources, plan.x[t]))
        if t < len(nodes) and nodes[t].ordered and sources[0] > sources[1]:
            marks[sources[0]], marks[sources[1]] = "1", "2"
    count = _tracks(nets)
    if count is None:
        return None
    step = 1 + apart
    first = row + step + bool(marks)  # the first track
    arrow = first + step * count
    for n in nets:
        track = first + step * n.track
        canvas.hline(track, n.lo, n.hi)
        for c in n.sources:
            canvas.vline(c, row, track)
        canvas.vline(n.exit, track, arrow)
        canvas.joins.update((track, c) for c in [*n.sources, n.exit])
    for c in straight:
        canvas.vline(c, row, arrow)
    for c, mark in marks.items():
        canvas.text[(row + 1, c)] = (mark, "mark")
    for t in lower:
        if t < len(nodes) and plan.pred[t]:
            canvas.text[(arrow, plan.x[t])] = ("", "arrow")  # drawn as g.arrow down
    return arrow + 1


def vertical(nodes: list[Box], root: int, g: Glyphs, width: int, max_rows: int) -> tuple[list[list[Run]] | None, int]:
    """Draw top to bottom: the rows, or None when wider or taller than allowed; and the width needed."""
    _layers(nodes)
    for n in nodes:
        n.runs = [run for run in n.runs if run[0] != g.arrow]  # the arrow into a node points down: ↓ above it
        n.head = sum(cell_width(t) for t, _ in n.runs)
        n.width = max([n.head, *(sum(cell_width(t) for t, _ in line) for line in n.extra)])
    depth = 1 + max(n.layer for n in nodes)
    bands = [1] * depth
    for n in nodes:
        bands[n.layer] = max(bands[n.layer], 1 + len(n.extra))
    if sum(bands) + 2 * (depth - 1) > max_rows:  # each channel takes a split row and an arrow row at least
        return None, 0
    plan = _Plan(nodes)
    apart = int(len(set(g.joins.values())) < len(g.joins))  # corners that look alike must not touch
    layers = _order(plan, nodes, root)
    # Two lines can be forced into one column whichever bus lies lower (no track order
    # works); the same layers mirrored then place the lines in other columns.
    for order in (layers, [layer[::-1] for layer in layers]):
        drawn = _draw(plan, nodes, order, max_rows, apart)
        if drawn is not None:
            break
    if drawn is None:
        return None, 0
    canvas, row = drawn
    needed = 1 + max(c for _, c in [*canvas.dirs, *canvas.text])
    if needed > width:
        return None, needed
    return _rows(canvas, g, row), needed


def _draw(plan: _Plan, nodes: list[Box], layers: list[list[int]], max_rows: int, apart: int = 0) -> tuple[_Canvas, int] | None:
    """The bands and channels on a canvas, and its rows; None if a channel has no track order or it is too tall."""
    _place(plan, nodes, layers)
    canvas = _Canvas()
    row = 0
    for k, layer in enumerate(layers):
        height = max((1 + len(nodes[i].extra) for i in layer if i < len(nodes)), default=1)
        for i in layer:
            if i >= len(nodes):
                canvas.vline(plan.x[i], row - 1, row + height - 1)
                continue
            canvas.write(row, plan.x[i], nodes[i].runs)
            for m, line in enumerate(nodes[i].extra, 1):
                canvas.write(row + m, plan.x[i], line)
            if plan.succ[i] and 1 + len(nodes[i].extra) < height:
                canvas.vline(plan.x[i], row + len(nodes[i].extra), row + height - 1)
        row += height
        if k + 1 < len(layers):
            following = _channel(canvas, plan, layer, layers[k + 1], row, nodes, apart)
            if following is None:
                return None
            row = following
        if row > max_rows:
            return None
    return canvas, row


def _rows(canvas: _Canvas, g: Glyphs, nrows: int) -> list[list[Run]]:
    """The canvas in ``g``'s characters."""
    arrow_down = "↓" if g.arrow == "→" else "|"
    grid: list[dict[int, Run]] = [{} for _ in range(nrows)]
    for (r, c), dirs in canvas.dirs.items():
        if {"u", "d", "l", "r"} <= dirs and (r, c) not in canvas.joins:
            glyph = g.cross  # a line crossing a bus
        else:
            key = ("u" in dirs, "d" in dirs, "l" in dirs, "r" in dirs)
            glyph = g.joins.get(key, g.v if key[0] or key[1] else g.h)
        grid[r][c] = (glyph, "edge")
    for (r, c), (ch, kind) in canvas.text.items():
        if kind == "mark":
            ch = g.marks[int(ch) - 1]
            if not ch:  # no glyph: the line goes on through
                continue
        grid[r][c] = (arrow_down, "edge") if kind == "arrow" else (ch, kind)
    rows: list[list[Run]] = []
    for cells in grid:
        runs: list[Run] = []
        for c in range(max(cells, default=-1) + 1):
            cell = cells.get(c, (" ", "edge"))
            if runs and runs[-1][1] == cell[1]:
                runs[-1] = (runs[-1][0] + cell[0], cell[1])
            else:
                runs.append(cell)
        rows.append(runs)
    return rows
