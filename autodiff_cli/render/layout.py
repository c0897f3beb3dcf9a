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


INF = 1 << 30


class _Net:
    """A vertical line in a gap: lines come in from the left on some rows and leave to the right on others.

    A merge net gathers an operation's operands to the row of the operation;
    a split net takes one node's line to relay rows (see ``_relays``).
    """

    __slots__ = ("exits", "hi", "key", "lo", "sources", "track")

    def __init__(self, key: int, sources: set[int], exits: set[int]) -> None:
        self.key = key  # a box index for a merge net, _split_key(...) for a split net
        self.sources = sources  # rows where a line comes in from the left
        self.exits = exits  # rows where a line leaves to the right
        rows = sources | exits
        self.lo, self.hi = min(rows), max(rows)
        self.track = 0


def _candidates(nodes: list[Box]) -> list[tuple[int, int]]:
    """Edges that may need a relay row: an operand whose line may go on past the bus of a two-operand operation."""
    out = []
    for t, n in enumerate(nodes):
        if len(n.children) == 2:
            for s in n.children:
                if any(u != t and nodes[u].layer >= n.layer for u in nodes[s].users):
                    out.append((s, t))
    return out


def _relays(nodes: list[Box], nrows: int, edges: list[tuple[int, int]]) -> tuple[dict[tuple[int, int], int], int]:
    """Give each of ``edges`` a relay row next to its operand's row; return them and the new row count.

    A relay row is a free stretch of a neighbouring row in the right gap, or a
    new row when the neighbours are taken.
    """
    taken: list[set[int]] = [set() for _ in range(nrows)]  # half-columns in use on each row
    for n in nodes:
        start, end = _span(n, nodes)
        taken[n.row].update(range(start, end + 1))
    relays: dict[tuple[int, int], int] = {}
    for s, t in edges:
        unit = 2 * nodes[t].layer
        row = nodes[s].row
        toward = 1 if nodes[t].row > row else -1
        if 0 <= row + toward < len(taken) and unit not in taken[row + toward]:
            relay = row + toward
        else:
            relay = row + 1 if toward > 0 else row
            for m in nodes:
                if m.row >= relay:
                    m.row += 1
            for key, r in relays.items():
                if r >= relay:
                    relays[key] = r + 1
            taken.insert(relay, set())
        taken[relay].add(unit)
        relays[(s, t)] = relay
    return relays, len(taken)


def _split_key(source: int, layer: int, nodes: list[Box]) -> int:
    """The key of the split net of ``source`` in the gap after ``layer``: negative, unlike box indices."""
    return -1 - source - len(nodes) * layer


def _nets(nodes: list[Box], layer: int, relays: dict[tuple[int, int], int]) -> list[_Net]:
    """The nets in the gap after column ``layer``."""
    nets = []
    splits: dict[int, set[int]] = {}
    for t, n in enumerate(nodes):
        if n.layer == layer + 1 and n.children:
            sources = set()
            for s in n.children:
                if (s, t) in relays:
                    sources.add(relays[(s, t)])
                    splits.setdefault(s, set()).add(relays[(s, t)])
                else:
                    sources.add(nodes[s].row)
            if sources != {n.row}:  # else a straight line from the only operand
                nets.append(_Net(t, sources, {n.row}))
    for s, rows in sorted(splits.items()):
        nets.append(_Net(_split_key(s, layer, nodes), {nodes[s].row}, rows))
    return nets


def _coverage(
    nodes: list[Box], in_gap: dict[int, int], nets: list[_Net], relays: dict[tuple[int, int], int], layer: int
) -> dict[int, tuple[int, int]]:
    """The tracks the line on each row spans in the gap after ``layer``: (lo, hi), -1 and INF for the edges."""
    track = {net.key: net.track for net in nets}
    cover = {}
    for row, i in in_gap.items():
        n = nodes[i]
        if n.layer == layer + 1:  # an exit, from its own track on (a straight line: from the left)
            cover[row] = (track.get(i, -1), INF)
        elif any(nodes[u].layer > layer + 1 for u in n.users):
            cover[row] = (-1, INF)  # passes through
        else:
            ends = [track.get(u, INF) for u in n.users if nodes[u].layer == layer + 1 and (i, u) not in relays]
            split = _split_key(i, layer, nodes)
            if split in track:
                ends.append(track[split])
            cover[row] = (-1, max(ends))
    for (s, t), row in relays.items():
        if nodes[t].layer == layer + 1:
            cover[row] = (track[_split_key(s, layer, nodes)], track[t])
    return cover


