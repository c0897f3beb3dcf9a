"""The forward and backward passes of a program, step by step, for people learning backpropagation.

``explain`` runs the program with the engine, then walks the same graph again
and records what each step did: in the forward pass, every node from its
arguments; in the backward pass, from the result down, every node's gradient,
each child's local derivative (the ops table's formula for people, the
engine's ``local_derivatives`` for the number) and what it adds to the child.
The replay accumulates exactly as ``engine.backpropagate`` does, in the same
order and with the same skip of nodes whose gradient is exactly 0, so its
gradients are the engine's to the last bit; nothing here knows a derivative.
Each operation also knows the statement it was written in, so that a long
program's steps can be read statement by statement.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass

from .engine import Value, local_derivatives, topological_order
from .graph_view import GraphView, Node
from .numbers import format_number
from .ops import OPS, Op
from .program import Program, exclusive

__all__ = ["BackwardStep", "Contribution", "Explanation", "ForwardStep", "drawn_ids", "explain"]

INPUT = "input"  # a name bound by the caller
CONSTANT = "constant"  # pi, e or tau, read but not bound
NUMBER = "number"  # a number written in the program
OPERATION = "op"

SKIPPED_ZERO = "its gradient is 0, so it has nothing to pass on (the engine skips it)"
SKIPPED_DEAD = "it does not feed the result, so its gradient stays 0 (the engine skips it)"

_PLACEHOLDER = re.compile(r"\b[xy]\b")


@dataclass(frozen=True)
class ForwardStep:
    """One node of the forward pass: what it computes and the value it got."""

    id: str  # unique: an input's name, a node's name, n1, n2 ... for operations, k1 ... for numbers
    label: str  # how people see it: the id, or a number's own digits
    kind: str  # input, constant, number or op
    value: float
    op: str = ""  # key of ops.OPS, for an operation
    args: tuple[str, ...] = ()  # ids of its arguments
    expr: str = ""  # the operation on its arguments' labels: "a * b", "tanh(n2)"
    arithmetic: str = ""  # the operation on its arguments' values, a template: "{} * {}"
    arg_values: tuple[float, ...] = ()  # the values for the template, which the reader formats as it shows numbers
    names: tuple[str, ...] = ()  # names the program assigned to this node
    statement: int = -1  # index in Explanation.statements of the statement that wrote it; -1 for a leaf
    parenthesize: tuple[bool, ...] = ()  # per argument: a negative value needs parentheses ("1 + (-2)", "-(-2)")


@dataclass(frozen=True)
class Contribution:
    """What one node passes to one child: local derivative times the node's gradient."""

    child: str  # id
    label: str
    kind: str
    position: int  # which argument of the node (0 or 1)
    formula: str  # the local derivative as the ops table writes it, in x and y
    formula_here: str  # the same with the arguments' labels in place of x and y
    local: float  # d(node)/d(child), from the engine
    contribution: float  # local * the node's gradient
    grad_before: float
    grad_after: float
    visit: int  # how many contributions the child has received, this one included

    @property
    def accumulates(self) -> bool:
        """True when the child was reached before: this adds to what it already has."""
        return self.visit > 1


@dataclass(frozen=True)
class BackwardStep:
    """One operation node of the backward pass, in reverse topological order."""

    id: str
    label: str
    expr: str  # compact, as in d(expr)/d(child): "a*b"
    grad: float  # d(result)/d(node) when the node is reached: complete by then
    contributions: tuple[Contribution, ...]
    is_result: bool = False
    skipped: str = ""  # why nothing was passed on, when nothing was
    statement: int = -1  # as ForwardStep.statement


@dataclass(frozen=True)
class Explanation:
    """A program's value and gradients, with the steps that produced them."""

    expr: str
    bindings: dict[str, float]
    value: float
    gradients: dict[str, float]
    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]
    result: str  # id of the result's node
    statements: tuple[str, ...] = ()  # the program's statements as written (blank ones left out)
    result_named: bool = False  # True when the program gave the result a name of its own (L = ...)

    @property
    def labels(self) -> dict[str, str]:
        return {s.id: s.label for s in self.forward}


