"""Run one compiled program over whole columns of inputs at once.

A sweep evaluates the same graph at thousands of rows. Walking the graph once
per *block* of rows, each node mapping its operation over a list, moves the
per-row work out of the interpreter loop and into ``map`` and ``sum``: that
is what lets a sweep keep pace with the csv module.

``Program.run`` stays the authority. Whenever a block meets anything unusual
(a domain check that fails, an exception, a number that is not finite, in any
node or any gradient) ``ColumnProgram.run`` gives the block up and the caller
runs its rows one at a time, so errors and their messages are exactly those of
``Program.run``. On the blocks it does finish, every number is bit for bit what
``Program.run`` computes: the same functions on the same arguments, gradients
summed in the same order.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .ops import CONSTANTS, OPS
from .program import Program

__all__ = ["ColumnProgram"]

# Exact equivalents of the table's forward lambdas for the commonest operators:
# the same IEEE operation, without a Python frame per element.
_FAST_FORWARD = {"+": operator.add, "-": operator.sub, "*": operator.mul, "neg": operator.neg}

_add = operator.add
_mul = operator.mul
_neg = operator.neg


def _finite(column: list[float]) -> bool:
    # inf or nan anywhere makes the sum inf or nan; an overflowing sum of finite
    # numbers only sends the block to the careful path, which is still right.
    s = sum(column)
    return s - s == 0.0


class ColumnProgram:
    """A Program prepared to run over columns; ``run`` returns None where it defers to Program.run."""

    def __init__(self, program: Program, names: Sequence[str]) -> None:
        """``names`` are the bound inputs, in the order their columns will be given."""
        graph = program.graph
        slots = {id(v): i for i, v in enumerate(program.order)}
        self.size = len(program.order)
        self.names = list(names)
        self.input_slots = [slots[id(graph.inputs[n])] for n in self.names]
        # Leaves nobody binds: number literals, and pi, e, tau when read but not bound.
        self.fixed = [(slots[id(c)], c.data) for c in graph.constants]
        self.fixed += [(slots[id(v)], CONSTANTS[n]) for n, v in graph.inputs.items() if n not in self.names]
        self.steps = [(OPS[v._op], slots[id(v)], tuple(slots[id(c)] for c in v._prev)) for v in program.nodes]
        self.root = slots[id(graph.result)]

    def run(
        self, columns: Sequence[list[float]], n: int, nodes: list[list[float]] | None = None
    ) -> tuple[list[float], list[list[float]]] | None:
        """Values and one gradient column per name for ``n`` rows, or None to defer to Program.run.

        ``nodes``, if given, receives every node's column, indexed like ``program.order``:
        callers that read intermediates (``plot`` finds kinks from them) need no second pass.
        """
        try:
            data = self._forward(columns, n)
            if data is None:
                return None
            if nodes is not None:
                nodes[:] = data
            grads = self._backward(data, n)
        except (ArithmeticError, ValueError, TypeError):
            return None
        zeros = None
        out = []
        for slot in self.input_slots:
            g = grads[slot]
            if g is None:
                g = zeros = zeros or [0.0] * n
            elif not _finite(g):
                return None
            out.append(g)
        return data[self.root], out

    def _forward(self, columns: Sequence[list[float]], n: int) -> list[Any] | None:
        data: list[Any] = [None] * self.size
        for slot, column in zip(self.input_slots, columns, strict=True):
            data[slot] = column
        for slot, x in self.fixed:
            data[slot] = [x] * n
        for op, slot, children in self.steps:
            args = [data[c] for c in children]
            if op.domain is not None and any(map(op.domain, *args)):
                return None
            out = list(map(_FAST_FORWARD.get(op.name, op.forward), *args))  # type: ignore[call-overload]
            if not _finite(out):
                return None
            data[slot] = out
        return data

    def _backward(self, data: list[Any], n: int) -> list[Any]:
        # grads[i] is None while node i has received nothing (all zeros).
        grads: list[Any] = [None] * self.size
        ones = grads[self.root] = [1.0] * n
        zeros = [0.0] * n

        def give(slot: int, contribution: Any, whole: bool = False) -> None:
            # Program.run starts every gradient at 0.0 and adds, and 0.0 + -0.0 is 0.0,
            # so no gradient is ever -0.0: a parent's whole gradient passes on as it is.
            current = grads[slot]
            if current is None:
                grads[slot] = contribution if whole else list(map(_add, zeros, contribution))
            else:
                grads[slot] = list(map(_add, current, contribution))

        for op, slot, children in reversed(self.steps):
            g = grads[slot]
            if g is None:
                continue
            name = op.name
            if len(children) == 1:
                (c,) = children
                if name == "neg":
                    give(c, map(_neg, g))
                    continue
                d = map(op.derivative, data[c], data[slot])
                give(c, d if g is ones else map(_mul, g, d))  # 1.0 * d is d
                continue
            a, b = children
            if name == "+":
                give(a, g, whole=True)
                give(b, g, whole=True)
            elif name == "-":
                give(a, g, whole=True)
                give(b, map(_neg, g))
            elif name == "*":
                give(a, map(_mul, g, data[b]))
                give(b, map(_mul, g, data[a]))
            else:
                da, db = zip(*map(op.derivative, data[a], data[b], data[slot]), strict=True)
                give(a, map(_mul, g, da))
                give(b, map(_mul, g, db))
        return grads
