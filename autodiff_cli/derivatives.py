"""Derivatives of a program, printed as programs in the language itself.

The derivative graph comes from ``gradients.gradient_graph`` (the same mechanism
as ``backward(create_graph=True)`` and ``--hessian``), built over names instead
of numbers. It is then rebuilt with every internal operation replaced by its
spelling in the language, simplified and with repeated subexpressions shared,
and printed: one statement per shared subexpression, then the result. Printing
and every step before it are loops, not recursion, so a derivative as deep as
the program (a 300,000-term sum) prints like a short one.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .algebra import simplify
from .engine import Value, forward, topological_order
from .errors import LIMIT, NAME, AutodiffError
from .gradients import GraphBuilder, Term, gradient_graph
from .ops import CONSTANTS, FUNCTIONS, OPS
from .parser import Graph, normalize_name, parse
from .program import Program, compile_program

__all__ = ["MAX_OPERATIONS", "Derivatives", "Printed", "derivatives", "print_program"]

MAX_OPERATIONS = 100_000
"""Operations that the derivatives of one call may build and print, at most, plus 4 per operation of the program.

The printed derivatives can be far larger than the program: each of the n
first derivatives of a product of n inputs is a product of n - 1 of them, and
the second derivatives n^3/2 operations in all. The count is charged before
each piece of work, so a call stops with a ``limit`` error within a few
seconds (plus the time the program's own size takes) instead of running for
minutes, and its memory stays as bounded.
"""

# min/max's share of a gradient, 1 if x < y, 1/2 at a tie, else 0: d has the sign of y - x
# without computing y - x, which can overflow (each half is exact where the other is not).
# When one side is a number of size at most 1, y - x cannot overflow.
SPELLINGS = {
    "below": "d = (min(max(y, -1), 1) - min(max(x, -1), 1)) + (y/2 - x/2); (1 + sign(d))/2",
}
"""Spellings of internal operations in printed derivatives, where they differ from ops.OPS."""
BELOW_NEAR_NUMBER = "(1 + sign(y - x))/2"
_SPELLINGS: dict[str, str | None] = dict(SPELLINGS)
_OPEN = {"dsigmoid"}  # spellings that no simplification can make overflow: the others print as spelled

ADD, MUL, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
_LEVEL = {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "neg": UNARY, "^": POWER}


@dataclass(frozen=True)
class Printed:
    """A program in the language: its statements, the last one the result."""

    statements: tuple[str, ...]

    def text(self, separator: str = "\n") -> str:
        """The program as one text, a statement a line (or on one line, with ``"; "``)."""
        return separator.join(self.statements)


@dataclass(frozen=True)
class Derivatives:
    """The derivatives of a program as programs.

    ``first[a]`` is d/da; with order 2, ``second[a][b]`` is d/db (d/da).
    """

    source: str
    wrt: list[str]
    first: dict[str, Printed]
    second: dict[str, dict[str, Printed]] | None = None


def derivatives(source: str, wrt: Sequence[str] | None = None, order: int = 1) -> Derivatives:
    """Print the derivatives of ``source`` with respect to ``wrt`` (default: every input).

    ``pi``, ``e`` and ``tau`` are constants unless named in ``wrt``. Raises
    AutodiffError: syntax, name (a ``wrt`` that is not an input), or domain and
    overflow for a part of the program that uses no input and fails.
    """
    program = compile_program(source)
    with program.lock:
        return _derivatives(program, wrt, order)


def _derivatives(program: Program, wrt: Sequence[str] | None, order: int) -> Derivatives:
    graph = program.graph
    names = _wrt_names(graph, wrt)
    leaves = [graph.inputs[n] for n in names]
    symbols = list(graph.inputs.values())
    budget = _Budget(MAX_OPERATIONS + 4 * len(program.order))
    budget.charge(len(program.order) + (len(names) * (len(names) + 1) // 2 if order >= 2 else len(names)))
    _compute_constants(program, set(symbols))
    grads = gradient_graph(program.order, program.result, leaves, symbols=symbols, compute_data=False)
    printer = _Printer(graph, budget)
    first = {n: printer.program(grads.get(leaf)) for n, leaf in zip(names, leaves, strict=True)}
    if order < 2:
        return Derivatives(program.source, names, first)
    # A Hessian is symmetric: each pair is differentiated and printed once, and
    # second[b][a] is the same program as second[a][b].
    second: dict[str, dict[str, Printed]] = {n: {} for n in names}
    for i, (n, leaf) in enumerate(zip(names, leaves, strict=True)):
        g = grads.get(leaf)
        again = {}
        if g is not None:
            along = topological_order(g)
            budget.charge(len(along))
            again = gradient_graph(along, g, leaves[i:], symbols=symbols, compute_data=False)
        for m, other in zip(names[i:], leaves[i:], strict=True):
            second[n][m] = second[m][n] = printer.program(again.get(other))
    for n in names:
        second[n] = {m: second[n][m] for m in names}  # in the order of the inputs
    return Derivatives(program.source, names, first, second)


class _Budget:
    """Counts the operations built and printed against a limit, before they are made."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, operations: int) -> None:
        self.used += operations
        if self.used > self.limit:
            raise AutodiffError(
                LIMIT,
                f"the derivatives need more than {self.limit:,} operations (the limit: {MAX_OPERATIONS:,} "
                "plus 4 per operation of the program); ask for fewer inputs or a lower order",
            )


def _wrt_names(graph: Graph, wrt: Sequence[str] | None) -> list[str]:
    inputs = list(graph.inputs)
    if wrt is None or not wrt:
        return [n for n in inputs if n not in CONSTANTS]
    names: list[str] = []
    for raw in wrt:
        name = normalize_name(raw)
        if name not in graph.inputs:
            close = difflib.get_close_matches(name, inputs, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            listed = ", ".join(inputs) if inputs else "none"
            raise AutodiffError(NAME, f"{name} is not an input of the program (its inputs: {listed}){hint}")
        if name not in names:
            names.append(name)
    return names


def _compute_constants(program: Program, symbols: set[Value]) -> None:
    """Give the parts of the program that read no input their numbers, so they fold."""
    opaque = set(symbols)
    constant = []
    for v in program.nodes:
        if any(c in opaque for c in v._prev):
            opaque.add(v)
        else:
            constant.append(v)
    try:
        forward(constant)
    except AutodiffError as err:
        program.graph.locate(err, getattr(err, "node", None))
        raise


@lru_cache(maxsize=None)  # noqa: UP033 - the same spelling of an operation, parsed once
def _spelled(spelling: str) -> Graph:
    return parse(spelling)


class _Printer:
    """Prints derivative graphs of one program, naming things as the program does."""

    def __init__(self, graph: Graph, budget: _Budget) -> None:
        self.budget = budget
        self.inputs = {leaf: name for name, leaf in graph.inputs.items()}
        self.symbols = set(graph.inputs.values())
        self.order = list(graph.inputs.values())
        # A program's own names for its intermediate results, unless one is also an input's name.
        self.named = {v: name for name, v in graph.names.items() if name not in graph.inputs and v._prev}
        self.taken = set(graph.inputs) | set(graph.names) | set(FUNCTIONS) | set(CONSTANTS)

    def program(self, root: Value | None) -> Printed:
        """A program that computes ``root`` (0 when there is no gradient)."""
        if root is None:
            return Printed(("0",))
        order = topological_order(root)
        self.budget.charge(len(order))
        self.opaque: set[Value] = set()
        builder = GraphBuilder(lambda v: v not in self.symbols)
        rebuilt: dict[Value, Term] = {}
        for v in order:
            if v in self.symbols:
                rebuilt[v] = builder.term(v)
            elif not v._prev:
                rebuilt[v] = builder.number(v.data)
            else:
                rebuilt[v] = self._rebuild(builder, v._op, [rebuilt[c] for c in v._prev])
        named = {rebuilt[v].node: name for v, name in self.named.items() if v in rebuilt}
        # A second builder for the simplified graph: nodes the first one made are not reused by accident.
        fresh = GraphBuilder(lambda v: not v._prev and v not in self.symbols)  # only numbers fold
        simpler, kept = simplify(rebuilt[root].node, fresh, named, self.order, self.opaque)
        names = {kept[v]: name for v, name in named.items() if v in kept}
        return print_program(simpler, self.inputs, names, self.taken)

    def _rebuild(self, builder: GraphBuilder, name: str, args: list[Term]) -> Term:
        """``name`` applied to ``args``, with internal operations spelled out in the language."""
        spelling = _SPELLINGS.get(name, OPS[name].spelling)
        if spelling is None or all(a.const is not None for a in args):
            return builder.apply(name, *args)
        if name == "below" and any(a.const is not None and abs(a.const) <= 1.0 for a in args):
            spelling = BELOW_NEAR_NUMBER
        spelled = _spelled(spelling)
        inside: dict[Value, Term] = {v: builder.number(v.data) for v in spelled.constants}
        for var, arg in zip(("x", "y"), args, strict=False):
            inside[spelled.inputs[var]] = arg
        for v in spelled.nodes:
            inside[v] = self._rebuild(builder, v._op, [inside[c] for c in v._prev])
        if name not in _OPEN:
            self.opaque.add(inside[spelled.result].node)
        return inside[spelled.result]


def print_program(root: Value, leaves: dict[Value, str], names: dict[Value, str], taken: set[str]) -> Printed:
    """A program that computes ``root``: a statement per shared node, then the result.

    ``leaves`` names input leaves (other leaves are numbers); ``names`` are
    preferred names for intermediate nodes, each printed as a statement; other
    nodes used more than once get fresh names that avoid ``taken``.
    """
    order = topological_order(root)
    uses: dict[Value, int] = {}
    for v in order:
        for c in v._prev:
            uses[c] = uses.get(c, 0) + 1
    fresh = (f"t{i}" for i in itertools.count(1) if f"t{i}" not in taken)
    text: dict[Value, tuple[list[object], int]] = {}
    statements: list[str] = []
    for v in order:
        if not v._prev:
            text[v] = ([leaves[v]], ATOM) if v in leaves else _number(v.data)
            continue
        rope, level = _operation(v, [text[c] for c in v._prev])
        name = names.get(v)
        if name is None and uses.get(v, 0) > 1 and not _trivial(v):
            name = next(fresh)
        if name is not None and v is not root:
            statements.append(f"{name} = {_flatten(rope)}")
            text[v] = ([name], ATOM)
        else:
            text[v] = (rope, level)
    statements.append(_flatten(text[root][0]))
    return Printed(tuple(statements))


def _trivial(v: Value) -> bool:
    """Cheap to repeat: the negation of a name or number, or its power by a number (x^2)."""
    return v._op in ("neg", "^") and all(not c._prev for c in v._prev)


def _number(x: float) -> tuple[list[object], int]:
    s = repr(x).replace("e+", "e")  # shortest text that reads back to the same float
    if s.endswith(".0"):
        s = s[:-2]
    return [s], UNARY if s.startswith("-") else ATOM


def _wrap(part: tuple[list[object], int], least: int) -> list[object]:
    rope, level = part
    return rope if level >= least else ["(", rope, ")"]


def _operation(v: Value, parts: list[tuple[list[object], int]]) -> tuple[list[object], int]:
    """The text of one operation from its operands' texts, with the parentheses precedence needs."""
    op = v._op
    level = _LEVEL.get(op)
    if level is None:
        args: list[object] = [OPS[op].name, "("]
        for i, (rope, _) in enumerate(parts):
            args += [", ", rope] if i else [rope]
        return [*args, ")"], ATOM
    if op == "neg":
        rope, inner = parts[0]
        if inner == MUL:
            return ["-", rope], MUL  # -a*b reads as (-a)*b: the same number
        return ["-", _wrap(parts[0], UNARY)], UNARY
    left, right = parts
    if op == "^":
        # The exponent may carry a sign: x^-3, x^-y, x^-(a + b); -a^2 is -(a^2).
        return [_wrap(left, ATOM), "^", _wrap(right, UNARY)], POWER
    gap = " " if level == ADD else ""
    return [_wrap(left, level), f"{gap}{OPS[op].symbol}{gap}", _wrap(right, level + 1)], level


def _flatten(rope: list[object]) -> str:
    out: list[str] = []
    stack = [iter(rope)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)  # type: ignore[arg-type]
        else:
            stack.pop()
    return "".join(out)