@exclusive
def explain(program: Program, bindings: Mapping[str, float], strict: bool = True) -> Explanation:
    """Run ``program`` at ``bindings`` and record its forward and backward passes.

    Raises AutodiffError exactly where ``program.run`` does; without ``strict``
    (--allow-nonfinite) inf and nan are steps like any other, as in ``eval``.
    """
    result = program.run(bindings, strict=strict)
    bound = set(result.gradients)
    ids, labels, kinds = _identify(program, bound)
    names = _names_of(program)
    statements, where = _statements(program)
    forward = tuple(_forward_step(v, ids, labels, kinds, names, where) for v in program.order)
    backward = _backward_steps(program, ids, labels, kinds, where)
    root = program.result
    return Explanation(
        expr=program.source,
        bindings={name: program.graph.inputs[name].data for name in result.gradients},
        value=result.value,
        gradients=dict(result.gradients),
        forward=forward,
        backward=backward,
        result=ids[root],
        statements=statements,
        result_named=ids[root] in program.graph.names or kinds[root] != OPERATION,
    )


def drawn_ids(program: Program, e: Explanation, view: GraphView) -> dict[Node, str]:
    """Each step's id on the node of ``view`` it is about, for a picture that walks the steps (--graph html).

    ``view`` is ``graph_view(program.graph)`` after ``explain``: its order is
    the topological order of the result, and the steps' is ``program.order``,
    so both are matched through the Values they come from. A node that does
    not feed the result is not drawn, so its steps point at nothing.
    """
    ids = {v: step.id for v, step in zip(program.order, e.forward, strict=True)}
    below = topological_order(program.result)
    if len(below) != len(view.order):
        raise ValueError("drawn_ids needs the view of this program's graph")
    return {node: ids[v] for v, node in zip(below, view.order, strict=True) if v in ids}


# --- naming nodes --------------------------------------------------------------------


def _free_prefix(letter: str, taken: set[str]) -> str:
    """A prefix for numbered ids that no name of the program can be confused with."""
    prefix = letter
    while any(re.fullmatch(re.escape(prefix) + r"\d+", t) for t in taken):
        prefix += "_"
    return prefix


def _identify(program: Program, bound: set[str]) -> tuple[dict[Value, str], dict[Value, str], dict[Value, str]]:
    """Ids, labels and kinds of every node of the program's order."""
    graph = program.graph
    taken = set(graph.inputs) | set(graph.names)
    op_prefix, number_prefix = _free_prefix("n", taken), _free_prefix("k", taken)
    leaves = {v: name for name, v in graph.inputs.items()}
    named: dict[Value, str] = {}
    for name, v in graph.names.items():
        # A name that is also an input's (``a = a*2``) or that only renames a leaf stays out.
        if v not in leaves and name not in graph.inputs and v not in named:
            named[v] = name
    ids: dict[Value, str] = {}
    labels: dict[Value, str] = {}
    kinds: dict[Value, str] = {}
    for name, v in graph.inputs.items():
        ids[v] = labels[v] = name
        kinds[v] = INPUT if name in bound else CONSTANT
    for k, v in enumerate(graph.constants, 1):
        ids[v] = named.get(v, f"{number_prefix}{k}")
        labels[v] = named.get(v, format_number(v.data))
        kinds[v] = NUMBER
    unnamed = 0  # n1, n2 ... count the unnamed operations only: no gap where a named one stands
    for v in program.nodes:
        if v not in named:
            unnamed += 1
        ids[v] = labels[v] = named.get(v, f"{op_prefix}{unnamed}")
        kinds[v] = OPERATION
    return ids, labels, kinds


def _names_of(program: Program) -> dict[Value, tuple[str, ...]]:
    names: dict[Value, tuple[str, ...]] = {}
    for name, v in program.graph.names.items():
        names[v] = (*names.get(v, ()), name)
    return names


