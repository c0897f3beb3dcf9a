"""A second opinion on every gradient: finite differences, computed from values alone.

``eval --check`` reruns the program with one input nudged at a time and
estimates each derivative from the change in value, without the ops table's
derivatives; it then compares that estimate with autodiff's gradient.

How an estimate is made (Ridders' method): difference quotients at a
shrinking step, extrapolated to step 0 in a Neville tableau, which also
estimates its own error. The first step is scaled to the input,
``s * max(1, |x|)`` for s = 0.1, 0.01, ... 1e-13 in turn: a big step keeps
rounding noise small, a small one sees past a nearby pole or kink. An
estimate counts only once another first step confirms it.

* Central differences ``(f(x+h) - f(x-h)) / 2h`` are the estimate. Where
  ``x - h`` or ``x + h`` leaves the program's domain (``sqrt``, ``log`` near 0,
  ``acosh`` near 1 ...), the step shrinks; where no step fits on one side, a
  one-sided difference on the other side is used instead.
* Forward and backward one-sided differences are computed as well. Where they
  disagree the input sits on a kink (``relu`` or ``abs`` at 0, a tie in
  ``min``/``max``): the derivative there is a convention, not a limit, so it
  is reported with both one-sided slopes and never fails the check.
* Rounding noise is estimated from the graph (see ``_rounding_noise``), so a
  program that cancels large numbers gets a wider margin, not a false alarm.

The tolerance: an input passes when ``|autodiff - fd| <= TOLERANCE *
max(|autodiff|, |fd|)``, or when the difference is within what the
differences can resolve (``RESOLUTION_SAFETY`` times their error estimate).
Its relative error is measured against the larger of the two gradients, or
against ``resolution / TOLERANCE`` when that is larger, so that ``ok`` is
exactly ``max_rel_error <= TOLERANCE``. An input whose estimate never settles
(a pole closer than the smallest step) is reported as ``unsettled`` and not
compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .bindings import check_bindings
from .errors import AutodiffError
from .program import Program, exclusive

__all__ = ["TOLERANCE", "CheckReport", "InputCheck", "check_gradients"]

TOLERANCE = 1e-6
"""Largest relative error between autodiff and finite differences that passes."""

INITIAL_STEPS = tuple(10.0**-k for k in range(1, 14))  # times max(1, |x|), largest first
GOOD_ENOUGH = 1e-8  # a confirmed estimate this precise (relative) ends the search
GOOD_ENOUGH_FOR_KINKS = 1e-6  # one-sided slopes only looking for a kink need less
SHRINK = 1.4  # step ratio between columns of the tableau (Ridders' choice)
COLUMNS = 12  # at most this many steps per estimate
DOMAIN_RETRIES = 8  # how often a first step may shrink tenfold to stay in the domain
RESOLUTION_SAFETY = 10.0  # error estimates are estimates: trust them this much less
KINK_TOLERANCE = 1e-4  # settled one-sided slopes further apart than this (relative) mean a kink
UNSETTLED = 1e-4  # an estimate less sure than this (relative) cannot judge a gradient
EPS = 2.0**-52

# What became of one input's check.
OK = "ok"
MISMATCH = "mismatch"
KINK = "kink"
UNSETTLED_STATUS = "unsettled"
UNAVAILABLE = "unavailable"

Quotient = Callable[[float], tuple[float, float] | None]


@dataclass(frozen=True)
class Estimate:
    """A derivative extrapolated from difference quotients, with its error estimate."""

    value: float
    error: float
    method: str  # central, forward or backward
    confirmed: bool = False  # another first step led to the same value

    def relative_error(self, typical: float = 0.0) -> float:
        """The error estimate relative to the estimate, or to ``typical`` for a derivative near 0."""
        size = max(abs(self.value), typical)
        if size > 0.0:
            return self.error / size
        return 0.0 if self.error == 0.0 else math.inf

    def rank(self, typical: float) -> tuple[int, float]:
        """Sort key, best first: confirmed and precise in itself, then confirmed, then the rest.

        Precision relative to ``typical`` alone would let a wild estimate near a
        pole (-119 ± 79 where the truth is 4e22) pass for a flat slope.
        """
        if self.confirmed and RESOLUTION_SAFETY * self.relative_error() <= UNSETTLED:
            return 0, self.relative_error()
        return (1 if self.confirmed else 2), self.relative_error(typical)


@dataclass(frozen=True)
class InputCheck:
    """Autodiff's derivative with respect to one input, next to the finite differences'."""

    name: str
    autodiff: float
    finite_difference: float | None
    rel_error: float | None  # None where nothing was compared (kink, unsettled, unavailable)
    status: str  # ok, mismatch, kink, unsettled or unavailable
    method: str  # central, forward, backward, or none
    resolution: float  # the smallest difference the estimate can tell apart from 0
    left: float | None = None  # backward (one-sided) slope
    right: float | None = None  # forward (one-sided) slope
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == MISMATCH


@dataclass(frozen=True)
class CheckReport:
    """Every input's check; ``ok`` unless some input is a mismatch beyond the tolerance."""

    inputs: tuple[InputCheck, ...]
    tolerance: float = TOLERANCE

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.inputs)

    @property
    def max_rel_error(self) -> float:
        """The largest relative error among the inputs compared (kinks are not compared)."""
        return max((c.rel_error for c in self.inputs if c.rel_error is not None), default=0.0)

    @property
    def finite_differences(self) -> dict[str, float | None]:
        return {c.name: c.finite_difference for c in self.inputs}


