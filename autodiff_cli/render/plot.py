"""The terminal picture of ``autodiff plot``: curves in braille dots (or ASCII marks), axes, legend, notes.

Drawn by hand with rich Text rather than with a plotting library: braille
cells give 2 x 4 dots per character, which is all a curve needs, and the
axes, ticks and legend are a few lines of text. A library (plotext,
uniplot, asciichartpy) would be a new dependency for that, none of them
marks gaps and kinks the way a derivative plot needs, and their start-up
cost would land on every ``autodiff`` command that imports them.

Without colour the curves stay apart by their dots: the value is solid, the
derivatives are dotted, more sparsely the higher they go; in ASCII each
curve has its own mark. The value is drawn last, on top.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TextIO

from rich.text import Text

from ..numbers import format_number, table_digits
from ..plot import PlotData, parse_limits
from ..shapes import Curve, joins, outside, position, y_range
from ..text import env_size
from .display import Terminal

__all__ = [
    "PlotOptions",
    "curve_label",
    "default_height",
    "default_points",
    "nice_ticks",
    "plot_notes",
    "plot_options",
    "range_note",
    "render_plot",
]

PALETTE = ("cyan", "magenta", "yellow", "green", "blue", "red")
MARKS = "*+o%@&"  # ASCII: one mark per curve
STYLES = {"axis": "bright_black", "title": "bold", "note": "bright_black", "kink": "bold red", "zero": "bright_black"}
# Bit of each dot of a braille cell, by dot row (0-3) and dot column (0-1).
BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
KINK = -1  # owner of a cell holding a kink mark
Dash = tuple[int, int] | None  # dots on, dots off; None: solid


class PlotOptions(NamedTuple):
    """How to draw: the size of the whole picture in characters, ASCII or not, colour or not, the y range."""

    width: int = 80
    height: int = 24
    ascii: bool = False
    color: bool = False
    ylim: tuple[float, float] | None = None
    digits: int | None = None  # of the numbers in the notes (kinks, the y range); tick labels take what the step needs


def plot_options(terminal: Terminal, height: int, ascii: bool, ylim: str | None, digits: int | None = None) -> PlotOptions:
    """The options for a terminal, from the command's: ASCII also where the stream cannot take braille."""
    limits = parse_limits(ylim) if ylim is not None else None
    return PlotOptions(terminal.width, height, ascii or not terminal.unicode, terminal.color, limits, digits)


def default_points(width: int) -> int:
    """Two points per dot column of a picture ``width`` characters wide."""
    return max(3, 4 * (width - 10) + 1)


def default_height(stream: TextIO, environ: Mapping[str, str], width: int) -> int:
    """LINES, else the terminal's height less the prompt line, at most about 0.3 of the width; 24 for a pipe."""
    rows = env_size(environ.get("LINES", ""))
    if not rows:
        try:
            rows = os.get_terminal_size(stream.fileno()).lines if stream.isatty() else 0
        except (AttributeError, OSError, ValueError):
            rows = 0
    wanted = max(14, round(width * 0.3))
    return max(10, min(rows - 1, wanted)) if rows else 24


def curve_label(curve: Curve, source: str, x: str, ascii: bool) -> str:
    """What the legend calls a curve: the program itself (when short), d/dx, d²/dx²."""
    if curve.order == 0:
        one_line = "\n" not in source and ";" not in source and len(source) <= 30
        return source.strip() if one_line else "value"
    if curve.order == 1:
        return f"d/d{curve.wrt}"
    return f"d2/d{x}2" if ascii else f"d²/d{x}²"


