"""The people display of ``autodiff eval``: what was computed, and how each input moved it.

The program and its value, a table of inputs with value and gradient, one of
named intermediates, then the graph (render/dag.py). Built as rich Text;
``to_text`` turns it into what the command prints, with or without colour.
Only the display imports rich, so that ``--json`` never loads it; and only
``rich.console`` and ``rich.text``, since a table and a Group cost start-up
time that these few aligned columns do not need.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, TextIO

from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.text import Text

from ..graph_view import Drawable, Node, graph_view
from ..numbers import format_number, table_digits
from ..program import Result
from ..text import MIN_WIDTH, env_size, excerpt, fit_width
from .dag import Picture, summary
from .layout import cell_width
from .pictures import choose

__all__ = ["DisplayOptions", "Terminal", "display", "for_stream", "make_console", "terminal_of", "to_text", "without_comments"]

MAX_LINES = 10_000
"""Lines a terminal is taken to have at most, whatever LINES says."""
MAX_TABLE_ROWS = 30
"""Rows of a table before the rest is summed up in a line (--json has them all)."""

MAX_PROGRAM_LINES = 6

NAMES_NOTE = "[expr] name: a named value and what defines it (--dag ops: every operation)"

STYLES = {
    "name": "bold cyan",
    "value": "",
    "const": "",
    "op": "yellow",
    "mark": "bold yellow",
    "edge": "bright_black",
    "more": "magenta",
    "grad": "green",
    "program": "bold",
    "header": "bold",
    "note": "bright_black",
}


class DisplayOptions(NamedTuple):
    """How to draw: columns, significant digits, plain ASCII, and which graph (render/pictures.MODES; "": none).

    ``digits`` None: the result line as the JSON shows it, tables to TABLE_DIGITS.
    """

    width: int = 80
    digits: int | None = None
    ascii: bool = False
    dag: str = "auto"


def display(graph: Drawable, result: Result, options: DisplayOptions | None = None) -> Text:
    """Everything ``autodiff eval`` shows a person, for a graph that has just been run."""
    options = options or DisplayOptions()
    graph = graph_view(graph)
    parts: list[Text] = [_headline(graph.source, result.value, options)]
    inputs = [(name, graph.inputs[name]) for name in result.gradients]
    if inputs:
        parts += [Text(), *_table("input", inputs, options)]
    named = list(graph.names.items())
    if named:
        parts += [Text(), *_table("name", named, options)]
    if options.dag:
        kind, _, picture = choose(graph, options.dag, options.width, options.digits, options.ascii)
        notes = summary(picture, options.width, options.ascii)
        if kind == "names":
            notes.insert(1, NAMES_NOTE)
        parts += [Text(), _picture(picture), *_notes(notes)]
    return Text("\n").join(parts)


def for_stream(
    graph: Drawable,
    result: Result,
    stream: TextIO,
    environ: Mapping[str, str],
    width: int | None = None,
    digits: int | None = None,
    ascii: bool = False,
    dag: str = "auto",
) -> str:
    """The display as it should be written to ``stream``, by the usual conventions.

    Width: ``width``, else COLUMNS, else the terminal's, else 80 (a pipe).
    Colour: none under NO_COLOR, always under FORCE_COLOR, else on a terminal only.
    ASCII: when asked, or when the stream's encoding cannot take box drawing.
    """
    terminal = terminal_of(stream, environ, width)
    options = DisplayOptions(width=terminal.width, digits=digits, ascii=ascii or not terminal.unicode, dag=dag)
    return terminal.encodable(to_text(display(graph, result, options), terminal.width, terminal.color))


class Terminal(NamedTuple):
    """What a stream can show: its width, whether it takes box drawing, whether colour is wanted."""

    width: int
    unicode: bool
    color: bool
    encoding: str
    height: int = 25  # given to rich, which would otherwise read LINES itself, and fail on LINES=²

    def encodable(self, text: str) -> str:
        """``text`` with what the stream cannot encode as '?' (letters of names on an ASCII terminal)."""
        return text if self.unicode else text.encode(self.encoding, "replace").decode(self.encoding)


def terminal_of(
    stream: TextIO, environ: Mapping[str, str], width: int | None = None, sample: str = "─│┼→∂⋯…", least: int = MIN_WIDTH
) -> Terminal:
    """The usual conventions, shared by every picture (the display, plots).

    Width: ``width``, else COLUMNS, else the terminal's (both within ``least``
    and MAX_WIDTH, as --width is), else 80 (a pipe).
    Colour: none under NO_COLOR, always under FORCE_COLOR, else on a terminal only.
    Unicode: when the stream's encoding can take ``sample``.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if environ.get("NO_COLOR"):
        color = False
    elif environ.get("FORCE_COLOR"):
        color = True
    else:
        isatty = getattr(stream, "isatty", None)
        color = bool(isatty and isatty())
    columns, lines = _size(stream, environ)
    width = width or (fit_width(columns, least) if columns else 80)
    return Terminal(width, _can_encode(sample, encoding), color, encoding, min(lines, MAX_LINES) or 25)


def _size(stream: TextIO, environ: Mapping[str, str]) -> tuple[int, int]:
    """COLUMNS and LINES, else the terminal's, each 0 where neither says."""
    try:
        size = os.get_terminal_size(stream.fileno()) if stream.isatty() else None
    except (AttributeError, OSError, ValueError):
        size = None
    columns, lines = env_size(environ.get("COLUMNS", "")), env_size(environ.get("LINES", ""))
    return columns or (size.columns if size else 0), lines or (size.lines if size else 0)