@exclusive
def check_gradients(program: Program, bindings: Mapping[str, float], tolerance: float = TOLERANCE) -> CheckReport:
    """Compare the program's gradients at ``bindings`` with finite differences.

    Raises AutodiffError where ``program.run`` does. Runs the program at many
    nearby points, then once more at ``bindings``, where it leaves the graph.
    """
    point = check_bindings(bindings)
    result = program.run(point)
    noise = _rounding_noise(program)
    # The size of the numbers the program works with, for judging derivatives near 0.
    size = min(max((abs(v.data) for v in program.order if math.isfinite(v.data)), default=0.0), noise / EPS)
    size = max(size, abs(result.value))
    checks = tuple(_check_input(program, point, name, g, noise, size, tolerance) for name, g in result.gradients.items())
    program.run(point)
    return CheckReport(checks, tolerance)


def _rounding_noise(program: Program) -> float:
    """How far rounding may move the program's value: first-order error analysis on the graph.

    Every operation's rounding error (about one unit in the last place of its
    value) reaches the result multiplied by the result's derivative in that
    node, which the backward pass just computed. This sees cancellation that
    the result alone hides (``x^2 + 1e10 - 1e10`` carries the noise of 1e10).
    A wrong derivative cannot hide itself this way: it inflates the noise only
    about as much as the gradient it spoils, some 1e-14 of it.
    """
    terms = (abs(v.data * v.grad) for v in program.nodes)
    return EPS * math.fsum(t for t in terms if math.isfinite(t))


def _values_along(program: Program, point: dict[str, float], name: str) -> Callable[[float], float | None]:
    """The program's value as a function of one input, None where it cannot be evaluated."""
    moved = dict(point)
    # One-sided differences reuse the central ones' values; the sign tells 0.0 from -0.0.
    seen: dict[tuple[float, float], float | None] = {}

    def f(x: float) -> float | None:
        key = (x, math.copysign(1.0, x))
        if key in seen:
            return seen[key]
        moved[name] = x
        try:
            y: float | None = program.run(moved, gradients=False).value
        except AutodiffError:
            y = None
        seen[key] = y if y is not None and math.isfinite(y) else None
        return seen[key]

    return f


def _quotients(f: Callable[[float], float | None], x: float, noise: float) -> dict[str, Quotient]:
    """Difference quotients at step h, each with the rounding noise it carries.

    The steps are the ones the floats actually took (``(x + h) - x``, not h).
    """
    fx = f(x)

    def quotient(low: float, high: float, f_low: float | None, f_high: float | None) -> tuple[float, float] | None:
        if f_low is None or f_high is None:
            return None
        q = (f_high - f_low) / (high - low)
        spread = (2.0 * noise + EPS * (abs(f_high) + abs(f_low))) / (high - low)
        return (q, spread) if math.isfinite(q) and math.isfinite(spread) else None

    return {
        "central": lambda h: quotient(x - h, x + h, f(x - h), f(x + h)),
        "forward": lambda h: quotient(x, x + h, fx, f(x + h)),
        "backward": lambda h: quotient(x - h, x, f(x - h), fx),
    }


def _extrapolate(quotient: Quotient, step: float, power: int, method: str) -> Estimate | None:
    """Ridders' method: Richardson extrapolation of ``quotient(h)`` to h = 0.

    ``power`` is 2 for central differences (their error has even powers of h)
    and 1 for one-sided ones. An entry's error is the tableau's own estimate
    plus the rounding noise of its smallest step, so that quantized values
    that happen to agree do not pass for precision. The first step shrinks
    tenfold until it stays inside the domain; None if it never does.
    """
    first = None
    for _ in range(DOMAIN_RETRIES + 1):
        first = quotient(step)
        if first is not None:
            break
        step /= 10.0
    if first is None:
        return None
    ratio = SHRINK**power
    previous = [first[0]]
    best, error = first[0], math.inf
    for i in range(1, COLUMNS):
        step /= SHRINK
        found = quotient(step)
        if found is None:
            break
        q, noise = found
        row = [q]
        factor = ratio
        for j in range(1, i + 1):
            row.append((row[j - 1] * factor - previous[j - 1]) / (factor - 1.0))
            factor *= ratio
            here = max(abs(row[j] - row[j - 1]), abs(row[j] - previous[j - 1])) + noise
            if here <= error:
                best, error = row[j], here
        # Higher orders got worse than the best so far: rounding has taken over.
        if abs(row[i] - previous[i - 1]) >= 2.0 * error:
            break
        previous = row
    return Estimate(best, error, method)


def _agree(a: Estimate, b: Estimate) -> bool:
    return abs(a.value - b.value) <= RESOLUTION_SAFETY * (a.error + b.error)


