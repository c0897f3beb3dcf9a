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

from .bindings import NUMBER, CheckedBindings, check_name, parse_bindings, parse_number, spelled
from .errors import INPUT, AutodiffError

if TYPE_CHECKING:
    from fractions import Fraction

__all__ = ["MAX_RANGE_DIGITS", "MAX_SWEEP_ROWS", "Axis", "is_range", "parse_axis", "split_arguments"]

MAX_SWEEP_ROWS = 10_000_000
"""A sweep of ranges past this many rows is a typo (a step of 1e-9), not a plan."""

MAX_RANGE_DIGITS = 1000
"""Significant digits a range's number may have: each is read exactly, in work bounded by this."""

# (fractions is imported where it is used: it costs a one-shot eval start-up time.)
# A nonzero number this close to 0 (below 1e-400) is far below float64's
# smallest subnormal (4.9e-324): refused rather than carried as a 10^400 denominator.
_TINIEST_EXPONENT = -400


class Axis:
    """One ``NAME=START:STOP:STEP`` range: ``count`` values from START, never past STOP.

    The points are ``(first + i*step_units) / denominator``: exact integers,
    one correctly rounded division (Python's int / int) per point. The first
    point is START as typed (so -0.0 keeps its sign), and a last point equal
    to STOP is STOP as typed. Made by ``parse_axis``; a plain class, not a
    dataclass, for start-up time.
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
        last_is_stop: bool,  # the last point is STOP (exactly, or within plot's slack)
    ) -> None:
        self.name, self.start, self.stop, self.step, self.count = name, start, stop, step, count
        self.first, self.step_units, self.denominator = first, step_units, denominator
        self.last_is_stop = last_is_stop

    def __repr__(self) -> str:
        return f"Axis({self.name}={self.start!r}:{self.stop!r}:{self.step!r}, count={self.count})"

    def value(self, i: int) -> float:
        """The i-th point (from 0), rounded once from its exact decimal value."""
        if i == 0:
            return self.start
        if i == self.count - 1 and self.last_is_stop:
            return self.stop
        return (self.first + i * self.step_units) / self.denominator


def is_range(arg: str) -> bool:
    """Whether an argument is a ``NAME=START:STOP[:STEP]`` range rather than a ``NAME=VALUE`` binding."""
    return ":" in arg.partition("=")[2]


def exact_number(text: str, name: str, arg: str) -> tuple[float, Fraction]:
    """The float and the exact rational a decimal text means, read in bounded work.

    ``Fraction(text)`` would build 10**N for an exponent of N digits (minutes
    for 1e-999999999, even for 0e-30000000): here a zero is 0 whatever its
    exponent, and a nonzero number has at most MAX_RANGE_DIGITS significant
    digits and a magnitude of at least 1e-400 (past 1e308 float() already refused it).
    """
    from fractions import Fraction

    x = parse_number(text, name)
    match = NUMBER.fullmatch(text.strip(" \t"))
    assert match is not None  # parse_number passed it
    sign, whole, fraction, bare_fraction, exponent = match.groups()
    fraction = fraction or bare_fraction or ""
    digits = ((whole or "") + fraction).lstrip("0")
    significant = digits.rstrip("0")
    if not significant:
        return x, Fraction(0)
    if len(significant) > MAX_RANGE_DIGITS:
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: a number has more than {MAX_RANGE_DIGITS:,} significant digits")
    power = (exponent or "0").lstrip("+-").lstrip("0")  # int() of 4,300 digits or more raises
    # An exponent of more than 9 digits puts a nonzero number out of float64's range.
    shift = 10**9 if len(power) > 9 else int(power or "0")
    shift = -shift if (exponent or "").startswith("-") else shift
    shift += len(digits) - len(significant) - len(fraction)  # value = significant * 10**shift
    if len(significant) + shift > 400:  # a number of 1e400 is not finite: parse_number says so first
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: {spelled(text)} is not a finite float64")
    if len(significant) + shift <= _TINIEST_EXPONENT:
        raise AutodiffError(
            INPUT, f"bad range {spelled(arg)}: {spelled(text)} is too close to 0 for float64 (below 1e-400): write 0"
        )
    value = Fraction(int(significant) * 10 ** max(shift, 0), 10 ** max(-shift, 0))
    return x, -value if sign == "-" else value


def parse_axis(arg: str) -> Axis:
    """``'x=0:1:0.25'`` -> an Axis of 0, 0.25, 0.5, 0.75, 1; AutodiffError(kind='input') if malformed.

    The points are START + k*STEP exactly, the last one never past STOP (a
    step computed by a program, as plot's, is a decimal too: no slack anywhere).
    """

    name, _, spec = arg.partition("=")
    name = check_name(name, f"bad range {spelled(arg)}")
    parts = spec.split(":")
    if len(parts) != 3:
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: write NAME=START:STOP:STEP, e.g. x=0:1:0.1")
    (start_x, start), (stop_x, stop), (step_x, step) = (exact_number(p, name, arg) for p in parts)
    if step == 0:
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: the step cannot be 0")
    if step_x == 0.0:  # subnormal steps are fine (plot's, over a subnormal range); one that rounds to 0 is not
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: the step is below float64's smallest number (5e-324)")
    span = (stop - start) / step
    if span < 0:
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: a step of {step_x:g} never reaches {stop_x:g} from {start_x:g}")
    if span >= MAX_SWEEP_ROWS:
        raise AutodiffError(INPUT, f"bad range {spelled(arg)}: too many values (a sweep has at most {MAX_SWEEP_ROWS:,} rows)")
    count = math.floor(span) + 1
    denominator = math.lcm(start.denominator, step.denominator)
    first = start.numerator * (denominator // start.denominator)
    units = step.numerator * (denominator // step.denominator)
    last = start + (count - 1) * step
    last_is_stop = last == stop
    return Axis(name, start_x, stop_x, step_x, count, first, units, denominator, last_is_stop)


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
