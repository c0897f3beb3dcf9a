"""``autodiff plot --save``: the same plot as an SVG or PNG file, drawn by matplotlib (the ``plot`` extra).

matplotlib is optional and heavy (half a second to import): it is imported
here only, when an image is asked for. The figure is built with
``matplotlib.figure.Figure``, not pyplot, so no global state or GUI backend
is involved. Gaps and pole jumps are NaN breaks in the lines, exactly the
segments the terminal picture leaves out; kinks are marked. One panel per
curve, sharing the x axis, each with its own y range and label (as in the
terminal); the notes of the terminal picture go under them.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
from collections.abc import Sequence
from typing import Any

from ..errors import INPUT, AutodiffError
from ..plot import PlotData
from ..shapes import BIGGEST, joins, y_range
from .plot import PlotOptions, curve_label, plot_notes, range_note

__all__ = ["FORMATS", "image_size", "save_image"]

FORMATS = (".svg", ".png")
INSTALL = "pip install 'autodiff-cli[plot]'"
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")
DPI = 100


def image_size(path: str, text: str) -> tuple[int, int]:
    """Check that ``path`` names an image we can write and matplotlib is there; ``'800x600'`` -> (800, 600)."""
    if pathlib.Path(path).suffix.lower() not in FORMATS:
        raise AutodiffError(INPUT, f"--save writes .svg or .png files, not {path!r}")
    if importlib.util.find_spec("matplotlib") is None:
        raise AutodiffError(INPUT, f"--save needs matplotlib, which is not installed: {INSTALL}")
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and 16 <= int(width) <= 10_000 and 16 <= int(height) <= 10_000):
        raise AutodiffError(INPUT, f"bad --size {text!r}: write WIDTHxHEIGHT in pixels, each 16 to 10000, e.g. 960x600")
    return int(width), int(height)


def save_image(data: PlotData, path: str, size: tuple[int, int], ylim: tuple[float, float] | None = None) -> None:
    """Write the plot to ``path`` (.svg or .png), ``size`` pixels; each curve is an SVG group ``curve-K``."""
    from matplotlib import rc_context  # type: ignore[import-not-found, unused-ignore]
    from matplotlib.figure import Figure  # type: ignore[import-not-found, unused-ignore]

    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "autodiff"}):
        figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
        panels = figure.subplots(len(data.curves), 1, sharex=True, squeeze=False)[:, 0]
        xscale = _scale(data.xs[0], data.xs[-1])
        options = PlotOptions(ylim=ylim)
        for k, axes in enumerate(panels):
            _panel(axes, data, k, xscale, options)
        panels[0].set_title(" ".join(data.source.split()))
        panels[-1].set_xlabel(data.x + _times(xscale))
        notes = plot_notes(data, [curve_label(c, data.source, data.x, False) for c in data.curves], False, options)
        if notes:
            figure.text(0.01, 0.01, "\n".join(notes), fontsize=8, color="0.35", va="bottom")
            figure.subplots_adjust(bottom=0.1 + 0.04 * len(notes))
        figure.savefig(path, format=pathlib.Path(path).suffix.lower()[1:], dpi=DPI)


def _panel(axes: Any, data: PlotData, k: int, xscale: float, options: PlotOptions) -> None:
    """Curve ``k`` on its own axes: its y range, its label, what that range leaves out; kinks on the value's."""
    curve = data.curves[k]
    low, high = y_range([curve], options.ylim)
    yscale = _scale(low, high)
    cuts = frozenset(i for kink in data.kinks for i in kink.cuts) if curve.order else frozenset()
    joined = joins(curve.ys, high - low, cuts)
    label = curve_label(curve, data.source, data.x, ascii=False)
    xs, ys = _broken(data.xs, joined, xscale), _broken(curve.ys, joined, yscale)
    (line,) = axes.plot(xs, ys, color=COLORS[k % len(COLORS)], label=label, linewidth=1.6 if k == 0 else 1.2)
    line.set_gid(f"curve-{k}")
    if data.kinks and curve.order == 0:
        kx, ky = [kink.x / xscale for kink in data.kinks], [kink.y / yscale for kink in data.kinks]
        marks = axes.plot(kx, ky, "D", color="tab:red", label="kink")
        marks[0].set_gid("kinks")
    if not options.ylim:  # a margin of 5%, within float64
        margin = high / 20.0 - low / 20.0
        low, high = max(-BIGGEST, low - margin), min(BIGGEST, high + margin)
    note = range_note([curve], low, high, options)  # of the axis as drawn, margin and all
    if note:
        axes.text(0.99, 0.97, note, transform=axes.transAxes, ha="right", va="top", fontsize=7, color="0.35")
    axes.set_ylim(low / yscale, high / yscale)
    axes.axhline(0.0, color="0.8", linewidth=0.8, zorder=0)
    axes.set_ylabel(label + _times(yscale))
    axes.grid(True, color="0.92")


def _scale(low: float, high: float) -> float:
    """A power of ten to divide an axis's numbers by where matplotlib cannot take them as they are.

    Its transforms divide by an axis's width: past about 1e300 that
    overflows, and below about 1e-300 (subnormals) its inverse does.
    """
    largest = max(abs(low), abs(high))
    if largest > 1e100 or 0.0 < largest < 1e-100:
        return float(f"1e{max(-323, math.floor(math.log10(largest)))}")  # 1e-324 is 0
    return 1.0


def _times(scale: float) -> str:
    """What an axis's label says of its ``_scale``: nothing, or the power of ten its numbers are multiples of."""
    return "" if scale == 1.0 else f" (× {scale:.0e})".replace("e+", "e").replace("e-0", "e-").replace("e0", "e")


def _broken(values: Sequence[float | None], joined: list[bool], scale: float = 1.0) -> list[float]:
    """The values over ``scale``, with a NaN after every point not joined to the next, where matplotlib breaks the line."""
    out: list[float] = []
    for i, v in enumerate(values):
        out.append(math.nan if v is None else v / scale)
        if i < len(joined) and not joined[i]:
            out.append(math.nan)
    return out
