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

Where finite differences cannot see, the check says so instead of judging:
* A step the floats cannot take (x = 1e308 with h = 1e-21 x, or one that
  rounds more than 1% off) is no step, and values past the float range are
  not values; with no step left an input is ``unavailable``.
* A mismatch must hold with first steps scaled two ways: to max(1, |x|), and
  to |x| for a tiny x (a pole at 0 under x = 6e-144) or to 1 for a huge x
  (tan aliasing near 3e16). An estimate settled only next to the program's
  typical size while autodiff claims a slope 1e6 times steeper is a singularity
  the steps straddle (1/(x - 1) at 1 + 2^-52). Both are ``unsettled``.
* An estimate settled only near 0 (not in itself) refutes autodiff only if
  autodiff's slope could be seen at all: not if it moves the value over the
  smallest first step further than the values around reach, and not if another
  reading of the differences (a confirmed estimate from other first steps, a
  raw quotient at the smallest steps) agrees with autodiff instead. Big steps
  alias a steep function: tan(cosh(a)^exp(b)) at a = -2.5, b = 2.6 has slope
  -6.5e13, and two of them agreed on -61 ± 11. Such inputs are ``unsettled``.
* Rounding noise never counts for less than one subnormal unit.
Finite differences never raise: only ``program.run`` at the point itself does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .bindings import CheckedBindings, check_bindings
from .errors import AutodiffError
from .program import Program, exclusive
from .ridders import (
    EPS,
    GOOD_ENOUGH,
    GOOD_ENOUGH_FOR_KINKS,
    INITIAL_STEPS,
    RESOLUTION_SAFETY,
    UNSETTLED,
    Estimate,
    Quotient,
    agree,
    best_extrapolation,
    finest,
    most_precise,
    quotients,
    settled,
    ulp,
)

__all__ = ["TOLERANCE", "CheckReport", "InputCheck", "check_gradients"]

TOLERANCE = 1e-6
"""Largest relative error between autodiff and finite differences that passes."""

KINK_TOLERANCE = 1e-4  # settled one-sided slopes further apart than this (relative) mean a kink
STEEP = 1e6  # autodiff's slope this many times the program's typical one, with differences near 0: a pole
SMALLEST_SCALE = 1e-305  # first steps (down to 1e-13 of it) stay 1e5 subnormal units or more
# What became of one input's check.
OK = "ok"
MISMATCH = "mismatch"
KINK = "kink"
UNSETTLED_STATUS = "unsettled"
UNAVAILABLE = "unavailable"


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
    # Scaled by EPS before the sum: terms near the float limit (cosh(710)) would overflow it.
    terms = [ulp(v.data) * abs(v.grad) for v in program.nodes]
    if any(math.isinf(t) for t in terms):
        return math.inf  # noise beyond the float range: no difference can resolve anything
    return math.fsum(t for t in terms if math.isfinite(t))  # NaN is 0 * inf, a node that does not matter


def _values_along(program: Program, point: dict[str, float], name: str) -> Callable[[float], float | None]:
    """The program's value as a function of one input, None where it cannot be evaluated."""
    moved = CheckedBindings(point)  # x is finite (below): the moved point needs no second check per call
    # One-sided differences reuse the central ones' values; the sign tells 0.0 from -0.0.
    seen: dict[tuple[float, float], float | None] = {}

    def f(x: float) -> float | None:
        key = (x, math.copysign(1.0, x))
        if key in seen:
            return seen[key]
        if not math.isfinite(x):
            return None
        moved[name] = x
        try:
            y: float | None = program.run(moved, gradients=False).value
        except AutodiffError:
            y = None
        seen[key] = y if y is not None and math.isfinite(y) else None
        return seen[key]

    return f