def _crossings(nets: list[_Net], cover: dict[int, tuple[int, int]]) -> int:
    total = 0
    for net in nets:
        for row in range(net.lo + 1, net.hi):
            if row in net.sources or row in net.exits:
                continue
            lo, hi = cover.get(row, (0, -1))
            if lo < net.track <= hi:
                total += 1
    return total


def _assign_tracks(nets: list[_Net]) -> int:
    """Tracks in order; a net reuses a track when it overlaps no earlier net there."""
    count = 0
    for k, net in enumerate(nets):
        net.track = 1 + max((m.track for m in nets[:k] if m.lo <= net.hi and net.lo <= m.hi), default=-1)
        count = max(count, net.track + 1)
    return count


def _order_gap(
    nodes: list[Box], nets: list[_Net], in_gap: dict[int, int], relays: dict[tuple[int, int], int], layer: int
) -> int:
    """Order the nets of one gap to cross few lines (ties: fewer tracks); return the track count.

    A split net must stay left of the merge nets its relay rows lead to.
    """
    after = {(_split_key(s, layer, nodes), t) for (s, t) in relays if nodes[t].layer == layer + 1}

    def score(order: list[_Net]) -> tuple[int, int]:
        count = _assign_tracks(order)
        return _crossings(order, _coverage(nodes, in_gap, order, relays, layer)), count

    order = sorted(nets, key=lambda n: (n.key >= 0, n.lo, n.hi, n.key))
    best = score(order)
    improved = len(order) <= 12
    while improved:
        improved = False
        for k in range(len(order) - 1):
            if (order[k].key, order[k + 1].key) in after:
                continue
            trial = [*order[:k], order[k + 1], order[k], *order[k + 2 :]]
            s = score(trial)
            if s < best:
                order, best, improved = trial, s, True
    nets[:] = order
    return _assign_tracks(order)


def layout(nodes: list[Box], root: int, g: Glyphs, width: int, max_rows: int) -> tuple[list[list[Run]] | None, int]:
    """Place and draw: the rows, or None when wider or taller than allowed; and the width needed (0: too tall).

    A drawing must read back as the graph it draws. Where one does not (a line
    going on through a bus that gathers two operands joins them to whatever
    that line goes on to), the edges concerned get relay rows and the drawing
    is made again; with all of them relayed, no such joins are left.
    """
    _layers(nodes)
    base_rows = _rows(nodes, _sequence(nodes, root))
    placed = [n.row for n in nodes]
    candidates = _candidates(nodes)
    chosen: list[tuple[int, int]] = []
    while True:
        for n, row in zip(nodes, placed, strict=True):
            n.row = row
        relays, nrows = _relays(nodes, base_rows, chosen)
        if nrows > max_rows:
            return None, 0
        drawing = _route(nodes, relays, nrows)
        if len(chosen) == len(candidates):
            break
        if not _misread(nodes, drawing):
            break
        # Relay the edges whose operand's line goes on past the bus; if none is left, all of them.
        more = [e for e in candidates if e not in chosen and e in drawing.passing]
        chosen += more or [e for e in candidates if e not in chosen]
    if drawing.width > width:
        return None, drawing.width
    return _runs(drawing, nodes, g), drawing.width


class _Drawing:
    """Where everything goes, before any glyph is chosen: labels, lines, and the joins on each bus."""

    __slots__ = ("joins", "line", "marks", "nrows", "owner", "passing", "width")

    def __init__(self, nrows: int, width: int) -> None:
        self.nrows = nrows
        self.width = width
        self.line: list[set[int]] = [set() for _ in range(nrows)]  # columns a horizontal line runs through
        # bus cells: (up, down, left, right) for a join, "v" for a plain vertical, "x" for a crossing
        self.joins: dict[tuple[int, int], tuple[bool, bool, bool, bool] | str] = {}
        self.marks: dict[tuple[int, int], str] = {}  # operand numbers
        self.owner: dict[tuple[int, int], int] = {}  # label cells: the box they belong to
        self.passing: set[tuple[int, int]] = set()  # (operand, operation): the line goes on past the bus


