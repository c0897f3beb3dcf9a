"""The people display of ``autodiff eval``: what was computed, and how each input moved it.

The program and its value, a table of inputs with value and gradient, one of
named intermediates, then the graph (render/dag.py). Built as rich
renderables; ``to_text`` turns them into the text the command prints, with or
without colour. Only this module and ``to_text``'s caller touch rich, so that
``--json`` never loads it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..engine import Value
from ..parser import Graph
from ..program import Result
from .dag import MAX_ROWS, Picture, draw_dag, format_number, summary

__all__ = ["DisplayOptions", "display", "to_text"]

MAX_TABLE_ROWS = 30
"""Rows of a table before the rest is summed up in a line (--json has them all)."""

MAX_PROGRAM_LINES = 6

STYLES = {
    "name": "bold cyan",
    "value": "",
    "const": "",
    "op": "yellow",
    "edge": "bright_black",
    "more": "magenta",
    "grad": "green",
    "program": "bold",
    "note": "bright_black",
}


@dataclass(frozen=True)
class DisplayOptions:
    """How to draw: columns, significant digits, plain ASCII, and whether to include the graph."""

    width: int = 80
    digits: int = 4
    ascii: bool = False
    dag: bool = True


def display(graph: Graph, result: Result, options: DisplayOptions = DisplayOptions()) -> RenderableType:
    """Everything ``autodiff eval`` shows a person, for a graph that has just been run."""
    parts: list[RenderableType] = [_headline(graph.source, result.value, options)]
    inputs = [(name, graph.inputs[name]) for name in result.gradients]
    if inputs:
        parts += [Text(), *_table("input", inputs, options)]
    named = [(name, v) for name, v in graph.names.items() if name not in result.gradients]
    if named:
        parts += [Text(), *_table("named", named, options)]
    if options.dag:
        picture = draw_dag(graph, width=options.width, digits=options.digits, ascii=options.ascii, max_rows=MAX_ROWS)
        parts += [Text(), _picture(picture), *_notes(summary(picture, options.width, options.ascii))]
    return Group(*parts)


def to_text(renderable: RenderableType, width: int, color: bool) -> str:
    """The renderable as the text a terminal (``color``) or a pipe would get."""
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=color,
        color_system="auto" if color else None,
        no_color=not color,
        legacy_windows=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        force_jupyter=False,
    )
    console.print(renderable)
    return out.getvalue().rstrip("\n")


# --- parts ----------------------------------------------------------------------------


def _shorten(source: str, width: int) -> str:
    lines = source.split("\n")
    budget = width * 2
    out: list[str] = []
    for line in lines[:MAX_PROGRAM_LINES]:
        if len(line) > budget:
            out.append(f"{line[:budget]} … ({len(line) - budget:,} more characters)")
            break
        out.append(line)
    left = len(lines) - len(out)
    if left > 0:
        out.append(f"… ({left:,} more lines)")
    return "\n".join(out)


def _headline(source: str, value: float, options: DisplayOptions) -> Text:
    shown = _shorten(source, options.width)
    number = format_number(value, options.digits)
    text = Text()
    single = not any(mark in source for mark in ";=\n")  # one expression: "tanh(a*b+c) = 1.000"
    if single and len(shown) + len(number) + 3 <= options.width:
        text.append(shown, STYLES["program"])
        text.append(" = ")
    else:
        text.append(shown + "\n", STYLES["program"])
        text.append("= ")
    text.append(number, "bold")
    return text


def _table(kind: str, rows: list[tuple[str, Value]], options: DisplayOptions) -> list[RenderableType]:
    title = "input" if kind == "input" else "name"
    gradient = "gradient" if options.ascii else f"∂result/∂{title}"
    table = Table(box=box.ASCII if options.ascii else box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column(title, style=STYLES["name"], no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column(gradient, justify="right", style=STYLES["grad"], no_wrap=True)
    for name, v in rows[:MAX_TABLE_ROWS]:
        table.add_row(name, format_number(v.data, options.digits), format_number(v.grad, options.digits))
    left = len(rows) - MAX_TABLE_ROWS
    if left <= 0:
        return [table]
    noun = "inputs (--json lists them all)" if kind == "input" else "names"
    return [table, Text(f"… {left:,} more {noun}", STYLES["note"])]


def _picture(picture: Picture) -> Text:
    text = Text(no_wrap=True, overflow="ignore")
    for k, row in enumerate(picture.rows):
        if k:
            text.append("\n")
        for chunk, kind in row:
            text.append(chunk, STYLES.get(kind, ""))
    return text


def _notes(lines: Iterable[str]) -> list[Text]:
    return [Text(line, STYLES["note"]) for line in lines]