def _check_input(
    program: Program, point: dict[str, float], name: str, gradient: float, noise: float, size: float, tolerance: float
) -> InputCheck:
    """Judge one input; a mismatch must hold with steps scaled two ways before it fails the check.

    Steps scaled to max(1, |x|) straddle a pole at 0 when x is tiny (3/c at
    c = 6e-144) and alias a function that oscillates faster than the float
    grid near a huge x (tan(b) at b = 3e16): the tableau then settles on a
    confident wrong value. Steps scaled to |x| (tiny x) or to 1 (huge x) see
    what the first ones cannot; where they do not settle, nothing is known.
    """
    x = point[name]
    values = _values_along(program, point, name)
    quotient = quotients(values, x, noise)
    first_scale = max(1.0, abs(x))
    first = _judge(name, gradient, values, quotient, x, first_scale, size, tolerance)
    second_scale = max(abs(x), SMALLEST_SCALE) if 0.0 < abs(x) < 1.0 else 1.0  # at 0, nothing is closer
    if first.status in (OK, KINK):
        return first
    if second_scale != first_scale:
        second = _judge(name, gradient, values, quotient, x, second_scale, size, tolerance)
        second = replace(second, note="; ".join(filter(None, [second.note, f"steps scaled to {second_scale:.3g}"])))
        if first.status != MISMATCH:  # unsettled or unavailable: smaller steps may settle (sqrt at 1e-300)
            # ... but a mismatch needs both scales: steps scaled to 1 or to a tiny x alias alone.
            return second if second.status in (OK, KINK) else first
        if second.status != MISMATCH:
            resolved = second.resolution <= tolerance * max(abs(gradient), abs(second.finite_difference or 0.0))
            if second.status == KINK or (second.status == OK and resolved):
                return second
            note = (
                f"finite differences at steps scaled to {first_scale:.3g} disagree ({first.finite_difference!r}), "
                f"but steps scaled to {second_scale:.3g} do not resolve it: nothing to compare with"
            )
            return replace(first, rel_error=None, status=UNSETTLED_STATUS, note=note)
    return _unless_noise(first, values, x, first_scale, noise)


def _unless_noise(check: InputCheck, values: Callable[[float], float | None], x: float, scale: float, noise: float) -> InputCheck:
    """A mismatch stands unless the program's values here are no bigger than their rounding noise.

    One unit in the last place of an intermediate can move a periodic function
    through whole periods (tan(sinh(x)) at x = -710, where sinh's is 2.5e292):
    the values are then rounding noise, and a slope drawn through them means nothing.
    """
    if check.status != MISMATCH:
        return check
    step = INITIAL_STEPS[0] * scale
    around = (values(x), values(x - step), values(x + step))
    biggest = max((abs(y) for y in around if y is not None), default=0.0)
    if noise <= biggest:
        return check
    note = f"the values here (up to {biggest:.2g}) are within their rounding noise (±{noise:.2g}): nothing to compare with"
    return replace(check, rel_error=None, status=UNSETTLED_STATUS, note=note)


def _judge(
    name: str,
    gradient: float,
    values: Callable[[float], float | None],
    quotient: dict[str, Quotient],
    x: float,
    scale: float,
    size: float,
    tolerance: float,
) -> InputCheck:
    """Finite differences with first steps ``s * scale``, compared with autodiff's ``gradient``."""
    # A derivative this small is "near 0" for this program: the size of its numbers
    # over a unit step, or of its values one first step away (for a^2 at 0).
    nearby = [y for y in (values(x + d) for d in (-INITIAL_STEPS[0] * scale, INITIAL_STEPS[0] * scale)) if y is not None]
    typical = max([size / scale] + [abs(y) / (INITIAL_STEPS[0] * scale) for y in nearby])
    central = best_extrapolation(quotient["central"], scale, typical, 2, "central")
    # With central differences settled, one-sided ones only have to be good enough to see a kink.
    goal = GOOD_ENOUGH_FOR_KINKS if settled(central, typical) else GOOD_ENOUGH
    right = best_extrapolation(quotient["forward"], scale, typical, 1, "forward", goal)
    left = best_extrapolation(quotient["backward"], scale, typical, 1, "backward", goal)
    sides = {"left": left.value if left else None, "right": right.value if right else None}
    if settled(left, typical) and settled(right, typical) and _disagree(left, right):  # type: ignore[arg-type]
        return _kink(name, gradient, central, left, right)  # type: ignore[arg-type]
    best = most_precise(typical, central, right, left)
    if best is None:
        note = "no step around this point keeps the program evaluable"
        return InputCheck(name, gradient, None, None, UNAVAILABLE, "none", math.inf, note=note, **sides)
    resolution = RESOLUTION_SAFETY * best.error
    if not settled(best, typical):
        note = f"finite differences do not settle here (±{resolution:.2g}): nothing to compare with"
        return InputCheck(name, gradient, best.value, None, UNSETTLED_STATUS, best.method, resolution, note=note, **sides)
    difference = abs(gradient - best.value)
    rel_error = _relative_error(difference, max(abs(gradient), abs(best.value)), resolution, tolerance)
    status = OK if rel_error <= tolerance else MISMATCH
    if status == MISMATCH and RESOLUTION_SAFETY * best.relative_error() > UNSETTLED:
        reach = max(abs(y) for y in [*nearby, values(x) or 0.0])
        doubt = _doubt(gradient, best, typical, reach, tolerance, [central, right, left], quotient, scale)
        if doubt:
            note = f"{doubt}: nothing to compare with"
            return InputCheck(name, gradient, best.value, None, UNSETTLED_STATUS, best.method, resolution, note=note, **sides)
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