# --- numbers on the axes -------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int) -> tuple[list[float], float]:
    """About ``count`` round numbers (1, 2 or 5 times a power of ten apart) from ``low`` to ``high``.

    At float64's edges too: the width is taken in halves where it overflows,
    and a step past the largest float is the largest round one.
    """
    span = high - low
    raw = span / max(1, count) if math.isfinite(span) else (high / 2.0 - low / 2.0) / max(1, count) * 2.0
    raw = max(raw, math.ulp(0.0))  # between subnormals a step can be no finer than the least float
    exponent = math.floor(math.log10(raw)) if math.isfinite(raw) else 308
    steps = [float(f"{m}e{exponent + e}") for e in (0, 1) for m in (1, 2, 5)]
    finite = [s for s in steps if math.isfinite(s)]
    step = next((s for s in finite if s >= raw * (1 - 1e-9)), finite[-1])
    return _multiples(low, high, step), step


def _multiples(low: float, high: float, step: float) -> list[float]:
    """The multiples of ``step`` from ``low`` to ``high``."""
    ticks = []
    k = math.ceil(low / step - 1e-9)
    while k * step - high <= step * 1e-9:  # not high + step * 1e-9, which overflows: an endless loop
        ticks.append(k * step)
        k += 1
    return ticks


def tick_text(value: float, step: float) -> str:
    """A tick label with just the digits the step needs: 0.25, 1500, 2e+08."""
    if value == 0.0:
        return "0"
    magnitude = max(abs(value), step)
    if 1e-4 <= magnitude < 1e6:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        while decimals < 12 and abs(round(step, decimals) - step) > step * 1e-9:
            decimals += 1  # a step of 0.25
        return f"{value:.{decimals}f}"
    digits = max(1, math.floor(math.log10(abs(value))) - math.floor(math.log10(step) + 1e-9) + 1)
    return f"{value:.{digits}g}".replace("e+0", "e+").replace("e-0", "e-")