def _can_encode(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class _TrimmedConsole(Console):
    """A Console whose lines end without the spaces rich pads tables with: they show in diffs and editors.

    Everything a Console writes or captures goes through ``_render_buffer``,
    whole lines at a time, so trimming there covers every people output.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return _LINE_END_PADDING.sub(r"\1\n", super()._render_buffer(buffer))


# Spaces before a line end, with any colour codes that close the line kept.
_LINE_END_PADDING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)\n")


def make_console(terminal: Terminal, file: TextIO | None = None, stderr: bool = False) -> Console:
    """The one way a rich Console is made: the width and colour ``terminal_of`` decided, nothing of rich's own.

    Without colour there is no style at all (no bold either), as on a pipe. A
    stream without colour is not forced to be a terminal, so a progress bar on
    a real one still draws (under NO_COLOR too). Without ``file`` it writes to
    whatever sys.stdout (``stderr``: sys.stderr) is at the time of writing.
    Results have no spaces at the ends of lines; standard error keeps rich's
    own, which a progress bar needs to overwrite a longer line.
    """
    return (Console if stderr else _TrimmedConsole)(
        file=file,
        stderr=stderr,
        width=terminal.width,
        height=terminal.height,
        force_terminal=terminal.color or None,
        color_system="auto" if terminal.color else None,
        no_color=not terminal.color,
        legacy_windows=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        force_jupyter=False,
    )


def to_text(renderable: RenderableType, width: int, color: bool) -> str:
    """The renderable as the text a terminal (``color``) or a pipe would get."""
    out = io.StringIO()
    make_console(Terminal(width, True, color, "utf-8"), out).print(renderable)
    text = out.getvalue().rstrip("\n")
    # Wrapping leaves a space at the end of a line; without colour, drop it (it shows in diffs).
    return text if color else "\n".join(line.rstrip() for line in text.split("\n"))


# --- parts ----------------------------------------------------------------------------


def _shorten(source: str, width: int, more: str) -> str:
    """The program, escaped and cut short if long: a 3,000-term sum must not fill the screen."""
    return excerpt(source, width * 2, MAX_PROGRAM_LINES, more)


def without_comments(source: str) -> str:
    """The program as a header shows it: no ``#`` comments, nor the lines they leave blank.

    A comment is for whoever reads the file; the header says what was computed
    (``x^2  # the square`` heads its display as ``x^2 = 4``). The language has
    no strings, so every ``#`` starts a comment.
    """
    lines = (line.partition("#")[0].rstrip() for line in source.split("\n"))
    return "\n".join(line for line in lines if line.strip()) or source


def _headline(source: str, value: float, options: DisplayOptions) -> Text:
    source = without_comments(source)
    shown = _shorten(source, options.width, _more(options))
    number = format_number(value, options.digits)
    text = Text()
    single = not any(mark in source for mark in ";=\n")  # one expression: "tanh(a*b+c) = 0.9999983369439447"
    if single and len(shown) + len(number) + 3 <= options.width:
        text.append(shown, STYLES["program"])
        text.append(" = ")
    else:
        text.append(shown + "\n", STYLES["program"])
        text.append("= ")
    text.append(number, "bold")
    return text


def _table(title: str, rows: list[tuple[str, Node]], options: DisplayOptions) -> list[Text]:
    """Name, value and gradient in aligned columns under a ruled header."""
    gradient = "gradient" if options.ascii else f"∂result/∂{title}"
    digits = table_digits(options.digits)
    shown = [(name, format_number(v.value, digits), format_number(v.grad, digits)) for name, v in rows]
    shown = shown[:MAX_TABLE_ROWS]
    header = (title, "value", gradient)
    widths = [max(cell_width(row[k]) for row in [header, *shown]) for k in range(3)]
    gap = " | " if options.ascii else "   "
    lines = [_row(header, widths, gap, ("header", "header", "header"))]
    if options.ascii:
        lines.append(Text("-+-".join("-" * w for w in widths), STYLES["edge"]))
    else:
        lines.append(Text("─" * (sum(widths) + 2 * len(gap)), STYLES["edge"]))
    lines += [_row(row, widths, gap, ("name", "value", "grad")) for row in shown]
    left = len(rows) - len(shown)
    if left > 0:
        noun = "inputs (--json lists them all)" if title == "input" else "names"
        lines.append(Text(f"{_more(options)} {left:,} more {noun}", STYLES["note"]))
    return lines


def _more(options: DisplayOptions) -> str:
    return "..." if options.ascii else "…"


def _row(cells: Sequence[str], widths: list[int], gap: str, kinds: Sequence[str]) -> Text:
    """One table row: the first cell to the left, the numbers to the right."""
    text = Text()
    for k, (cell, width, kind) in enumerate(zip(cells, widths, kinds, strict=True)):
        pad = " " * (width - cell_width(cell))
        if k:
            text.append(gap, STYLES["edge"])
            text.append(pad)
        text.append(cell, STYLES[kind])
        if not k:
            text.append(pad)
    text.rstrip()
    return text


def _picture(picture: Picture) -> Text:
    text = Text()
    for k, row in enumerate(picture.rows):
        if k:
            text.append("\n")
        for chunk, kind in row:
            text.append(chunk, STYLES.get(kind, ""))
    return text


def _notes(lines: Sequence[str]) -> list[Text]:
    return [Text(line, STYLES["note"]) for line in lines]
