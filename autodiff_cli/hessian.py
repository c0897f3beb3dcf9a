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

from .engine import Value, backpropagate, compute, local_derivatives, topological_order
from .errors import DOMAIN, OVERFLOW, AutodiffError
from .gradients import gradient_graph
from .ops import OPS
from .program import Program, Result, compile_program, exclusive

__all__ = ["hessian", "program_hessian"]

Hessian = dict[str, dict[str, float]]


def hessian(program: str, bindings: Mapping[str, float] | None = None) -> tuple[Result, Hessian]:
    """Value, gradients and second derivatives of ``program`` at ``bindings``.

    The Hessian maps each input to the derivatives of its gradient with respect
    to every input, in order of first use: ``h["a"]["b"]`` is d/db (d/da).
    Raises AutodiffError like ``evaluate``, and ``domain`` or ``overflow`` for
    second derivatives that are infinite, undefined or too large.
    """
    return program_hessian(compile_program(program), bindings or {})


@exclusive
def program_hessian(program: Program, bindings: Mapping[str, float]) -> tuple[Result, Hessian]:
    """``hessian`` for a compiled program."""
    result = program.run(bindings)
    names = list(result.gradients)
    leaves = [program.graph.inputs[n] for n in names]
    origins: dict[Value, Value] = {}
    try:
        grads = gradient_graph(program.order, program.result, leaves, origins=origins)
    except AutodiffError as err:
        raise program.graph.locate(err, getattr(err, "node", None)) from None
    rows: Hessian = {}
    for name, leaf in zip(names, leaves, strict=True):
        grad = grads.get(leaf)
        for other in leaves:
            other.grad = 0.0
        if grad is not None:
            order = topological_order(grad)
            backpropagate(order)
            if any(not math.isfinite(other.grad) for other in leaves):
                _explain(program, order, leaves, origins)
        rows[name] = {n: other.grad for n, other in zip(names, leaves, strict=True)}
    # Leave the program's nodes with the first-order gradients, as run() does: displays read them.
    backpropagate(program.order, program.result)
    return result, rows


def _where(v: Value) -> str:
    op = OPS[v._op]
    args = ", ".join(f"{c.data:g}" for c in v._prev)
    return f"{op.name}({args})" if op.symbol is None else f"'{op.symbol}' at ({args})"


def _explain(program: Program, order: list[Value], leaves: list[Value], origin: dict[Value, Value]) -> NoReturn:
    """Find why a row of the Hessian is not finite, and raise about the program's operation."""
    varying = set(leaves)
    for v in order:
        if v._prev and any(c in varying for c in v._prev):
            varying.add(v)
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
            raise program.graph.locate(AutodiffError(kind, f"the derivative of {_where(source)} {what}"), source)
    for v in reversed(order):
        g = v.grad
        if g == 0.0 or not v._prev or v not in varying:
            continue
        for child, d in zip(v._prev, local_derivatives(v), strict=True):
            if child not in varying:
                continue
            source = origin.get(v, v)
            if not math.isfinite(d):
                op = OPS[v._op]
                if math.isinf(d) and not (op.singular and op.singular(*(c.data for c in v._prev))):
                    failure = AutodiffError(OVERFLOW, f"the second derivative of {_where(source)} overflows float64")
                else:
                    what = "infinite" if math.isinf(d) else "undefined"
                    failure = AutodiffError(DOMAIN, f"the second derivative of {_where(source)} is {what}")
                raise program.graph.locate(failure, source)
            if math.isfinite(g) and not math.isfinite(g * d):
                failure = AutodiffError(OVERFLOW, f"the second derivative of {_where(source)} overflows float64")
                raise program.graph.locate(failure, source)
    raise AutodiffError(OVERFLOW, "a second derivative overflows float64")