def _statements(program: Program) -> tuple[tuple[str, ...], dict[Value, int]]:
    """The program's statements as written, and for each operation the index of the one that wrote it.

    The language separates statements with ';' and newlines only (no line
    continuation, no strings) and '#' comments run to the end of a line, so a
    scan of the source finds them; each node's recorded line and column then
    falls inside exactly one.
    """
    texts: list[str] = []
    starts: list[tuple[int, int]] = []  # (line, first column) of each statement, in source order
    for number, line in enumerate(program.source.split("\n"), 1):
        code = line.split("#", 1)[0]
        column = 1
        for part in code.split(";"):
            if part.strip():
                texts.append(part.strip())
                starts.append((number, column))
            column += len(part) + 1
    graph = program.graph
    where: dict[Value, int] = {}
    for i, v in enumerate(graph.nodes):
        at = (graph.positions[2 * i], graph.positions[2 * i + 1])
        where[v] = max(bisect_right(starts, at) - 1, 0)
    return tuple(texts), where


# --- the two passes ------------------------------------------------------------------


def _spell(op: Op, args: list[str], spaced: bool) -> str:
    """The operation written on ``args``: its arguments' labels, or their values."""
    if op.symbol and len(args) == 2:
        return f"{args[0]} {op.symbol} {args[1]}" if spaced else f"{args[0]}{op.symbol}{args[1]}"
    if op.symbol:
        return f"{op.symbol}{args[0]}"
    return f"{op.name}({', '.join(args)})"


def _parenthesize(op: Op, arity: int) -> tuple[bool, ...]:
    """Which operands read wrong when negative without parentheses: a sign's, the right of + - * / ^, the left of ^."""
    if not op.symbol:
        return (False,) * arity  # exp(-0.5) reads right
    if arity == 1:
        return (True,)
    return (op.symbol == "^", True)


def _forward_step(
    v: Value,
    ids: dict[Value, str],
    labels: dict[Value, str],
    kinds: dict[Value, str],
    names: dict[Value, tuple[str, ...]],
    where: dict[Value, int],
) -> ForwardStep:
    if not v._op:
        return ForwardStep(ids[v], labels[v], kinds[v], v.data, names=names.get(v, ()))
    op = OPS[v._op]
    return ForwardStep(
        ids[v],
        labels[v],
        OPERATION,
        v.data,
        op=op.name,
        args=tuple(ids[c] for c in v._prev),
        expr=_spell(op, [labels[c] for c in v._prev], spaced=True),
        arithmetic=_spell(op, ["{}"] * len(v._prev), spaced=True),
        arg_values=tuple(c.data for c in v._prev),
        names=names.get(v, ()),
        statement=where.get(v, -1),
        parenthesize=_parenthesize(op, len(v._prev)),
    )


def _feeding(root: Value) -> set[Value]:
    """Every node the result depends on, itself included."""
    seen = {root}
    stack = [root]
    while stack:
        for c in stack.pop()._prev:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def _substitute(formula: str, args: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: args[0] if m.group() == "x" else args[1], formula)


def _backward_steps(
    program: Program, ids: dict[Value, str], labels: dict[Value, str], kinds: dict[Value, str], where: dict[Value, int]
) -> tuple[BackwardStep, ...]:
    """Replay ``engine.backpropagate`` on the program's order, recording each step."""
    root = program.result
    feeding = _feeding(root)
    grads = {v: 0.0 for v in program.order}
    visits = dict.fromkeys(program.order, 0)
    grads[root] = 1.0
    steps = []
    for v in reversed(program.order):
        if not v._op:
            continue
        g = grads[v]
        expr = _spell(OPS[v._op], [labels[c] for c in v._prev], spaced=False)
        if g == 0.0:
            why = SKIPPED_DEAD if v not in feeding else SKIPPED_ZERO
            steps.append(BackwardStep(ids[v], labels[v], expr, g, (), v is root, why, where.get(v, -1)))
            continue
        op = OPS[v._op]
        arg_labels = [labels[c] for c in v._prev]
        contributions = []
        for position, (child, local) in enumerate(zip(v._prev, local_derivatives(v), strict=True)):
            before = grads[child]
            contribution = g * local
            grads[child] = after = before + contribution
            visits[child] += 1
            formula = op.formula[position] if position < len(op.formula) else ""
            contributions.append(
                Contribution(
                    ids[child],
                    labels[child],
                    kinds[child],
                    position,
                    formula,
                    _substitute(formula, arg_labels),
                    local,
                    contribution,
                    before,
                    after,
                    visits[child],
                )
            )
        steps.append(BackwardStep(ids[v], labels[v], expr, g, tuple(contributions), v is root, statement=where.get(v, -1)))
    return tuple(steps)
