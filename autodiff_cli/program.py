"""Run a parsed program: bind its inputs, go forward, go backward, collect gradients.

A ``Program`` is compiled once and can be run at many bindings: each run
rewrites the leaves and recomputes the same nodes in place, so a sweep over
100,000 rows builds its graph once.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .bindings import check_bindings
from .engine import Value, backpropagate, forward, local_derivatives
from .errors import DOMAIN, NAME, OVERFLOW, AutodiffError
from .ops import CONSTANTS, OPS
from .ops_math import exact
from .parser import Graph, parse

T = TypeVar("T")

__all__ = [
    "Program",
    "Result",
    "clear_cache",
    "compile_program",
    "evaluate",
    "exclusive",
    "nonfinite_derivative",
    "operation_at",
]


@dataclass(frozen=True)
class Result:
    """What a program computed: its value and d(value)/d(input) for every input."""

    value: float
    gradients: dict[str, float] = field(default_factory=dict)


class Program:
    """A compiled program, ready to run at any bindings of its inputs.

    Running mutates the graph's nodes in place, so every run holds ``lock``:
    threads sharing one Program (as ``compile_program``'s cache makes them)
    take turns instead of reading each other's numbers. Code that reads node
    values after a run (explain, check, hessian) holds the same lock around
    the whole of its work; it is reentrant for that.
    """

    def __init__(self, graph: Graph) -> None:
        self._lock = threading.RLock()
        self._forks = _forks
        self.graph = graph
        self.source = graph.source
        result = graph.result
        nodes = graph.nodes
        # Nodes written after the result cannot feed it: they need no work.
        end = next((i + 1 for i in range(len(nodes) - 1, -1, -1) if nodes[i] is result), 0)
        self.nodes = nodes[:end]
        leaves = [*graph.inputs.values(), *graph.constants]
        self.order = leaves + self.nodes
        if result._op == "":
            # A bare name or number: it must come last for backpropagation.
            self.order = [v for v in leaves if v is not result] + [result]

    @property
    def lock(self) -> threading.RLock:
        """This program's lock; in a forked child, a new one (the parent's may be held by a thread the child lacks)."""
        if self._forks != _forks:
            with _cache_lock:  # two threads of the child must not each make one
                if self._forks != _forks:
                    self._lock, self._forks = threading.RLock(), _forks
        return self._lock

    @property
    def inputs(self) -> list[str]:
        """Names the program reads before assigning them, in order of first use.

        ``pi``, ``e`` and ``tau`` are listed when read; they are inputs only when bound.
        """
        return list(self.graph.inputs)

    @property
    def result(self) -> Value:
        return self.graph.result

    def bind(self, bindings: Mapping[str, float]) -> list[str]:
        """Set the leaves from ``bindings``; return the names that are real inputs.

        Every binding, read or not, must pass the one rule for names and values
        (``bindings.check_bindings``); bindings that already did pass as they are.
        """
        names = []
        given = check_bindings(bindings)
        for name, leaf in self.graph.inputs.items():
            x = given.get(name)
            if x is not None:
                leaf.data = x
                names.append(name)
            elif name in CONSTANTS:
                leaf.data = CONSTANTS[name]
            else:
                raise self.graph.input_error(NAME, f"{name} is not bound: give a value, e.g. {name}=1", name)
        return names

    def run(self, bindings: Mapping[str, float], gradients: bool = True, strict: bool = True) -> Result:
        """Evaluate at ``bindings``; raise AutodiffError on any failure.

        With ``strict`` off, values and gradients that leave the finite floats
        are reported as inf or nan instead of raising (``--allow-nonfinite``).
        """
        with self.lock:
            names = self.bind(bindings)
            try:
                forward(self.nodes, strict)
            except AutodiffError as err:
                raise self.graph.locate(err, getattr(err, "node", None)) from None
            result = self.graph.result
            if not gradients:
                return Result(result.data, {})
            backpropagate(self.order, result, careful=not strict)
            inputs = self.graph.inputs
            grads = {name: inputs[name].grad for name in names}
            if strict and any(g - g != 0.0 for g in grads.values()):
                self._explain_nonfinite_gradient(names)
            return Result(result.data, grads)

    def _explain_nonfinite_gradient(self, names: list[str]) -> None:
        """Find the node whose derivative broke the gradient and raise about it."""
        inputs = self.graph.inputs
        overall = "the gradient overflows float64"
        error = nonfinite_derivative(self.graph, self.order, [inputs[n] for n in names], overall=overall)
        if error is None:
            bad = next(n for n in names if inputs[n].grad - inputs[n].grad != 0.0)
            error = self.graph.input_error(OVERFLOW, f"the gradient with respect to {bad} overflows float64", bad)
        raise error


def operation_at(v: Value, number: Callable[[float], str] = exact) -> str:
    """Node ``v``'s operation at its arguments, as messages name it: log(-1), '/' at (1, 0)."""
    op = OPS[v._op]
    args = ", ".join(number(c.data) for c in v._prev)
    return f"{op.name}({args})" if op.symbol is None else f"'{op.symbol}' at ({args})"