def _best_extrapolation(
    quotient: Quotient, scale: float, typical: float, power: int, method: str, good_enough: float = GOOD_ENOUGH
) -> Estimate | None:
    """Extrapolate from each first step in turn; keep the most precise estimate another one confirms.

    Near a pole, extrapolations from big steps are confidently wrong; they do
    not agree with each other, which is how they are caught.
    """
    found: list[Estimate] = []
    for start in INITIAL_STEPS:
        estimate = _extrapolate(quotient, start * scale, power, method)
        if estimate is None:
            continue
        found.append(estimate)
        best = _confirmed_best(found, typical)
        if best.confirmed and best.relative_error() <= good_enough:
            return best
    return _confirmed_best(found, typical) if found else None


def _confirmed_best(found: list[Estimate], typical: float) -> Estimate:
    marked = [replace(e, confirmed=any(_agree(e, o) for o in found if o is not e)) for e in found]
    return min(marked, key=lambda e: e.rank(typical))


def _most_precise(typical: float, *estimates: Estimate | None) -> Estimate | None:
    found = [e for e in estimates if e is not None]
    return min(found, key=lambda e: e.rank(typical)) if found else None


def _settled(e: Estimate | None, typical: float) -> bool:
    return e is not None and e.confirmed and RESOLUTION_SAFETY * e.relative_error(typical) <= UNSETTLED


def _check_input(
    program: Program, point: dict[str, float], name: str, gradient: float, noise: float, size: float, tolerance: float
) -> InputCheck:
    x = point[name]
    values = _values_along(program, point, name)
    quotient = _quotients(values, x, noise)
    scale = max(1.0, abs(x))
    # A derivative this small is "near 0" for this program: the size of its numbers
    # over a unit step, or of its values one first step away (for a^2 at 0).
    nearby = (values(x + d) for d in (-INITIAL_STEPS[0] * scale, INITIAL_STEPS[0] * scale))
    typical = max([size / scale] + [abs(y) / (INITIAL_STEPS[0] * scale) for y in nearby if y is not None])
    central = _best_extrapolation(quotient["central"], scale, typical, 2, "central")
    # With central differences settled, one-sided ones only have to be good enough to see a kink.
    goal = GOOD_ENOUGH_FOR_KINKS if _settled(central, typical) else GOOD_ENOUGH
    right = _best_extrapolation(quotient["forward"], scale, typical, 1, "forward", goal)
    left = _best_extrapolation(quotient["backward"], scale, typical, 1, "backward", goal)
    sides = {"left": left.value if left else None, "right": right.value if right else None}
    if _settled(left, typical) and _settled(right, typical) and _disagree(left, right):  # type: ignore[arg-type]
        return _kink(name, gradient, central, left, right)  # type: ignore[arg-type]
    best = _most_precise(typical, central, right, left)
    if best is None:
        note = "no step around this point keeps the program evaluable"
        return InputCheck(name, gradient, None, None, UNAVAILABLE, "none", math.inf, note=note, **sides)
    resolution = RESOLUTION_SAFETY * best.error
    if not _settled(best, typical):
        note = f"finite differences do not settle here (±{resolution:.2g}): nothing to compare with"
        return InputCheck(name, gradient, best.value, None, UNSETTLED_STATUS, best.method, resolution, note=note, **sides)
    difference = abs(gradient - best.value)
    denominator = max(abs(gradient), abs(best.value), resolution / tolerance)
    rel_error = difference / denominator if denominator > 0.0 else 0.0
    status = OK if rel_error <= tolerance else MISMATCH
    notes = []
    if best.method != "central":
        if central is None:
            other = "x - h" if best.method == "forward" else "x + h"
            notes.append(f"one-sided ({best.method}) difference: {other} leaves the domain")
        else:
            notes.append(f"one-sided ({best.method}) difference: central differences do not settle")
    if resolution > tolerance * max(abs(gradient), abs(best.value)):
        notes.append(f"finite differences resolve this derivative only to ±{resolution:.2g}")
    note = "; ".join(notes)
    return InputCheck(name, gradient, best.value, rel_error, status, best.method, resolution, note=note, **sides)


def _disagree(left: Estimate, right: Estimate) -> bool:
    gap = abs(left.value - right.value)
    scale = max(abs(left.value), abs(right.value))
    return gap > max(KINK_TOLERANCE * scale, RESOLUTION_SAFETY * (left.error + right.error))


def _kink(name: str, gradient: float, central: Estimate | None, left: Estimate, right: Estimate) -> InputCheck:
    low, high = sorted((left.value, right.value))
    slack = RESOLUTION_SAFETY * (left.error + right.error) + TOLERANCE * max(abs(low), abs(high))
    where = "between them" if low - slack <= gradient <= high + slack else "outside them"
    note = (
        f"kink: one-sided slopes disagree (left {left.value:.6g}, right {right.value:.6g}); "
        f"the derivative here is a convention, and autodiff's {gradient:.6g} lies {where}"
    )
    fd = central.value if central is not None else None
    return InputCheck(name, gradient, fd, None, KINK, "central" if central else "none", math.inf, left.value, right.value, note)
