"""The seed's picture of a program: leaves on the left, the result on the right.

    a(2) ∂4 ──┐
              ├─[+]→ c(5) ∂4 ──┐
    b(3) ∂4 ──┘                ├─[*]→ d(20) ∂1
                           4 ──┘

Each node is drawn once: its name, or its operation on the arrow into it,
its value, and its gradient ∂result/∂node; a node used more than once has an
edge to each user. The geometry is render/layout.py's.

When the one-line labels make the DAG too wide, the operations' labels become
columns (operation and name, =value, ∂gradient: render/blocks.py) while the
leaves keep one row each, then every label does; when that is too
wide too, the DAG is drawn top to bottom (render/vertical.py). When no DAG
fits, the graph is listed as a tree
(shared operations marked, not repeated); when it is too big for that, the
DAG is cut down to the part nearest the result, ``⋯`` standing for what feeds
it; when not even that fits, the top of the tree is shown. Everything here is
a pure function of a graph that has been run: no rich, no printing, the same
picture for the same program every time.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..graph_view import STATEMENT, Drawable, GraphView, Node, graph_view
from ..numbers import format_number, table_digits
from .layout import ASCII, UNICODE, Box, Glyphs, Run, cell_width, layout
from .vertical import vertical

__all__ = ["MAX_ROWS", "TALL", "Picture", "draw_dag", "forms", "summary", "whole"]

MAX_ROWS = 60
"""Rows a picture may take: a 3,000-term program must not flood the terminal."""

TALL = 2
"""A top-to-bottom picture may take this many times MAX_ROWS: it is the last way to draw a deep graph whole."""

_SYMMETRIC = frozenset({"+", "*", "min", "max", STATEMENT})  # a statement names what it reads


class Picture:
    """A drawing: rows of styled runs, and how much of the graph it shows."""

    __slots__ = ("down", "kind", "needs", "rows", "shown", "total")

    def __init__(
        self, rows: list[list[Run]], shown: int, total: int, kind: str = "dag", needs: int = 0, down: bool = False
    ) -> None:
        self.rows = rows
        self.down = down  # a DAG drawn top to bottom (it may take TALL times the rows)
        self.shown = shown  # nodes of the graph drawn
        self.total = total  # nodes below the result
        self.kind = kind  # "dag", or "tree" when the graph is listed instead
        self.needs = needs  # for a tree: the columns the whole DAG would need, if known

    @property
    def lines(self) -> list[str]:
        return ["".join(text for text, _ in row) for row in self.rows]

    @property
    def complete(self) -> bool:
        return self.shown == self.total


# --- labels ----------------------------------------------------------------------------


def _op_text(v: Node, names: dict[Node, str]) -> str:
    """The operation drawn on the arrow into ``v``: [*], or [x*x] when both operands are one node.

    Such a node has a single edge in, so the operation alone would read as a
    one-argument ``*``; only a name can be read twice, so the name is at hand.
    """
    label = v.label
    p = v.inputs
    if len(p) == 2 and p[0] is p[1]:
        name = names.get(p[0], "·").split("=")[0]
        label = f"{name}{label}{name}" if v.infix else f"{label}({name}, {name})"
    return f"[{label}]"


def _value_runs(v: Node, name: str | None, digits: int, g: Glyphs, constant: bool) -> list[Run]:
    value = format_number(v.value, digits)
    grad = [(f"{g.grad}{format_number(v.grad, digits)}", "grad")]
    if name:
        return [(name, "name"), (f"({value})", "value"), *grad]
    if constant:
        return [(value, "const")]
    return [(value, "value"), *grad]


# --- what to draw ------------------------------------------------------------------------


def _compact(v: Node, name: str | None, digits: int, g: Glyphs, op: str | None) -> tuple[list[Run], list[list[Run]]]:
    """The label as a column: operation and name, then =value, then ∂gradient.

    Each line starts with what it is (a value line with =, a gradient with
    ∂), so that a label's lines are not read as a constant or another label.
    """
    if not v.inputs and not name:
        return [(format_number(v.value, digits), "const")], []
    head: list[Run] = [(op, "op"), (g.arrow, "edge")] if op else []
    if name:
        head += [(" " if op else "", "edge"), (name, "name")]
    value = [("=" + format_number(v.value, digits), "value")]
    return head, [value, [(g.grad.strip() + format_number(v.grad, digits), "grad")]]


def _box(v: Node, children: list[int], names: dict[Node, str], digits: int, g: Glyphs, compact: bool) -> Box:
    """The box of node ``v``: its label, in one line or (``compact``) as a column, and its operands."""
    name = names.get(v)
    ordered = len(children) == 2 and v.op not in _SYMMETRIC
    if compact:
        head, extra = _compact(v, name, digits, g, _op_text(v, names) if children else None)
        return Box([r for r in head if r[0]], children, ordered, extra)
    runs = _value_runs(v, name, digits, g, constant=not v.inputs)
    if children:
        runs = [(_op_text(v, names), "op"), (f"{g.arrow} ", "edge"), *runs]
    return Box(runs, children, ordered)


def _view(
    graph: GraphView, depth: int | None, digits: int, g: Glyphs, compact: bool = False, inline_leaves: bool = False
) -> tuple[list[Box], int, bool]:
    """The nodes within ``depth`` steps of the result (all if None), children first.

    ``compact`` labels are columns; with ``inline_leaves`` the leaves keep
    their one-line label (``wi(0.1) ∂-0.01``), one row each rather than three.

    Leaves next to a drawn node are always drawn; an operation beyond the
    depth becomes a ``⋯`` stub. Returns the nodes, how many graph nodes they
    show, and whether that is all of them.
    """
    result = graph.result
    names = graph.called
    kept: dict[Node, int] = {result: 0}
    level = [result]
    d = 0
    while level and (depth is None or d < depth):
        d += 1
        following = []
        for v in level:
            for c in v.inputs:
                if c not in kept:
                    kept[c] = d
                    following.append(c)
        level = following
    for v in list(kept):
        for c in v.inputs:
            if c not in kept and not c.inputs:
                kept[c] = d + 1
    # children before parents, without recursion
    order: list[Node] = []
    state: dict[Node, bool] = {}
    stack = [result]
    while stack:
        v = stack[-1]
        if v not in state:
            state[v] = False
            stack.extend(c for c in v.inputs if c in kept and c not in state)
        else:
            stack.pop()
            if not state[v]:
                state[v] = True
                order.append(v)
    index: dict[Node, int] = {}
    stubs: dict[Node, int] = {}
    nodes: list[Box] = []
    for v in order:
        children: list[int] = []
        for c in v.inputs:
            if c in kept:
                i = index[c]
            elif c in stubs:
                i = stubs[c]
            else:
                i = stubs[c] = len(nodes)
                nodes.append(Box([(g.more, "more")], []))
            if i not in children:
                children.append(i)
        index[v] = len(nodes)
        nodes.append(_box(v, children, names, digits, g, compact and not (inline_leaves and not v.inputs)))
    return nodes, len(order), not stubs


# --- the tree, for graphs too wide to draw ------------------------------------------------


def _tree(graph: GraphView, digits: int, g: Glyphs, max_rows: int) -> tuple[list[list[Run]], int, bool]:
    """The graph as an indented list from the result; an operation met again is marked, not repeated.

    Returns the rows (at most ``max_rows``), how many graph nodes they show, and
    whether that is all of the graph.
    """
    names = graph.called
    rows: list[list[Run]] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, str, str]] = [(graph.result, "", "")]
    while stack and len(rows) < max_rows:
        v, lead, child_lead = stack.pop()
        runs = _value_runs(v, names.get(v), digits, g, constant=not v.inputs)
        if v.inputs:
            runs = [(_op_text(v, names) + " ", "op"), *runs]
        again = v in seen and bool(v.inputs)
        if again:
            runs.append((f" {g.shared}", "more"))
        rows.append([(lead, "edge"), *runs] if lead else runs)
        seen.add(v)
        if again:
            continue
        kids = list(dict.fromkeys(v.inputs))
        for k in range(len(kids) - 1, -1, -1):
            last = k == len(kids) - 1
            branch, under = (g.tree[1], g.tree[3]) if last else (g.tree[0], g.tree[2])
            stack.append((kids[k], child_lead + branch, child_lead + under))
    return rows, len(seen), not stack


def _clip(row: list[Run], width: int, g: Glyphs) -> list[Run]:
    """A row cut to ``width`` columns, with ⋯ where it was cut."""
    if sum(cell_width(text) for text, _ in row) <= width:
        return row
    out: list[Run] = []
    room = width - cell_width(g.more)
    for text, kind in row:
        keep = ""
        for ch in text:
            if cell_width(keep + ch) > room:
                break
            keep += ch
        out.append((keep, kind))
        room -= cell_width(keep)
        if keep != text:
            break
    out.append((g.more, "more"))
    return out


# --- the entry point ---------------------------------------------------------------------


def _count_below(root: Node, limit: int | None = None) -> int:
    """Nodes at or below ``root``; with ``limit``, stops counting past it."""
    seen = {root}
    stack = [root]
    while stack and (limit is None or len(seen) <= limit):
        for c in stack.pop().inputs:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return len(seen)


def forms(
    graph: GraphView, width: int, digits: int, g: Glyphs, max_rows: int, tall: int = TALL
) -> Iterator[tuple[Picture | None, int]]:
    """Each form of the whole graph as a DAG, in order of preference: its drawing or None, and the columns needed so far.

    Left to right with labels on one line; with compact labels for the
    operations and one-line leaves (the width spent before the rows: 15 inputs
    take 15 rows, not 45), then compact labels for all (each at the default
    precision, then a digit or two shorter); top to bottom, with
    compact labels, in up to ``tall`` times the rows. A form's drawing does
    not depend on ``max_rows``, which only rules out taller ones.
    """
    nodes, shown, _ = _view(graph, None, digits, g)
    rows, needs = layout(nodes, len(nodes) - 1, g, width, max_rows)
    yield (Picture(rows, shown, shown) if rows is not None else None), 0
    shorter = list(dict.fromkeys([digits, *((3, 2) if digits == 4 else ())]))
    for down, inline in ((False, True), (False, False), (True, False)):
        for short in shorter:
            nodes, shown, _ = _view(graph, None, short, g, compact=True, inline_leaves=inline)
            if down:
                rows, _ = vertical(nodes, len(nodes) - 1, g, width, tall * max_rows)
            else:
                rows, more = layout(nodes, len(nodes) - 1, g, width, max_rows, tight=True)
                needs = min(needs, more) if needs and more else needs or more
            yield (Picture(rows, shown, shown, down=down) if rows is not None else None), needs


def whole(graph: GraphView, width: int, digits: int, g: Glyphs, max_rows: int, tall: int = TALL) -> tuple[Picture | None, int]:
    """The whole graph as a DAG in the first form that fits (see ``forms``), and the columns it would need left to right."""
    needs = 0
    for picture, needs in forms(graph, width, digits, g, max_rows, tall):
        if picture is not None:
            return picture, needs
    return None, needs


def draw_dag(
    graph: Drawable,
    width: int = 80,
    digits: int | None = None,
    ascii: bool = False,
    max_rows: int = MAX_ROWS,
) -> Picture:
    """The program's graph, drawn to fit ``width`` columns and ``max_rows`` rows.

    In order of preference: the whole graph as a DAG (left to right, then
    with compact labels, then top to bottom: see ``whole``); the whole graph
    as a tree (when no DAG fits); the part of the DAG nearest the result
    (when the graph is too big); the top of the tree. The nodes must hold a
    run's values and gradients (``Program.run``). Numbers have ``digits``
    significant digits, TABLE_DIGITS when None.
    """
    digits = table_digits(digits)
    graph = graph_view(graph)
    g = ASCII if ascii else UNICODE
    small = 4 * max_rows
    if _count_below(graph.result, small) <= small:
        picture, needs = whole(graph, width, digits, g, max_rows)
        if picture is not None:
            return picture
        rows, shown, complete = _tree(graph, digits, g, max_rows)
        if complete and all(sum(cell_width(t) for t, _ in row) <= width for row in rows):
            return Picture(rows, shown, shown, kind="tree", needs=needs)
    best: tuple[list[list[Run]], int] | None = None
    depth = 1
    while True:
        nodes, shown, complete = _view(graph, depth, digits, g)
        drawn, _ = layout(nodes, len(nodes) - 1, g, width, max_rows)
        if drawn is None:
            break
        best = drawn, shown
        if complete:
            return Picture(drawn, shown, shown)
        depth += 1
    total = _count_below(graph.result)
    if best is not None:
        return Picture(best[0], best[1], total)
    rows, shown, _ = _tree(graph, digits, g, max_rows)
    return Picture([_clip(row, width, g) for row in rows], shown, total, kind="tree")


def summary(picture: Picture, width: int, ascii: bool = False) -> list[str]:
    """The lines to print under a picture: what the marks mean, and what was left out."""
    g = ASCII if ascii else UNICODE
    text = "\n".join(picture.lines)
    notes = [f"{g.grad.strip()}: gradient of the result with respect to the node"]
    if picture.kind == "tree":
        if not picture.complete:
            notes.append(f"The graph is too big to draw in {width} columns; here is the start of it as a tree.")
        elif picture.needs:
            needs = picture.needs
            notes.append(f"The drawing needs {needs} columns; here it is as a tree.")
            notes.append(f"To see the drawing: --width {needs} | less -RS (a pager that does not wrap lines)")
        else:
            notes.append("The graph has too many rows to draw; here it is as a tree.")
        if g.shared in text:
            notes.append(f"{g.shared}: shown above")
    if any(kind == "mark" for row in picture.rows for _, kind in row):
        if g.marks[1]:
            notes.append(
                f"{g.marks[0]} {g.marks[1]}: the first and the second operand, where the drawing has them the other way round"
            )
        else:
            notes.append(f"{g.marks[0]}: the first operand, where the drawing has it second")
    if any(kind == "more" for row in picture.rows for _, kind in row) or not picture.complete:  # not a cut expression...
        left, shown, total = picture.total - picture.shown, picture.shown, picture.total
        nodes = "nodes" if left != 1 else "node"
        notes.append(f"{g.more}: {left:,} more {nodes} ({shown:,} of {total:,} shown; --graph dot has them all)")
    return notes
