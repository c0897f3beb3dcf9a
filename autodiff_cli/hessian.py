"""Second derivatives of a program: the gradient built as a graph, then backpropagated.

The gradient of the program with respect to its inputs is built once as new
nodes (``gradients.gradient_graph``); backpropagating each of those gradients
gives one row of the Hessian. Where a second derivative does not exist the
answer is a ``domain`` error that names the operation, like the first-order
errors of ``program.Program.run``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NoReturn

from .engine import Value, backpropagate, compute, topological_order
from .errors import LIMIT, OVERFLOW, AutodiffError
from .gradients import gradient_graph
from .ops import OPS
from .program import Program, Result, compile_program, exclusive, nonfinite_derivative, operation_at

__all__ = ["MAX_WORK", "hessian", "program_hessian"]

Hessian = dict[str, dict[str, float]]

MAX_WORK = 5_000_000
"""Node visits (and Hessian entries) that one Hessian may take, at most: a few seconds.

Each row backpropagates the whole gradient graph, so n inputs cost about n
times the program, and the answer has n^2 numbers: 6,000 inputs would be 36
million. Rows are charged before they are computed.
"""


def hessian(program: str, bindings: Mapping[str, float] | None = None, rows: int | None = None) -> tuple[Result, Hessian]:
    """Value, gradients and second derivatives of ``program`` at ``bindings``.

    The Hessian maps each input to the derivatives of its gradient with respect
    to every input, in order of first use: ``h["a"]["b"]`` is d/db (d/da).
    With ``rows``, only the rows of the first ``rows`` inputs are computed
    (each still has every column): what a table can show costs no more.
    Raises AutodiffError like ``evaluate``, ``domain`` or ``overflow`` for
    second derivatives that are infinite, undefined or too large, and
    ``limit`` past MAX_WORK.
    """
    return program_hessian(compile_program(program), bindings or {}, rows)


@exclusive
def program_hessian(program: Program, bindings: Mapping[str, float], rows: int | None = None) -> tuple[Result, Hessian]:
    """``hessian`` for a compiled program."""
    result = program.run(bindings)
    names = list(result.gradients)
    leaves = [program.graph.inputs[n] for n in names]
    wanted = names if rows is None else names[: max(rows, 0)]
    work = len(program.order) + len(wanted) * len(names)
    if work > MAX_WORK:
        _too_much(len(wanted), len(names))
    origins: dict[Value, Value] = {}
    try:
        grads = gradient_graph(program.order, program.result, leaves, origins=origins)
    except AutodiffError as err:
        raise program.graph.locate(err, getattr(err, "node", None)) from None
    table: Hessian = {}
    for name, leaf in zip(wanted, leaves, strict=False):
        grad = grads.get(leaf)
        for other in leaves:
            other.grad = 0.0
        if grad is not None:
            order = topological_order(grad)
            work += len(order)
            if work > MAX_WORK:
                _too_much(len(wanted), len(names))
            backpropagate(order)
            if any(not math.isfinite(other.grad) for other in leaves):
                _explain(program, order, leaves, origins)
        table[name] = {n: other.grad for n, other in zip(names, leaves, strict=True)}
    # Leave the program's nodes with the first-order gradients, as run() does: displays read them.
    backpropagate(program.order, program.result)
    return result, table


def _too_much(rows: int, inputs: int) -> NoReturn:
    raise AutodiffError(
        LIMIT,
        f"the Hessian ({rows:,} rows of {inputs:,} inputs) needs more than {MAX_WORK:,} steps (the limit)",
    )


def _short(x: float) -> str:
    return f"{x:g}"


def _explain(program: Program, order: list[Value], leaves: list[Value], origin: dict[Value, Value]) -> NoReturn:
    """Find why a row of the Hessian is not finite, and raise about the program's operation."""
    # A first derivative that does not exist, in a branch the gradient itself did not need.
    for v in order:
        if v._prev and not math.isfinite(v.data) and all(math.isfinite(c.data) for c in v._prev):
            source = origin.get(v, v)
            try:
                compute(OPS[v._op], tuple(c.data for c in v._prev))
                kind = OVERFLOW
            except AutodiffError as err:
                kind = err.kind
            what = "overflows float64" if kind == OVERFLOW else "is infinite" if math.isinf(v.data) else "is undefined"
            raise program.graph.locate(AutodiffError(kind, f"the derivative of {operation_at(source, _short)} {what}"), source)
    error = nonfinite_derivative(program.graph, order, leaves, origin=origin, number=_short, label="second derivative")
    raise error or AutodiffError(OVERFLOW, "a second derivative overflows float64")
