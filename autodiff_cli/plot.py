"""The numbers of a plot: a program's value and derivatives along one input, with its gaps and kinks.

``autodiff plot`` draws what this computes; nothing here draws or prints.
The points come from the sweep machinery (``Sweep.source``: ranges, CSV or
JSON lines) and run through the same ``ColumnProgram`` block evaluation, so a
plot of 10,000 points costs what a sweep of them does. A block that
``ColumnProgram`` declines is halved until the halves run, and the last few
rows go one at a time through ``Program.run``, which decides every error: a
point that fails is a gap, counted by kind, never a made-up number.

The second derivative is the derivative of the gradient: the gradient with
respect to the swept input is built once as a graph (``gradients.gradient_graph``)
and made a program of its own, which runs over the same blocks.

A kink is where the first derivative jumps: relu and abs at 0, min and max
at a tie. Its switch (the argument, or the difference of the two) is read from
the block's node columns; a switch that changes sign between two points where
the derivative jumps marks a kink there.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .bindings import check_name, parse_number
from .columns import ColumnProgram
from .engine import Value, forward, topological_order
from .errors import INPUT, NAME, AutodiffError
from .gradients import gradient_graph
from .ops import CONSTANTS
from .parser import Graph
from .program import Program, exclusive
from .ranges import exact_number
from .shapes import Curve, Kink, find_kinks
from .sweep import Axis, Block, Sweep, split_arguments

__all__ = ["MAX_POINTS", "PlotData", "parse_limits", "plot_arguments", "plot_data", "require_points"]

MAX_POINTS = 100_000
"""A screen shows a few hundred columns; past this many points a plot is a typo."""

SMALL = 8
"""A block that fails is halved down to this many rows, which then run one at a time."""

# How each operation with a kink makes its switch from its arguments: the kink is where it changes sign.
SWITCHES: dict[str, Callable[..., float]] = {
    "relu": lambda x: x,
    "abs": lambda x: x,
    "min": lambda x, y: x - y,
    "max": lambda x, y: x - y,
}


@dataclass
class PlotData:
    """Everything a picture of the plot needs, with the points in increasing x."""

    source: str
    x: str
    xs: list[float]
    curves: list[Curve]
    kinks: list[Kink] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # kind -> points where the program failed
    messages: dict[str, str] = field(default_factory=dict)  # kind -> the first of those errors
    second_gaps: int = 0  # points with a value but no second derivative
    unplaced: int = 0  # rows (of --rows) with no usable x


# --- arguments -------------------------------------------------------------------------


def plot_arguments(args: Sequence[str], points: int) -> tuple[dict[str, float], list[Axis]]:
    """NAME=VALUE constants and the one NAME=START:STOP[:STEP] range; without STEP, ``points`` points."""
    rewritten = []
    for arg in args:
        name, _, spec = arg.partition("=")
        parts = spec.split(":")
        if len(parts) == 2:
            arg = _with_step(arg, name, parts[0], parts[1], points)
        rewritten.append(arg)
    constants, axes = split_arguments(rewritten)
    if len(axes) > 1:
        raise AutodiffError(INPUT, "a plot sweeps one input: give one NAME=START:STOP range and bind the others to values")
    if axes and axes[0].count > MAX_POINTS:
        raise AutodiffError(INPUT, f"a plot has at most {MAX_POINTS:,} points; this range has {axes[0].count:,}")
    return constants, axes


def _with_step(arg: str, name: str, start_text: str, stop_text: str, points: int) -> str:
    """``NAME=START:STOP`` as a range ``parse_axis`` reads, of at most ``points`` points, STOP included.

    Everything that can be wrong is checked here, so errors quote the range
    as typed. The step is (STOP - START) / n for the largest n below
    ``points`` that makes it a short decimal (at least 0.8 of them: 256 for
    280), so every point is its exact value rounded once, and STOP is the last.
    Between floats closer than a step (subnormals) there are fewer points: one
    per float at most.
    """
    from fractions import Fraction

    check_name(name, f"bad range {arg!r}")
    start, stop = (parse_number(p, name.strip()) for p in (start_text, stop_text))
    if start == stop:
        raise AutodiffError(INPUT, f"bad range {arg!r}: START and STOP are the same number")
    span = exact_number(stop_text, name, arg)[1] - exact_number(start_text, name, arg)[1]  # bounded work
    floats = math.floor(abs(span) / Fraction(math.ulp(max(abs(start), abs(stop)))))
    steps = max(1, min(points - 1, floats))
    while not _decimal(steps // math.gcd(steps, span.numerator)):
        steps -= 1
    step = span / steps
    exponent = _twos_and_fives(step.denominator)
    return f"{name}={start_text}:{stop_text}:{step * 10**exponent}e-{exponent}"


def _decimal(n: int) -> bool:
    """Whether 1/n has a finite decimal expansion: n has no prime factors but 2 and 5."""
    return _twos_and_fives(n) >= 0


def _twos_and_fives(n: int) -> int:
    """The k with n dividing 10**k, the least, if n is a product of 2s and 5s; else -1."""
    twos = (n & -n).bit_length() - 1
    n >>= twos
    fives = 0
    while n % 5 == 0:
        n //= 5
        fives += 1
    return max(twos, fives) if n == 1 else -1


def parse_limits(text: str, what: str = "--ylim") -> tuple[float, float]:
    """``'LOW:HIGH'`` -> (LOW, HIGH), LOW below HIGH."""
    parts = text.split(":")
    if len(parts) != 2:
        raise AutodiffError(INPUT, f"bad {what} {text!r}: write LOW:HIGH, e.g. -1:1")
    low, high = (parse_number(p, what) for p in parts)
    if not low < high:
        raise AutodiffError(INPUT, f"bad {what} {text!r}: LOW must be below HIGH")
    return low, high


def require_points(data: PlotData) -> None:
    """Raise unless at least one point has a value: a plot of nothing is a failure, with the reason."""
    if any(y is not None for y in data.curves[0].ys):
        return
    if data.failures:
        kind = data.failures.most_common(1)[0][0]
        raise AutodiffError(kind, f"nothing to plot: the program fails at every point, e.g. {data.messages[kind]}")
    raise AutodiffError(INPUT, f"nothing to plot: no row gives a usable {data.x}")


# --- the points ------------------------------------------------------------------------


@exclusive
def plot_data(
    program: Program,
    constants: dict[str, float],
    axes: Sequence[Axis],
    rows: BinaryIO | None = None,
    x: str | None = None,
    wrt: Sequence[str] = (),
    second: bool = False,
) -> PlotData:
    """The curves of ``program`` along ``x`` (the range's input, else ``x`` or the first input the rows give)."""
    names, blocks = Sweep(program, constants, axes, "csv").source(rows)
    x = _swept(program, names, constants, axes, x)
    wanted = [x, *(w for w in dict.fromkeys(wrt) if w != x)]
    for name in wanted:
        if name not in names:
            raise AutodiffError(INPUT, f"--wrt {name}: {name} is not an input of the program")
    points = _Points(program, names, constants, wanted, second)
    for block in blocks:
        points.add(block)
    return points.finish(x)


def _swept(program: Program, names: list[str], constants: dict[str, float], axes: Sequence[Axis], x: str | None) -> str:
    if axes:
        if x is not None and x != axes[0].name:
            raise AutodiffError(INPUT, f"--x {x} but the range sweeps {axes[0].name}")
        x = axes[0].name
    elif x is None:
        x = next((n for n in names if n not in constants), None)
        if x is None:
            raise AutodiffError(INPUT, "the rows give no input of the program to plot along")
    if x not in program.inputs:
        known = ", ".join(program.inputs) or "none"
        raise AutodiffError(NAME, f"{x} is not an input of the program (its inputs: {known})")
    if x not in names:
        raise AutodiffError(INPUT, f"the rows have no column {x}")
    return x


class _DerivativeGraph(Graph):
    """The gradient as a program: its nodes were never written, so no error points into the source."""

    def position(self, node: Value) -> tuple[int, int] | None:
        return None


def _second_program(program: Program, x: str) -> Program | None:
    """d(program)/dx as a program over the same inputs, or None if a part that reads no input fails."""
    graph = program.graph
    leaf = graph.inputs[x]
    # Parts that read no input fold into numbers: compute them (any bindings do).
    program.bind({n: 1.0 for n in graph.inputs if n not in CONSTANTS})
    forward(program.nodes, strict=False)
    others = [v for v in graph.inputs.values() if v is not leaf]
    try:
        grads = gradient_graph(program.order, program.result, [leaf], symbols=others, compute_data=False)
    except AutodiffError:
        return None  # then the program fails at every point too
    result = grads.get(leaf) or Value(0.0)
    nodes = topological_order(result)
    inputs = set(graph.inputs.values())
    derivative = _DerivativeGraph(
        source=graph.source,
        nodes=[v for v in nodes if v._prev],
        positions=array("l"),
        inputs=graph.inputs,
        input_positions=graph.input_positions,
        constants=[v for v in nodes if not v._prev and v not in inputs],
        names={},
        result=result,
    )
    return Program(derivative)


def _pieces(
    run: Callable[[list[list[float]], int], object], given: list[list[float]], n: int
) -> Iterator[tuple[list[list[float]], int, object]]:
    """The block in pieces that ``run`` takes, with its answer; pieces of SMALL rows it refuses come with None."""
    out = run(given, n)
    if out is not None or n <= SMALL:
        yield given, n, out
        return
    half = n // 2
    yield from _pieces(run, [c[:half] for c in given], half)
    yield from _pieces(run, [c[half:] for c in given], n - half)


class _Points:
    """The points as they are computed, block by block, in the order they come."""

    def __init__(self, program: Program, names: list[str], constants: dict[str, float], wanted: list[str], second: bool) -> None:
        self.program = program
        self.names = names
        self.constants = constants
        self.x = wanted[0]
        self.wanted = [names.index(w) for w in wanted]
        self.columns = ColumnProgram(program, names)
        self.want_second = second
        self.second = _second_program(program, self.x) if second else None
        self.second_columns = ColumnProgram(self.second, names) if self.second is not None else None
        slots = {id(v): i for i, v in enumerate(program.order)}
        self.switches = [(SWITCHES[v._op], v, [slots[id(c)] for c in v._prev]) for v in _switch_nodes(program, self.x)]
        self.xs: list[float] = []
        self.values: list[float | None] = []
        self.grads: list[list[float | None]] = [[] for _ in wanted]
        self.seconds: list[float | None] = []
        self.signs: list[list[float | None]] = [[] for _ in self.switches]
        self.data = PlotData(program.source, self.x, [], [])

    def add(self, block: Block) -> None:
        """Compute the block's points: whole columns where ColumnProgram takes them, else row by row."""
        if len(self.xs) + block.n > MAX_POINTS:
            raise AutodiffError(INPUT, f"a plot has at most {MAX_POINTS:,} points; the rows have more")
        if block.columns is not None:
            n = block.n
            given = [block.columns[m] if m in block.columns else [self.constants[m]] * n for m in self.names]
            for piece, m, out in _pieces(self._first, given, n):
                if out is None:
                    for i in range(m):
                        self._row({name: column[i] for name, column in zip(self.names, piece, strict=True)})
                else:
                    self._columns(piece, m, out)  # type: ignore[arg-type]
            return
        assert block.rows is not None
        for echo, bindings in block.rows:
            if isinstance(bindings, AutodiffError):
                self._bad_row(echo, bindings)
            elif self.x not in bindings:
                self.data.unplaced += 1
            else:
                self._row({**self.constants, **bindings})

    def _first(self, given: list[list[float]], n: int) -> tuple[Any, ...] | None:
        nodes: list[list[float]] = []
        out = self.columns.run(given, n, nodes)
        if out is None:
            return None
        signs = [list(map(switch, *(nodes[s] for s in slots))) for switch, _, slots in self.switches]
        return out[0], out[1], signs

    def _columns(self, given: list[list[float]], n: int, out: tuple[Any, ...]) -> None:
        values, grads, signs = out
        self.xs += given[self.wanted[0]]
        self.values += values
        for column, k in zip(self.grads, self.wanted, strict=True):
            column += grads[k]
        for column, sign in zip(self.signs, signs, strict=True):
            column += sign
        if not self.want_second:
            return
        second = self.second_columns
        if second is None:
            self.seconds += [None] * n
            return
        x = self.wanted[0]
        for piece, _, done in _pieces(second.run, given, n):
            if done is None:
                rows = zip(*piece, strict=True)
                self.seconds += [self._second_at(dict(zip(self.names, row, strict=True))) for row in rows]
            else:
                self.seconds += done[1][x]  # type: ignore[index]

    def _row(self, bindings: dict[str, float]) -> None:
        """One point through Program.run, which decides whether and why it fails."""
        try:
            result = self.program.run(bindings)
        except AutodiffError as err:
            self._failed(bindings[self.x], err)
            return
        self.xs.append(bindings[self.x])
        self.values.append(result.value)
        for column, name in zip(self.grads, (self.names[k] for k in self.wanted), strict=True):
            column.append(result.gradients[name])
        for column, (switch, node, _) in zip(self.signs, self.switches, strict=True):
            column.append(switch(*(c.data for c in node._prev)))
        if self.want_second:
            self.seconds.append(self._second_at(bindings))

    def _second_at(self, bindings: dict[str, float]) -> float | None:
        if self.second is None:
            return None
        try:
            return self.second.run(bindings).gradients.get(self.x, 0.0)
        except AutodiffError:
            return None

    def _bad_row(self, echo: dict[str, Any], err: AutodiffError) -> None:
        """A row that cannot run: a gap at its x if it has one, else a row that cannot be placed."""
        try:
            x = parse_number(str(echo.get(self.x, "")), self.x)
        except AutodiffError:
            self.data.unplaced += 1
            return
        self._failed(x, err)

    def _failed(self, x: float, err: AutodiffError) -> None:
        self.data.failures[err.kind] += 1
        self.data.messages.setdefault(err.kind, err.message)
        self.xs.append(x)
        for column in (self.values, *self.grads, *self.signs):
            column.append(None)
        if self.want_second:
            self.seconds.append(None)

    def finish(self, x: str) -> PlotData:
        """The points in increasing x, as curves, with their kinks."""
        order = sorted(range(len(self.xs)), key=self.xs.__getitem__)

        def sort(column: list[Any]) -> list[Any]:
            return [column[i] for i in order]

        data = self.data
        data.xs = sort(self.xs)
        values = sort(self.values)
        data.curves = [Curve(0, None, values)]
        data.curves += [Curve(1, self.names[k], sort(c)) for k, c in zip(self.wanted, self.grads, strict=True)]
        if self.want_second:
            seconds = sort(self.seconds)
            data.curves.append(Curve(2, x, seconds))
            data.second_gaps = sum(1 for v, s in zip(values, seconds, strict=True) if v is not None and s is None)
        data.kinks = find_kinks(data.xs, values, data.curves[1].ys, [sort(c) for c in self.signs])
        return data


def _switch_nodes(program: Program, x: str) -> list[Value]:
    """The operations with a kink whose switch moves with ``x``."""
    moving = {program.graph.inputs[x]}
    found = []
    for v in program.nodes:
        if any(c in moving for c in v._prev):
            moving.add(v)
            if v._op in SWITCHES:
                found.append(v)
    return found
