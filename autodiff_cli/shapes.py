"""The shapes of curves, as numbers: where a slope jumps (kinks), where a line would cross a pole, what range to show.

Shared by the terminal picture and the image of ``autodiff plot``; nothing
here knows about programs, characters or pixels.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BIGGEST", "JUMP", "Curve", "Kink", "find_kinks", "joins", "outside", "position", "y_range"]

BIGGEST = sys.float_info.max
FAR = 1e9
"""How far outside its range ``position`` places a number: far enough to clip, near enough to do sums with."""

JUMP = 4.0
"""A derivative jumps at a switch when it changes this many times more than at the neighbouring points."""


@dataclass(frozen=True)
class Curve:
    """One line of the plot: the value (order 0) or a derivative with respect to ``wrt``."""

    order: int
    wrt: str | None
    ys: list[float | None]  # None where the point failed


@dataclass(frozen=True)
class Kink:
    """Where the first derivative jumps: at ``x``, between points ``index`` and ``index + 1`` or on the latter.

    ``cuts`` are the segments a derivative's curve must not draw: the jump is not a slope.
    """

    x: float
    y: float
    index: int
    cuts: tuple[int, ...] = ()


def find_kinks(
    xs: list[float], values: list[float | None], slopes: list[float | None], signs: list[list[float | None]]
) -> list[Kink]:
    """Where a switch changes sign between two points and the derivative jumps there."""
    finite = [abs(d) for d in slopes if d is not None]
    floor = 1e-9 * max(finite, default=0.0)
    kinks: dict[int, Kink] = {}
    for column in signs:
        for i in range(len(xs) - 1):
            a, b = column[i], column[i + 1]
            if a is None or b is None or a == 0.0 or i in kinks or not (b == 0.0 or (a < 0.0) != (b < 0.0)):
                continue
            t = 1.0 if b == 0.0 else a / (a - b)
            right = i + 2 if b == 0.0 else i + 1  # a kink on a point: its own slope is a convention, skip it
            jump = _jump(slopes, i, right)
            if jump is None or jump <= floor:
                continue
            y0, y1 = values[i], values[i + 1]
            if y0 is None or y1 is None:
                continue
            kinks[i] = Kink(_between(xs[i], xs[i + 1], t), _between(y0, y1, t), i, tuple(range(i, right)))
    return sorted(kinks.values(), key=lambda k: k.x)


def _between(a: float, b: float, t: float) -> float:
    """The point a fraction ``t`` of the way from ``a`` to ``b``, even where b - a overflows."""
    return a * (1.0 - t) + b * t


def position(v: float, low: float, high: float) -> float:
    """Where ``v`` lies from ``low`` (0) to ``high`` (1), within FAR, at float64's edges too.

    ``high - low`` overflows for a range across most of float64, and a
    picture's size over a range of subnormals is infinite: so the fraction
    first, then the pixels, and halves where the difference overflows.
    """
    span = high - low
    if math.isinf(span):
        t = (v / 2.0 - low / 2.0) / (high / 2.0 - low / 2.0)
    else:
        t = (v - low) / span
    return max(-FAR, min(FAR, t))


def _jump(slopes: list[float | None], left: int, right: int) -> float | None:
    """How much the slope jumps from ``left`` to ``right``, if far more than next to them; else None."""
    if right >= len(slopes):
        return None
    a, b = slopes[left], slopes[right]
    if a is None or b is None:
        return None
    jump = abs(b - a)

    def step(i: int) -> float:
        if i < 0 or i + 1 >= len(slopes):
            return 0.0
        p, q = slopes[i], slopes[i + 1]
        return 0.0 if p is None or q is None else abs(q - p)

    return jump if jump > JUMP * max(step(left - 1), step(right)) else None


def joins(ys: Sequence[float | None], span: float, cuts: frozenset[int] = frozenset()) -> list[bool]:
    """Whether to draw the segment from point i to i + 1: not across a gap, a cut, or a pole.

    A pole (1/x at 0, tan at pi/2) shows as a jump between neighbours of
    opposite signs, each larger than the point before it on its side. A
    line drawn there would be a spike the function does not have. ``span``
    is the height of the picture: a jump smaller than half of it is drawn.
    """
    out = []
    n = len(ys)
    for i in range(n - 1):
        a, b = ys[i], ys[i + 1]
        if a is None or b is None or i in cuts:
            out.append(False)
            continue
        pole = abs(b / 2.0 - a / 2.0) > span / 4.0 and (a < 0.0) != (b < 0.0)  # halves: b - a may overflow
        if pole:
            before = ys[i - 1] if i > 0 else None
            after = ys[i + 2] if i + 2 < n else None
            growing = before is None or abs(a) > abs(before)
            shrinking = after is None or abs(b) > abs(after)
            pole = growing and shrinking and (before is not None or after is not None)
        out.append(not pole)
    return out


def y_range(curves: Sequence[Curve], ylim: tuple[float, float] | None = None) -> tuple[float, float]:
    """The range of the vertical axis: ``ylim``, else every number, unless a few points would flatten the rest.

    Near a pole the numbers of a handful of points are millions of times
    those of the others: the range then fits the middle 96% of the numbers
    (with a margin), and the points it leaves out are counted in a note.
    """
    if ylim is not None:
        return ylim
    values = sorted(y for curve in curves for y in curve.ys if y is not None and math.isfinite(y))
    if not values:
        return -1.0, 1.0
    low, high = values[0], values[-1]
    cut = len(values) // 50
    spread = values[-1 - cut] - values[cut]
    if spread > 0.0 and high - low > 10.0 * spread:
        low, high = max(low, values[cut] - spread / 2), min(high, values[-1 - cut] + spread / 2)
    if low == high:
        pad = max(abs(low) * 0.1, math.ulp(low)) if low else 1.0
        low, high = max(-BIGGEST, low - pad), min(BIGGEST, high + pad)
    return low, high


def outside(curves: Sequence[Curve], low: float, high: float) -> int:
    """How many points of the curves a range leaves out."""
    return sum(1 for curve in curves for y in curve.ys if y is not None and not low <= y <= high)
