"""Which picture of a program to draw: every operation, or the graph of its named values (issue 22).

The operation-level picture (constants folded into their operators' labels)
is drawn when it fits the width and about a screen; otherwise the graph of
named values: inputs, named statements and the result, each labelled with
its defining expression (graph_view.named_values), or for a program without
statements, its top-level terms. The terminal display and the other painters
call ``choose`` so that they draw the same graph; the choice is a pure
function of the run graph, the width and the options.
"""

from __future__ import annotations

from ..graph_view import Drawable, GraphView, fold_constants, graph_view, named_values, top_terms
from ..numbers import table_digits
from .dag import MAX_ROWS, Picture, draw_dag, forms, whole
from .layout import ASCII, UNICODE, Glyphs

__all__ = ["MODES", "SCREEN", "choose", "whole_names"]

MODES = ("auto", "ops", "names")
"""``--dag``: choose by size, or force the operation-level or the named-values picture."""

SCREEN = 40
"""Rows a picture may take before ``auto`` draws the named values instead: about a screen, with the tables."""

TALLEST = 46
"""Rows a named-values picture may take rather than cut its expressions short: the display stays under 48 lines of picture."""

BUDGETS = (48, 32, 22, 14, 8, 1)
"""Characters of a defining expression, longest first, until the picture fits."""

READABLE = 22
"""The shortest cut of a definition that still reads as one (``sigmoid(wo*x+uo*h+bo)``): a picture of such
labels in TALLEST rows is drawn rather than a screen's worth of ``[sigmo…]`` or ``[…]`` labels."""


def choose(
    graph: Drawable,
    mode: str = "auto",
    width: int = 80,
    digits: int | None = None,
    ascii: bool = False,
    max_rows: int = SCREEN,
) -> tuple[str, GraphView, Picture]:
    """The picture to show: "ops" or "names", the graph it draws, and its drawing in ``width`` columns.

    ``auto`` draws the operations when they fit ``max_rows`` rows, else the
    named values (the longest expressions that fit), else (a 3,000-term sum)
    the operations cut down as draw_dag must; a forced mode draws its graph
    at any size. Never a tree for a graph that fits as named values.
    """
    digits = table_digits(digits)
    view = graph_view(graph)
    g = ASCII if ascii else UNICODE
    ops = fold_constants(view, digits, "_" if ascii else "·")
    if mode != "names":
        picture = _fits(ops, width, digits, g, max_rows)
        if picture is not None:
            return "ops", ops, picture
        if mode == "ops":
            return "ops", ops, draw_dag(ops, width, digits, ascii, MAX_ROWS)
    group = named_values if view.names else top_terms
    names = view
    tallest = max(max_rows, TALLEST)
    fallback: tuple[GraphView, Picture] | None = None  # the longest expressions in a little more than a screen
    for budget in BUDGETS:  # each budget's first form that fits drawn once: the first that takes a screen, else the fallback
        if budget < READABLE and fallback is not None:
            break  # readable definitions in a few more rows than a screen, rather than cut ones in fewer
        names = group(view, digits, budget, "..." if ascii else "…")
        if len(names.order) > 2 * tallest:
            continue
        picture = next((drawn for drawn, _ in forms(names, width, digits, g, tallest, tall=1) if drawn is not None), None)
        if picture is None:
            continue
        if len(picture.rows) <= max_rows and len(names.order) <= 2 * max_rows:
            return "names", names, picture
        if fallback is None:
            fallback = names, picture
    if fallback is not None:
        return "names", *fallback
    if mode == "names":
        return "names", names, draw_dag(names, width, digits, ascii, MAX_ROWS)
    return "ops", ops, draw_dag(ops, width, digits, ascii, MAX_ROWS)  # too big for either: the part nearest the result


WHOLE = 200
"""Characters of a defining expression a vector picture shows: it has the room a terminal has not."""


def whole_names(graph: Drawable, digits: int | None = None) -> GraphView:
    """The named-values graph with its expressions whole (up to WHOLE characters): for the SVG and HTML painters.

    ``choose`` cuts expressions to fit a terminal (an LSTM at 80 columns shows
    ``[…]``); a vector picture draws the same graph with the definitions a
    reader needs.
    """
    view = graph_view(graph)
    return (named_values if view.names else top_terms)(view, table_digits(digits), WHOLE)


def _fits(view: GraphView, width: int, digits: int, g: Glyphs, max_rows: int) -> Picture | None:
    """The whole graph as a DAG in ``max_rows`` rows, or None (not tried for a graph of more nodes than rows)."""
    if len(view.order) > 2 * max_rows:
        return None
    picture, _ = whole(view, width, digits, g, max_rows, tall=1)
    return picture
