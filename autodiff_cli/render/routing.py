"""Routing for render/layout.py: the vertical lines in the gaps between columns, and reading a drawing back.

Each gap holds one merge net per box of the next column (a bus gathering its
operands to its row) and, where needed, split nets feeding relay rows (see
``relays``). Nets are ordered to cross few lines; ``route`` then says where
every line runs, and ``misread`` follows the lines as a reader would to check
that the drawing joins each box to its users and to nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layout import Box

__all__ = ["Drawing", "candidates", "misread", "relays", "route", "span"]


def span(n: Box, nodes: list[Box]) -> tuple[int, int]:
    """The stretch of its row a node needs, in half-columns: 2k is the gap before column k."""
    start = 2 * n.layer if n.children else 2 * n.layer + 1
    end = 2 * max(nodes[u].layer for u in n.users) if n.users else 2 * n.layer + 1
    return start, end


INF = 1 << 30


class _Net:
    """A vertical line in a gap: lines come in from the left on some rows and leave to the right on others.

    A merge net gathers an operation's operands to the row of the operation;
    a split net takes one node's line to relay rows (see ``relays``).
    """

    __slots__ = ("exits", "hi", "key", "lo", "sources", "track")

    def __init__(self, key: int, sources: set[int], exits: set[int]) -> None:
        self.key = key  # a box index for a merge net, _split_key(...) for a split net
        self.sources = sources  # rows where a line comes in from the left
        self.exits = exits  # rows where a line leaves to the right
        rows = sources | exits
        self.lo, self.hi = min(rows), max(rows)
        self.track = 0


def candidates(nodes: list[Box]) -> list[tuple[int, int]]:
    """Edges that may need a relay row: an operand whose line may go on past the bus of an operation of several operands."""
    out = []
    for t, n in enumerate(nodes):
        if len(n.children) >= 2:
            for s in n.children:
                if any(u != t and nodes[u].layer >= n.layer for u in nodes[s].users):
                    out.append((s, t))
    return out


def relays(nodes: list[Box], nrows: int, edges: list[tuple[int, int]]) -> tuple[dict[tuple[int, int], int], int]:
    """Give each of ``edges`` a relay row next to its operand's row; return them and the new row count.

    A relay row is a free stretch of a neighbouring row in the right gap, or a
    new row when the neighbours are taken.
    """
    taken: list[set[int]] = [set() for _ in range(nrows)]  # half-columns in use on each row
    for n in nodes:
        start, end = span(n, nodes)
        taken[n.row].update(range(start, end + 1))
    placed: dict[tuple[int, int], int] = {}
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
            for key, r in placed.items():
                if r >= relay:
                    placed[key] = r + 1
            taken.insert(relay, set())
        taken[relay].add(unit)
        placed[(s, t)] = relay
    return placed, len(taken)


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


def _assign_tracks(nets: list[_Net], apart: int = 0) -> int:
    """Tracks in order; a net reuses a track when it overlaps no earlier net there, nor comes within ``apart`` rows of one."""
    count = 0
    for k, net in enumerate(nets):
        near = (m.track for m in nets[:k] if m.lo <= net.hi + apart and net.lo <= m.hi + apart)
        net.track = 1 + max(near, default=-1)
        count = max(count, net.track + 1)
    return count


def _order_gap(
    nodes: list[Box], nets: list[_Net], in_gap: dict[int, int], relays: dict[tuple[int, int], int], layer: int, apart: int = 0
) -> int:
    """Order the nets of one gap to cross few lines (ties: fewer tracks); return the track count.

    A split net must stay left of the merge nets its relay rows lead to.
    """
    after = {(_split_key(s, layer, nodes), t) for (s, t) in relays if nodes[t].layer == layer + 1}

    def score(order: list[_Net]) -> tuple[int, int]:
        count = _assign_tracks(order, apart)
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
    return _assign_tracks(order, apart)


def _upside_down(nodes: list[Box], relays: dict[tuple[int, int], int], t: int) -> bool:
    """Whether the first operand of ``t`` comes into its bus below the second, where order matters."""
    if not nodes[t].ordered:
        return False
    first, second = (relays.get((c, t), nodes[c].row) for c in nodes[t].children[:2])
    return first > second


class Drawing:
    """Where everything goes, before any glyph is chosen: labels, lines, and the joins on each bus."""

    __slots__ = ("extras", "joins", "line", "marks", "nrows", "owner", "passing", "width")

    def __init__(self, nrows: int, width: int) -> None:
        self.nrows = nrows
        self.width = width
        self.line: list[set[int]] = [set() for _ in range(nrows)]  # columns a horizontal line runs through
        # bus cells: (up, down, left, right) for a join, "v" for a plain vertical, "x" for a crossing
        self.joins: dict[tuple[int, int], tuple[bool, bool, bool, bool] | str] = {}
        self.marks: dict[tuple[int, int], str] = {}  # operand numbers
        self.owner: dict[tuple[int, int], int] = {}  # label cells: the box they belong to
        self.passing: set[tuple[int, int]] = set()  # (operand, operation): the line goes on past the bus
        self.extras: dict[tuple[int, int], list[tuple[str, str]]] = {}  # label lines under the first: (row, col) -> runs


def _in_gaps(nodes: list[Box], depth: int) -> list[dict[int, int]]:
    """Which node's line crosses each gap on each row (at most one, by construction of the rows)."""
    in_gap: list[dict[int, int]] = [{} for _ in range(depth)]
    for i, n in enumerate(nodes):
        start, end = span(n, nodes)
        for gap in range(max(0, (start - 1) // 2), depth - 1):
            if start <= 2 * gap + 2 <= end:
                in_gap[gap][n.row] = i
    return in_gap


def route(nodes: list[Box], relays: dict[tuple[int, int], int], nrows: int, lead: int = 2, apart: int = 0) -> Drawing:
    """Columns, gaps, tracks and lines for rows already given; ``lead``: columns of line before a gap's first track.

    ``apart``: rows kept between two buses on one track, for glyphs whose
    corners look alike (in ASCII, ``+`` over ``+`` reads as one bus).
    """
    depth = max(n.layer for n in nodes) + 1
    layer_width = [0] * depth
    for n in nodes:
        layer_width[n.layer] = max(layer_width[n.layer], n.width + 1)
    in_gap = _in_gaps(nodes, depth)
    gaps: list[list[_Net]] = []
    gap_width = []
    leads = []
    for gap in range(depth - 1):
        nets = _nets(nodes, gap, relays)
        tracks = _order_gap(nodes, nets, in_gap[gap], relays, gap, apart)
        gaps.append(nets)
        marked = any(net.key >= 0 and _upside_down(nodes, relays, net.key) for net in nets)
        leads.append(max(lead, 2) if marked else lead)  # an operand number must not touch a label
        gap_width.append(2 * tracks + leads[-1])
    x = [0] * depth
    for k in range(1, depth):
        x[k] = x[k - 1] + layer_width[k - 1] + gap_width[k - 1]
    drawing = Drawing(nrows, x[-1] + layer_width[-1] - 1)
    track_x: dict[int, int] = {}
    for gap, nets in enumerate(gaps):
        for net in nets:
            track_x[net.key] = x[gap] + layer_width[gap] + leads[gap] + 2 * net.track
    line = drawing.line
    for i, n in enumerate(nodes):
        n.col = x[n.layer] + (layer_width[n.layer] - 1 - n.width if n.right_aligned else 0)
        for c in range(n.col, n.col + n.head):
            drawing.owner[(n.row, c)] = i
        if n.users:
            ends = [track_x.get(u, x[nodes[u].layer] - 1) for u in n.users if (i, u) not in relays]
            ends += [track_x[_split_key(i, nodes[t].layer - 1, nodes)] for (s, t) in relays if s == i]
            line[n.row].update(range(n.col + n.head + 1, max(ends) + 1))
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
            if target is not None and len(target.children) >= 2:
                for c in target.children:
                    if (c, net.key) not in relays and (tx + 1) in line[nodes[c].row]:
                        drawing.passing.add((c, net.key))
            if target is not None and _upside_down(nodes, relays, net.key):  # number the operands
                first, second = (relays.get((c, net.key), nodes[c].row) for c in target.children[:2])
                drawing.marks[(first, tx - 1)] = "1"
                drawing.marks[(second, tx - 1)] = "2"
    return drawing


def misread(nodes: list[Box], drawing: Drawing) -> bool:
    """Whether the drawing, read back, joins a node to something that is not its user, or to a user twice.

    Reading follows a line from each label to the right, along every bus it
    joins (up and down, never back to the left), through crossings, and notes
    the labels it arrives at and the row where it came into their bus: they
    must be the node's users, no more, each reached by one way in (two ways
    in and the order of the operands cannot be read).
    """
    for n in nodes:
        if not n.users:
            continue
        reached: dict[int, set[int]] = {}
        todo = [(n.row, n.col + n.head + 1, "R", n.row)]
        seen: set[tuple[int, int, str, int]] = set()
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            r, c, d, entry = state
            if (r, c) in drawing.owner:
                reached.setdefault(drawing.owner[(r, c)], set()).add(entry)
                continue
            join = drawing.joins.get((r, c))
            if isinstance(join, tuple):
                up, down, _, right = join
                if d == "R":
                    entry = r
                if up and d != "D":
                    todo.append((r - 1, c, "U", entry))
                if down and d != "U":
                    todo.append((r + 1, c, "D", entry))
                if right:
                    todo.append((r, c + 1, "R", entry))
            elif join in ("v", "x") and d != "R":
                todo.append((r - 1 if d == "U" else r + 1, c, d, entry))
            elif d == "R" and (c in drawing.line[r] or join == "x"):
                todo.append((r, c + 1, "R", entry))
        if set(reached) != set(n.users) or any(len(ways) > 1 for ways in reached.values()):
            return True
    return False