def nonfinite_derivative(
    graph: Graph,
    order: Sequence[Value],
    wrt: Iterable[Value],
    *,
    origin: Mapping[Value, Value] | None = None,
    number: Callable[[float], str] = exact,
    label: str = "derivative",
    overall: str | None = None,
) -> AutodiffError | None:
    """Why backpropagating ``order`` gave a non-finite gradient: the error to raise, or None if no node is to blame.

    Walks from the root down, as the gradient flowed, to the first node whose
    local derivative toward ``wrt`` is not finite, or whose finite slope makes
    a finite gradient overflow. ``origin`` maps a node of ``order`` (a node of
    a gradient graph, for the Hessian) to the program's node it came from,
    which the message names and the error points at; ``number`` spells its
    arguments; ``label`` names what broke ("second derivative"); ``overall``,
    if given, is the message for an overflowing product instead of one that
    names the operation. The same words for first and second derivatives.
    """
    depends = set(wrt)
    for v in order:
        if v._prev and any(c in depends for c in v._prev):
            depends.add(v)
    for v in reversed(order):
        g = v.grad
        if g == 0.0 or not v._op or v not in depends:
            continue
        source = origin.get(v, v) if origin else v
        for child, d in zip(v._prev, local_derivatives(v), strict=True):
            if child not in depends:
                continue
            where = operation_at(source, number)
            if d - d != 0.0:
                op = OPS[v._op]
                if math.isinf(d) and not (op.singular and op.singular(*(c.data for c in v._prev))):
                    return graph.locate(AutodiffError(OVERFLOW, f"the {label} of {where} overflows float64"), source)
                what = "infinite" if math.isinf(d) else "undefined"
                return graph.locate(AutodiffError(DOMAIN, f"the {label} of {where} is {what}"), source)
            if g - g == 0.0 and (g * d) - (g * d) != 0.0:
                message = overall or f"the {label} of {where} overflows float64"
                return graph.locate(AutodiffError(OVERFLOW, message), source)
    return None


def exclusive(work: Callable[..., T]) -> Callable[..., T]:
    """Hold the lock of the Program passed first for the whole of ``work``, which reads its nodes after running it."""

    @functools.wraps(work)
    def locked(program: Program, *args: Any, **kwargs: Any) -> T:
        with program.lock:
            return work(program, *args, **kwargs)

    return locked


# The cache is bounded by the total length of the programs it holds, not by
# their count: a compiled program costs about 120 bytes per source character,
# so 1,000,000 characters keep it near 120 MB whatever the mix of sizes.
CACHE_CHARACTERS = 1_000_000
CACHE_PROGRAMS = 256
_cache: OrderedDict[str, Program] = OrderedDict()
_cache_characters = 0
_cache_lock = threading.Lock()


_forks = 0
"""Forks this process came through: a Program made before the last one takes a new lock (``Program.lock``)."""


def _unlock_in_child() -> None:
    """A fork copies only the forking thread: a Program another thread was running would stay locked in the child.

    So each gets a new lock there, the first time it is asked for one. Its
    half-computed nodes are harmless: every run binds all its leaves and
    recomputes every node. The cache's lock is only held for a moment, so a
    fork waits for it instead.
    """
    global _forks
    _forks += 1
    _cache_lock.release()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=_cache_lock.acquire, after_in_parent=_cache_lock.release, after_in_child=_unlock_in_child)


def compile_program(source: str) -> Program:
    """Parse ``source`` once; the same text gives the same Program (recently used ones are kept).

    A ``source`` that is not a str is a mistake in the calling code: TypeError.
    """
    global _cache_characters
    if not isinstance(source, str):
        raise TypeError(f"a program must be a str, such as 'x^2 + 1', not {type(source).__name__}")
    with _cache_lock:
        program = _cache.get(source)
        if program is not None:
            _cache.move_to_end(source)
            return program
    program = Program(parse(source))
    if len(source) > CACHE_CHARACTERS // 4:
        return program  # one huge program would push out every other: it is not kept
    with _cache_lock:
        if source not in _cache:
            _cache[source] = program
            _cache_characters += len(source)
            while len(_cache) > CACHE_PROGRAMS or _cache_characters > CACHE_CHARACTERS:
                dropped, _ = _cache.popitem(last=False)
                _cache_characters -= len(dropped)
        return _cache[source]


def clear_cache() -> None:
    """Forget every compiled program (for tests and long-lived processes)."""
    global _cache_characters
    with _cache_lock:
        _cache.clear()
        _cache_characters = 0


def evaluate(program: str, bindings: Mapping[str, float] | None = None) -> Result:
    """Value and gradients of ``program`` at ``bindings`` (name -> number).

    Raises AutodiffError with ``.kind`` syntax, name, domain, overflow, limit,
    or input (a bad name or value among the bindings: not an int or float,
    inf, nan, too large for float64, or two spellings of one name that
    disagree); TypeError if ``program`` is not a str or ``bindings`` not a Mapping.
    """
    return compile_program(program).run(bindings or {})