def _y_axis(curves: Sequence[Curve], rows: int, ylim: tuple[float, float] | None) -> tuple[float, float, list[float], float]:
    """The range of a panel (widened to round numbers unless ``ylim`` fixed it, or past float64), its ticks and step."""
    low, high = y_range(curves, ylim)
    ticks, step = nice_ticks(low, high, max(2, rows // 3))
    if ylim is None:
        wide_low, wide_high = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
        low, high = (wide_low if math.isfinite(wide_low) else low), (wide_high if math.isfinite(wide_high) else high)
        ticks = _multiples(low, high, step)  # the same step: ticks anew could skip all but 0
    return low, high, ticks, step


# --- the canvas ------------------------------------------------------------------------


class _Canvas:
    """Cells of sub-dots (braille: 2 x 4, ASCII: 1 x 1), each remembering which curve drew it last."""

    def __init__(self, columns: int, rows: int, ascii: bool) -> None:
        self.columns, self.rows = columns, rows
        self.sx, self.sy = (1, 1) if ascii else (2, 4)
        self.bits = [[0] * columns for _ in range(rows)]
        self.owner: list[list[Any]] = [[None] * columns for _ in range(rows)]
        self.pen: dict[int, tuple[int, int, int]] = {}  # each curve's last dot and length so far, to dash it

    def dot(self, dx: int, dy: int, owner: int, dash: Dash = None) -> None:
        """One dot; with a ``dash`` (on, off), only ``on`` dots of every ``on + off`` along the curve's length."""
        if dash:
            x0, y0, length = self.pen.get(owner, (dx, dy, 0))
            length += max(abs(dx - x0), abs(dy - y0))
            self.pen[owner] = (dx, dy, length)
            if length % (dash[0] + dash[1]) >= dash[0]:
                return
        if 0 <= dx < self.columns * self.sx and 0 <= dy < self.rows * self.sy:
            c, r = dx // self.sx, dy // self.sy
            self.bits[r][c] |= BRAILLE[dy % self.sy][dx % self.sx] if self.sx == 2 else 1
            self.owner[r][c] = owner

    def line(self, a: tuple[float, float], b: tuple[float, float], owner: int, dash: Dash) -> None:
        """The dots from ``a`` to ``b`` (in dot coordinates), clipped to the canvas height first."""
        (x0, y0), (x1, y1) = a, b
        top, bottom = -0.5, self.rows * self.sy - 0.5
        if (y0 < top and y1 < top) or (y0 > bottom and y1 > bottom):
            return
        if y0 != y1:
            t0 = max(0.0, min((top - y0) / (y1 - y0), (bottom - y0) / (y1 - y0)))
            t1 = min(1.0, max((top - y0) / (y1 - y0), (bottom - y0) / (y1 - y0)))
            (x0, y0), (x1, y1) = (x0 + t0 * (x1 - x0), y0 + t0 * (y1 - y0)), (x0 + t1 * (x1 - x0), y0 + t1 * (y1 - y0))
        steps = max(1, round(max(abs(x1 - x0), abs(y1 - y0))))
        for k in range(steps + 1):
            t = k / steps
            self.dot(round(x0 + t * (x1 - x0)), round(y0 + t * (y1 - y0)), owner, dash)


def _draw(data: PlotData, k: int, canvas: _Canvas, xr: tuple[float, float], yr: tuple[float, float], color: bool) -> None:
    """Curve ``k`` on its panel's canvas, with the kink marks on the value's."""
    (xlo, xhi), (ylo, yhi) = xr, yr
    width, height = canvas.columns * canvas.sx - 1, canvas.rows * canvas.sy - 1
    pxs = [round(position(x, xlo, xhi) * width) for x in data.xs]
    curve = data.curves[k]
    cuts = frozenset(i for kink in data.kinks for i in kink.cuts) if curve.order else frozenset()
    pys = [None if y is None else position(y, yhi, ylo) * height for y in curve.ys]
    _trace(canvas, pxs, pys, joins(curve.ys, yhi - ylo, cuts), k, None if color or canvas.sx == 1 else _dash(k))
    for kink in data.kinks if curve.order == 0 else ():
        if ylo <= kink.y <= yhi:
            px, py = position(kink.x, xlo, xhi) * width, position(kink.y, yhi, ylo) * height
            canvas.owner[round(py) // canvas.sy][round(px) // canvas.sx] = KINK


def _trace(canvas: _Canvas, pxs: list[int], pys: list[float | None], joined: list[bool], owner: int, dash: Dash) -> None:
    """One curve, in dot coordinates: the points of one dot column become one vertical run, so that
    10,000 points cost what the few hundred columns do; runs are joined by lines where ``joined`` says."""
    run: list[float] = []  # column, first y, lowest y, highest y, last y
    for i, py in enumerate(pys):
        if py is None:
            continue
        px = pxs[i]
        if run and run[0] == px:
            run[2], run[3], run[4] = min(run[2], py), max(run[3], py), py
        else:
            if run:
                canvas.line((run[0], run[2]), (run[0], run[3]), owner, dash)
                canvas.line((run[0], run[4]), (px, py), owner, dash)
            run = [px, py, py, py, py]
        if i >= len(joined) or not joined[i]:
            canvas.line((run[0], run[2]), (run[0], run[3]), owner, dash)
            run = []


def _dash(k: int) -> Dash:
    """Without colour: the value solid, then long dashes, dots, short dashes."""
    return None if k == 0 else ((4, 2), (1, 2), (2, 3))[(k - 1) % 3]


# --- the picture -----------------------------------------------------------------------


class _Panel(NamedTuple):
    """One curve's own axis: its range, ticks and their labels, and the points it leaves out."""

    low: float
    high: float
    ticks: list[float]
    texts: list[str]
    note: str | None


def render_plot(data: PlotData, options: PlotOptions) -> Text:
    """The whole picture, ``options.width`` by at most ``options.height`` (unless too few lines for the panels).

    Title; one panel per curve, each with its own y axis and a header (the
    curve's key and label, and what its axis leaves out); the x axis they
    share; the notes.
    """
    ascii = options.ascii
    labels = [curve_label(c, data.source, data.x, ascii) for c in data.curves]
    notes = [line for note in plot_notes(data, labels, ascii, options) for line in _wrap(note, options.width)]
    count = len(data.curves)
    rows = max(3, (options.height - 3 - len(notes)) // count - 1)
    panels = [_panel(curve, rows, options) for curve in data.curves]
    headers = [_header(data, k, labels[k], panels[k].note, options) for k in range(count)]
    spare = options.height - 3 - len(notes) - sum(len(h) for h in headers) - rows * count
    if spare < 0 and rows > 3:  # wrapped headers: take their lines from the panels
        rows = max(3, rows + spare // count)
        panels = [_panel(curve, rows, options) for curve in data.curves]
    label_width = max(len(t) for panel in panels for t in panel.texts)
    columns = max(10, options.width - label_width - 1 - len(data.x) - 2)
    xlo, xhi = data.xs[0], data.xs[-1]
    if xlo == xhi:
        xlo, xhi = xlo - 1.0, xhi + 1.0
    lines = [Text(_title(data, options.width), STYLES["title"])]
    for k, panel in enumerate(panels):
        canvas = _Canvas(columns, rows, ascii)
        _draw(data, k, canvas, (xlo, xhi), (panel.low, panel.high), options.color)
        lines += [Text(" " * (label_width + 1)) + line for line in headers[k]]
        lines += _rows(canvas, panel, label_width, options)
    lines += _x_axis(data.x, xlo, xhi, label_width, columns, ascii)
    lines += [Text(note, STYLES["note"]) for note in notes]
    return Text("\n").join(lines)


def _panel(curve: Curve, rows: int, options: PlotOptions) -> _Panel:
    low, high, ticks, step = _y_axis([curve], rows, options.ylim)
    return _Panel(low, high, ticks, [tick_text(v, step) for v in ticks], range_note([curve], low, high, options))


def _rows(canvas: _Canvas, panel: _Panel, label_width: int, options: PlotOptions) -> list[Text]:
    """The canvas's lines behind the panel's y axis, its ticks labelled."""
    low, high, rows = panel.low, panel.high, canvas.rows
    tick_rows: dict[int, str] = {}
    for v, t in zip(panel.ticks, panel.texts, strict=True):
        tick_rows.setdefault(round(position(v, high, low) * (rows * canvas.sy - 1)) // canvas.sy, t)
    zero = round(position(0.0, high, low) * (rows * canvas.sy - 1)) // canvas.sy if low < 0.0 < high else None
    lines = []
    for r in range(rows):
        line = Text(tick_rows.get(r, "").rjust(label_width))
        tick = r in tick_rows
        line.append(("+" if options.ascii else "┤") if tick else ("|" if options.ascii else "│"), STYLES["axis"])
        _cells(line, canvas, r, r == zero, options)
        lines.append(line)
    return lines


def _cells(line: Text, canvas: _Canvas, r: int, zero: bool, options: PlotOptions) -> None:
    kink_mark = "#" if options.ascii else "◆"
    for c in range(canvas.columns):
        owner = canvas.owner[r][c]
        if owner is None:
            if zero:
                line.append("-" if options.ascii else "┈", STYLES["zero"])
            else:
                line.append(" ")
        elif owner == KINK:
            line.append(kink_mark, STYLES["kink"])
        elif options.ascii:
            line.append(MARKS[owner % len(MARKS)], PALETTE[owner % len(PALETTE)])
        else:
            line.append(chr(0x2800 + canvas.bits[r][c]), PALETTE[owner % len(PALETTE)])
    line.rstrip()


def _x_axis(name: str, xlo: float, xhi: float, offset: int, columns: int, ascii: bool) -> list[Text]:
    ticks, step = nice_ticks(xlo, xhi, max(2, columns // 12))
    at = {round(position(v, xlo, xhi) * (columns - 1)): tick_text(v, step) for v in ticks}
    axis = "".join(("+" if ascii else "┬") if c in at else ("-" if ascii else "─") for c in range(columns))
    corner = "+" if ascii else "└"
    rule = Text(" " * offset + corner + axis, STYLES["axis"])
    rule.append(f" {name}")
    labels = [" "] * (offset + 1 + columns + len(name) + 2)
    end = -1
    for c, text in sorted(at.items()):
        start = max(0, offset + 1 + c - len(text) // 2)
        if start <= end + 1 or start + len(text) > len(labels):
            continue
        labels[start : start + len(text)] = text
        end = start + len(text) - 1
    return [rule, Text("".join(labels).rstrip())]


def _header(data: PlotData, k: int, label: str, note: str | None, options: PlotOptions) -> list[Text]:
    """What a panel's curve is (its key, its label, the kink mark on the value's) and what its axis leaves out."""
    header = Text()
    header.append(_sample(k, options), PALETTE[k % len(PALETTE)])
    header.append(f" {label}")
    if data.kinks and data.curves[k].order == 0:
        header.append("   ")
        header.append("#" if options.ascii else "◆", STYLES["kink"])
        header.append(" kink")
    if note is None:
        return [header]
    room = options.width - len(header) - 3
    wrapped = textwrap.wrap(note, max(20, room), break_on_hyphens=False)
    if room >= 20 and len(wrapped) == 1:
        header.append(f"   {note}", STYLES["note"])
        return [header]
    return [header] + [Text(f"  {line}", STYLES["note"]) for line in textwrap.wrap(note, max(20, options.width - 8))]


def _sample(k: int, options: PlotOptions) -> str:
    """A short stretch of curve ``k`` as the canvas draws it: solid, dotted, or its ASCII mark."""
    if options.ascii:
        return MARKS[k % len(MARKS)] * 2
    canvas = _Canvas(3, 1, False)
    canvas.line((0.0, 1.0), (5.0, 1.0), k, None if options.color else _dash(k))
    return "".join(chr(0x2800 + bits) for bits in canvas.bits[0])


def _wrap(note: str, width: int) -> list[str]:
    return textwrap.wrap(note, width, subsequent_indent="  ", break_on_hyphens=False) or [""]


def _title(data: PlotData, width: int) -> str:
    source = " ".join(data.source.split())
    points = f"{len(data.xs):,} point" + ("s" if len(data.xs) != 1 else "")
    tail = f" for {data.x} from {format_number(data.xs[0])} to {format_number(data.xs[-1])} ({points})"
    room = width - len(tail)
    if len(source) > room:
        source = source[: max(1, room - 3)] + "..."
    return source + tail


def plot_notes(data: PlotData, labels: Sequence[str], ascii: bool, options: PlotOptions) -> list[str]:
    """What the picture cannot show by itself: gaps and why, kinks, rows left out (each panel's header says
    what its own axis leaves out)."""
    notes = []
    failed = sum(data.failures.values())
    if failed:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in data.failures.most_common())
        first = data.messages[data.failures.most_common(1)[0][0]]
        notes.append(f"gaps: the program fails at {failed:,} of {len(data.xs):,} points ({kinds}), e.g. {first}")
    if data.second_gaps:
        notes.append(f"gaps: {labels[-1]} does not exist at {data.second_gaps:,} more points")
    if data.kinks:
        shown = ", ".join(format_number(k.x, table_digits(options.digits)) for k in data.kinks[:5])
        more = f" and {len(data.kinks) - 5:,} more" if len(data.kinks) > 5 else ""
        mark = "#" if ascii else "◆"
        notes.append(f"kinks ({mark}, where the slope jumps): {data.x} = {shown}{more}")
    if data.unplaced:
        notes.append(f"{data.unplaced:,} rows have no usable {data.x} and are not shown")
    return notes


def range_note(curves: Sequence[Curve], low: float, high: float, options: PlotOptions) -> str | None:
    """How many points of ``curves`` the axis from ``low`` to ``high`` leaves out, if any: said under that axis."""
    left_out = outside(curves, low, high)
    if not left_out:
        return None
    chosen = "" if options.ylim else " (see --ylim)"
    digits = table_digits(options.digits)
    return f"{left_out:,} points lie outside {format_number(low, digits)} to {format_number(high, digits)}{chosen}"