def _route(nodes: list[Box], relays: dict[tuple[int, int], int], nrows: int) -> _Drawing:
    """Columns, gaps, tracks and lines for rows already given."""
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
        nets = _nets(nodes, gap, relays)
        tracks = _order_gap(nodes, nets, in_gap[gap], relays, gap)
        gaps.append(nets)
        gap_width.append(2 * tracks + 2)
    x = [0] * depth
    for k in range(1, depth):
        x[k] = x[k - 1] + layer_width[k - 1] + gap_width[k - 1]
    drawing = _Drawing(nrows, x[-1] + layer_width[-1] - 1)
    track_x: dict[int, int] = {}
    for gap, nets in enumerate(gaps):
        for net in nets:
            track_x[net.key] = x[gap] + layer_width[gap] + 2 + 2 * net.track
    line = drawing.line
    for i, n in enumerate(nodes):
        n.col = x[n.layer] + (layer_width[n.layer] - 1 - n.width if n.right_aligned else 0)
        for c in range(n.col, n.col + n.width):
            drawing.owner[(n.row, c)] = i
        if n.users:
            ends = [track_x.get(u, x[nodes[u].layer] - 1) for u in n.users if (i, u) not in relays]
            ends += [track_x[_split_key(i, nodes[t].layer - 1, nodes)] for (s, t) in relays if s == i]
            line[n.row].update(range(n.col + n.width + 1, max(ends) + 1))
        if i in track_x:
            line[n.row].update(range(track_x[i], x[n.layer]))
    for (s, t), row in relays.items():
        line[row].update(range(track_x[_split_key(s, nodes[t].layer - 1, nodes)], track_x[t] + 1))
    for nets in gaps:
        for net in nets:
            tx = track_x[net.key]
            for row in range(net.lo, net.hi + 1):
                up, down = row > net.lo, row < net.hi
                if row in net.sources or row in net.exits:
                    left = row in net.sources
                    right = row in net.exits or (tx + 1) in line[row]
                    drawing.joins[(row, tx)] = (up, down, left, right)
                else:
                    drawing.joins[(row, tx)] = "x" if tx in line[row] else "v"
            target = nodes[net.key] if net.key >= 0 else None
            if target is not None and len(target.children) == 2:
                for c in target.children:
                    if (c, net.key) not in relays and (tx + 1) in line[nodes[c].row]:
                        drawing.passing.add((c, net.key))
            if target is not None and target.ordered:
                first, second = (relays.get((c, net.key), nodes[c].row) for c in target.children[:2])
                if first > second:  # the first operand comes in below the second: number them
                    drawing.marks[(first, tx - 1)] = "1"
                    drawing.marks[(second, tx - 1)] = "2"
    return drawing


def _misread(nodes: list[Box], drawing: _Drawing) -> bool:
    """Whether the drawing, read back, joins a node to something that is not its user.

    Reading follows a line from each label to the right, along every bus it
    joins (up and down, never back to the left), through crossings, and notes
    the labels it arrives at: they must be the node's users, no more.
    """
    for n in nodes:
        if not n.users:
            continue
        reached: set[int] = set()
        todo = [(n.row, n.col + n.width + 1, "R")]
        seen: set[tuple[int, int, str]] = set()
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            r, c, d = state
            if (r, c) in drawing.owner:
                reached.add(drawing.owner[(r, c)])
                continue
            join = drawing.joins.get((r, c))
            if isinstance(join, tuple):
                up, down, _, right = join
                if up and d != "D":
                    todo.append((r - 1, c, "U"))
                if down and d != "U":
                    todo.append((r + 1, c, "D"))
                if right:
                    todo.append((r, c + 1, "R"))
            elif join in ("v", "x") and d != "R":
                todo.append((r - 1 if d == "U" else r + 1, c, d))
            elif d == "R" and (c in drawing.line[r] or join == "x"):
                todo.append((r, c + 1, "R"))
        if reached != set(n.users):
            return True
    return False


def _runs(drawing: _Drawing, nodes: list[Box], g: Glyphs) -> list[list[Run]]:
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
    for (r, c), join in drawing.joins.items():
        glyph = g.cross if join == "x" else g.v if join == "v" else g.joins[join]  # type: ignore[index]
        cells[r][c] = (glyph, "edge")
    for (r, c), mark in drawing.marks.items():
        cells[r][c] = (mark, "op")
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
