"""``NAME=START:STOP:STEP`` ranges, stepped exactly in decimal, and the split of arguments into them.

A range is read from its decimal text as exact rationals, and each point is
``START + i*STEP`` computed exactly, then rounded once to a float: so
``x=0:1:0.1`` gives 0.3, not ``0.1 + 0.1 + 0.1`` = 0.30000000000000004, and
its last point is 1 exactly. ``split_arguments`` is the one place that tells
a range from a ``NAME=VALUE`` binding: the command line calls it once and
passes the axes down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .bindings import CheckedBindings, check_name, parse_bindings, parse_number
from .errors import INPUT, AutodiffError

if TYPE_CHECKING:
    from fractions import Fraction

__all__ = ["MAX_SWEEP_ROWS", "Axis", "is_range", "parse_axis", "split_arguments"]

MAX_SWEEP_ROWS = 10_000_000
"""A sweep of ranges past this many rows is a typo (a step of 1e-9), not a plan."""

# A range computed by a program (plot's, from a number of points) reaches its
# stop only to within rounding: this much of a step still counts as reaching it.
# (fractions is imported where it is used: it costs a one-shot eval start-up time.)
_SLACK = (1, 10**9)


class Axis:
    """One ``NAME=START:STOP:STEP`` range: ``count`` values from START, STOP included.

    The points are ``(first + i*step_units) / denominator``: exact integers,
    one correctly rounded division (Python's int / int) per point. Made by
    ``parse_axis``; a plain class, not a dataclass, for start-up time.
    """

    __slots__ = ("count", "denominator", "first", "last_is_stop", "name", "start", "step", "step_units", "stop")

    def __init__(
        self,
        name: str,
        start: float,
        stop: float,
        step: float,
        count: int,
        first: int,  # START * denominator
        step_units: int,  # STEP * denominator
        denominator: int,
    ) -> None:
        self.name, self.start, self.stop, self.step, self.count = name, start, stop, step, count
        self.first, self.step_units, self.denominator = first, step_units, denominator
        self.last_is_stop = self._reaches_stop()

    def __repr__(self) -> str:
        return f"Axis({self.name}={self.start!r}:{self.stop!r}:{self.step!r}, count={self.count})"

    def value(self, i: int) -> float:
        """The i-th point (from 0), rounded once from its exact decimal value."""
        if i == self.count - 1 and self.last_is_stop:
            return self.stop
        return (self.first + i * self.step_units) / self.denominator

    def _reaches_stop(self) -> bool:
        """Whether the last point is STOP (to within rounding of a computed step), shown as STOP itself."""
        from fractions import Fraction

        last = Fraction(self.first + (self.count - 1) * self.step_units, self.denominator)
        return abs(last - Fraction(self.stop)) <= Fraction(*_SLACK) * abs(Fraction(self.step_units, self.denominator))


def is_range(arg: str) -> bool:
    """Whether an argument is a ``NAME=START:STOP[:STEP]`` range rather than a ``NAME=VALUE`` binding."""
    return ":" in arg.partition("=")[2]


def _exact(text: str, name: str) -> Fraction:
    """The exact rational a decimal text means, once it has passed the rule for numbers."""
    from fractions import Fraction

    parse_number(text, name)
    return Fraction(text.strip(" \t"))


def parse_axis(arg: str) -> Axis:
    """``'x=0:1:0.25'`` -> an Axis of 0, 0.25, 0.5, 0.75, 1; AutodiffError(kind='input') if malformed."""
    from fractions import Fraction

    name, _, spec = arg.partition("=")
    name = check_name(name, f"bad range {arg!r}")
    slack = Fraction(*_SLACK)
    parts = spec.split(":")
    if len(parts) != 3:
        raise AutodiffError(INPUT, f"bad range {arg!r}: write NAME=START:STOP:STEP, e.g. x=0:1:0.1")
    start, stop, step = (_exact(p, name) for p in parts)
    if step == 0:
        raise AutodiffError(INPUT, f"bad range {arg!r}: the step cannot be 0")
    span = (stop - start) / step
    if span < -slack:
        raise AutodiffError(
            INPUT, f"bad range {arg!r}: a step of {float(step):g} never reaches {float(stop):g} from {float(start):g}"
        )
    if span >= MAX_SWEEP_ROWS:
        raise AutodiffError(INPUT, f"bad range {arg!r}: too many values (a sweep has at most {MAX_SWEEP_ROWS:,} rows)")
    count = math.floor(span + slack * max(Fraction(1), span)) + 1
    denominator = math.lcm(start.denominator, step.denominator)
    first = start.numerator * (denominator // start.denominator)
    units = step.numerator * (denominator // step.denominator)
    return Axis(name, float(start), float(stop), float(step), count, first, units, denominator)


def split_arguments(args: Sequence[str]) -> tuple[CheckedBindings, list[Axis]]:
    """NAME=VALUE constants and NAME=START:STOP:STEP ranges, checked together, each argument looked at once."""
    axes: list[Axis] = []
    plain: list[str] = []
    for arg in args:
        if is_range(arg):
            axes.append(parse_axis(arg))
        else:
            plain.append(arg)
    constants = parse_bindings(plain)
    seen: set[str] = set(constants)
    for axis in axes:
        if axis.name in seen:
            raise AutodiffError(INPUT, f"{axis.name} is given more than once")
        seen.add(axis.name)
    if math.prod(axis.count for axis in axes) > MAX_SWEEP_ROWS:
        raise AutodiffError(INPUT, f"the ranges give more than {MAX_SWEEP_ROWS:,} rows together")
    return constants, axes