def _doubt(
    gradient: float,
    best: Estimate,
    typical: float,
    reach: float,
    tolerance: float,
    bests: list[Estimate | None],
    quotient: dict[str, Quotient],
    scale: float,
) -> str:
    """Why a mismatch from an estimate settled only near 0 (not in itself) proves nothing, or "".

    Such an estimate says "about 0 on this program's scale"; it came from steps
    that may alias a function too steep for them, where any two first steps can
    agree by chance (-61 ± 11 for tan(cosh(a)^exp(b)), whose slope is -6.5e13).
    """
    resolution = RESOLUTION_SAFETY * best.error
    if abs(gradient) > STEEP * typical:
        # The steps straddle a singularity closer than the floats allow a step (1/(x - 1) at 1 + 2^-52).
        return f"steps straddle a singularity? finite differences settle only near 0 (±{resolution:.2g})"
    # Autodiff's slope moves the value further over the smallest first step than the values here reach:
    # were autodiff right, no step taken would be linear (tan(exp(x)) at x = 29).
    sweep = abs(gradient) * INITIAL_STEPS[-1] * scale
    if sweep > reach:
        return (
            f"too steep for finite differences: autodiff's slope moves the value by {sweep:.2g} over the "
            f"smallest step, more than the values here reach ({reach:.2g})"
        )
    rival = _rival(gradient, best, tolerance, bests, quotient, scale)
    if rival is not None:
        return (
            f"finite differences settle twice: near 0 ({best.value:.6g} ±{resolution:.2g}) and on {rival.value:.6g} "
            f"(±{RESOLUTION_SAFETY * rival.error:.2g}), which agrees with autodiff"
        )
    return ""


def _rival(
    gradient: float, best: Estimate, tolerance: float, bests: list[Estimate | None], quotient: dict[str, Quotient], scale: float
) -> Estimate | None:
    """A reading of the differences that disagrees with ``best`` but agrees with autodiff, if any.

    Steps far larger than the scale on which a steep function is smooth alias
    (tan(cosh(a)^exp(b)) at a = -2.5, b = 2.6, slope -6.5e13): two of them can
    agree by chance on a value near 0 that ranks as settled, while smaller
    steps see autodiff's slope: confirmed estimates from other first steps, or
    the raw quotients at the smallest steps, within their rounding noise. A
    wrong derivative does not hide this way: every reading near the truth agrees with ``best``.
    """
    found = [e for e in bests if e is not None]
    candidates = [e for e in found if e.confirmed] + [r for e in found for r in e.rivals]
    candidates += [e for method, q in quotient.items() for e in finest(q, scale, method)]
    for c in candidates:
        if not agree(c, best) and abs(gradient - c.value) <= max(RESOLUTION_SAFETY * c.error, tolerance * abs(gradient)):
            return c
    return None


def _relative_error(difference: float, size: float, resolution: float, tolerance: float) -> float:
    """``difference / max(size, resolution / tolerance)``, without overflowing near the float limit."""
    if difference == 0.0:
        return 0.0
    by_size = difference / size if size > 0.0 else math.inf
    by_resolution = difference / resolution * tolerance if resolution > 0.0 else math.inf
    return min(by_size, by_resolution)


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
