"""Labels of more than one line: the compact form of render/dag.py, stacked under their first line.

A compact label keeps its first line (operation and name) on the row its
edges leave from, and puts its value and gradient on the rows below, in the
label's own columns. Those columns hold no bus, so the lines below are free
wherever no other label or horizontal line is; where they are not, a row is
opened there, the vertical lines going on through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .layout import Box
    from .routing import Drawing

__all__ = ["stack"]


def _free(drawing: Drawing, taken: set[tuple[int, int]], row: int, start: int, end: int) -> bool:
    """Whether text may go in columns ``start`` to ``end`` of ``row``.

    They must be blank, and so must the column either side; the next ones
    out may hold a line but no text, so that two texts never read as one.
    No line may end or turn in the three columns to the left (a vertical line
    passing is fine): ``x ───┐ ∂-0.78`` reads as x's gradient, not as the
    gradient of the label above it.
    """
    if row >= drawing.nrows:
        return False
    line = drawing.line[row]
    near = range(max(0, start - 1), end + 2)
    if any((row, c) in drawing.joins or (row, c) in drawing.marks or c in line for c in near):
        return False
    left = range(max(0, start - 3), max(0, start - 1))
    if any(drawing.joins.get((row, c), "v") != "v" or (row, c) in drawing.marks or c in line for c in left):
        return False
    return not any((row, c) in drawing.owner or (row, c) in taken for c in range(max(0, start - 2), end + 3))


def _open_row(drawing: Drawing, nodes: list[Box], at: int) -> None:
    """Insert a blank row before row ``at``; vertical lines crossing it go on through it."""

    def shift(cells: dict[tuple[int, int], Any]) -> dict[tuple[int, int], Any]:
        return {((r + 1 if r >= at else r), c): v for (r, c), v in cells.items()}

    through = [c for (r, c), j in drawing.joins.items() if r == at - 1 and (j in ("v", "x") or (isinstance(j, tuple) and j[1]))]
    drawing.joins = shift(drawing.joins)
    drawing.marks = shift(drawing.marks)
    drawing.owner = shift(drawing.owner)
    for c in through:
        drawing.joins[(at, c)] = "v"
    drawing.line.insert(at, set())
    drawing.nrows += 1
    for n in nodes:
        if n.row >= at:
            n.row += 1


def stack(drawing: Drawing, nodes: list[Box]) -> None:
    """Place every label's further lines under its first, opening rows where the space is taken.

    A label's lines stay together: a row opened under one label goes below
    the lines already placed of labels above it.
    """
    placed: dict[int, int] = {}  # node -> lines placed under its first
    taken: set[tuple[int, int]] = set()  # (row, column) of placed lines; made again when a row is opened
    for i in sorted((i for i, n in enumerate(nodes) if n.extra), key=lambda i: (nodes[i].row, nodes[i].col)):
        n = nodes[i]
        for k, runs in enumerate(n.extra, 1):
            width = sum(len(text) for text, _ in runs)
            row = n.row + k
            if not _free(drawing, taken, row, n.col, n.col + width - 1):
                _open_row(drawing, nodes, row)
                # lines already placed below ``row`` belong to labels above it: they stay with their labels
                taken = {
                    (nodes[j].row + m, c)
                    for j, count in placed.items()
                    for m in range(1, count + 1)
                    for c in range(nodes[j].col, nodes[j].col + nodes[j].width)
                }
            placed[i] = k
            taken.update((n.row + k, c) for c in range(n.col, n.col + n.width))
    for i, count in placed.items():
        n = nodes[i]
        for k in range(count):
            drawing.extras[(n.row + 1 + k, n.col)] = n.extra[k]
