"""Ridders' finite differences: difference quotients extrapolated to step 0, each with its error.

The machinery behind ``eval --check`` (see check.py for how its estimates
judge a gradient). Quotients are taken at steps the floats can actually take;
an estimate counts only once an extrapolation from another first step
confirms it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

__all__ = [
    "EPS",
    "GOOD_ENOUGH",
    "GOOD_ENOUGH_FOR_KINKS",
    "INITIAL_STEPS",
    "RESOLUTION_SAFETY",
    "UNSETTLED",
    "Estimate",
    "Quotient",
    "agree",
    "best_extrapolation",
    "finest",
    "most_precise",
    "quotients",
    "settled",
    "ulp",
]

INITIAL_STEPS = tuple(10.0**-k for k in range(1, 14))  # times max(1, |x|), largest first
GOOD_ENOUGH = 1e-8  # a confirmed estimate this precise (relative) ends the search
GOOD_ENOUGH_FOR_KINKS = 1e-6  # one-sided slopes only looking for a kink need less
SHRINK = 1.4  # step ratio between columns of the tableau (Ridders' choice)
COLUMNS = 12  # at most this many steps per estimate
DOMAIN_RETRIES = 8  # how often a first step may shrink tenfold to stay in the domain
RESOLUTION_SAFETY = 10.0  # error estimates are estimates: trust them this much less
UNSETTLED = 1e-4  # an estimate less sure than this (relative) cannot judge a gradient
EPS = 2.0**-52
STEP_SLACK = 0.01  # a step the floats take this much (relative) off the one asked for is refused


Quotient = Callable[[float], tuple[float, float, float] | None]  # h -> (quotient, its noise, the h taken)


@dataclass(frozen=True)
class Estimate:
    """A derivative extrapolated from difference quotients, with its error estimate."""

    value: float
    error: float
    method: str  # central, forward or backward
    confirmed: bool = False  # another first step led to the same value
    # Other values that first steps confirmed, each disagreeing with this one: where the
    # differences settle twice (aliasing at big steps, the slope at small ones), neither can judge.
    rivals: tuple[Estimate, ...] = ()

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


def ulp(y: float) -> float:
    """How far rounding may move ``y``: EPS relative, but never less than the smallest subnormal."""
    return max(EPS * abs(y), math.ulp(0.0))


def quotients(f: Callable[[float], float | None], x: float, noise: float) -> dict[str, Quotient]:
    """Difference quotients at step h, each with the rounding noise it carries and the h taken.

    The steps are the ones the floats actually took (``(x + h) - x``, not h).
    A step the floats cannot take within STEP_SLACK is no step: near the
    float limit or next to a domain edge one ulp away (acos at 1 - 2^-53),
    every h rounds to the same step, identical quotients look converged, and
    the chord would pass for the derivative.
    """

    def quotient(low: float, high: float, nominal: float) -> tuple[float, float, float] | None:
        step = high - low
        if not (nominal > 0.0 and abs(step - nominal) <= STEP_SLACK * nominal) or math.isinf(step):
            return None
        f_low, f_high = f(low), f(high)
        if f_low is None or f_high is None:
            return None
        q = (f_high - f_low) / step
        if math.isinf(q):  # the difference overflowed, not necessarily the quotient
            q = (f_high / 2.0 - f_low / 2.0) / step * 2.0
        spread = (2.0 * noise + ulp(f_high) + ulp(f_low)) / step
        return (q, spread, step) if math.isfinite(q) and math.isfinite(spread) else None

    def halved(found: tuple[float, float, float] | None) -> tuple[float, float, float] | None:
        return None if found is None else (found[0], found[1], found[2] / 2.0)  # 2h was taken

    return {
        "central": lambda h: halved(quotient(x - h, x + h, 2.0 * h)),
        "forward": lambda h: quotient(x, x + h, h),
        "backward": lambda h: quotient(x - h, x, h),
    }


def extrapolate(quotient: Quotient, step: float, power: int, method: str) -> Estimate | None:
    """Ridders' method: Richardson extrapolation of ``quotient(h)`` to h = 0.

    ``power`` is 2 for central differences (their error has even powers of h)
    and 1 for one-sided ones. The tableau uses the steps the floats took, not
    the ones asked for: they differ by up to STEP_SLACK, and near a pole
    (tan at 1239.358 + 2.6e-9) taking the asked ones for them settled,
    confidently, 3e-5 off the slope. An entry's error is the tableau's own estimate
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
    previous = [first[0]]
    taken = [first[2]]  # the h of each column, oldest first (their squares could underflow)
    best, error = first[0], math.inf
    for i in range(1, COLUMNS):
        step /= SHRINK
        found = quotient(step)
        if found is None:
            break
        q, noise, h = found
        taken.append(h)
        row = [q]
        for j in range(1, i + 1):
            factor = (taken[i - j] / taken[i]) ** power  # SHRINK ** (power * j) for the steps asked for
            row.append((row[j - 1] * factor - previous[j - 1]) / (factor - 1.0))
            here = max(abs(row[j] - row[j - 1]), abs(row[j] - previous[j - 1])) + noise
            if here <= error and math.isfinite(row[j]):
                best, error = row[j], here
        # Higher orders got worse than the best so far: rounding has taken over.
        if abs(row[i] - previous[i - 1]) >= 2.0 * error:
            break
        previous = row
    return Estimate(best, error, method)


def finest(quotient: Quotient, scale: float, method: str) -> list[Estimate]:
    """The raw quotients at the smallest steps (the smallest first step's columns), each with its noise.

    No extrapolation: where the differences alias at every larger step, these
    are the only ones that may see a steep slope at all.
    """
    steps = (INITIAL_STEPS[-1] * scale / SHRINK**i for i in range(COLUMNS))
    return [Estimate(q, noise, method) for q, noise, _ in filter(None, map(quotient, steps))]


def agree(a: Estimate, b: Estimate) -> bool:
    return abs(a.value - b.value) <= RESOLUTION_SAFETY * (a.error + b.error)


def best_extrapolation(
    quotient: Quotient, scale: float, typical: float, power: int, method: str, good_enough: float = GOOD_ENOUGH
) -> Estimate | None:
    """Extrapolate from each first step in turn; keep the most precise estimate another one confirms.

    Near a pole, extrapolations from big steps are confidently wrong; they do
    not agree with each other, which is how they are caught.
    """
    found: list[Estimate] = []
    for start in INITIAL_STEPS:
        estimate = extrapolate(quotient, start * scale, power, method)
        if estimate is None:
            continue
        found.append(estimate)
        best = confirmed_best(found, typical)
        if best.confirmed and best.relative_error() <= good_enough:
            return best
    return confirmed_best(found, typical) if found else None


def confirmed_best(found: list[Estimate], typical: float) -> Estimate:
    """The best-ranked estimate, with the confirmed ones it disagrees with as its rivals."""
    marked = [replace(e, confirmed=any(agree(e, o) for o in found if o is not e)) for e in found]
    best = min(marked, key=lambda e: e.rank(typical))
    return replace(best, rivals=tuple(e for e in marked if e.confirmed and not agree(e, best)))


def most_precise(typical: float, *estimates: Estimate | None) -> Estimate | None:
    found = [e for e in estimates if e is not None]
    return min(found, key=lambda e: e.rank(typical)) if found else None


def settled(e: Estimate | None, typical: float) -> bool:
    return e is not None and e.confirmed and RESOLUTION_SAFETY * e.relative_error(typical) <= UNSETTLED
