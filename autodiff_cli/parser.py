"""Source text to a graph of Value nodes, with errors that point into the source.

The builder is handed to lark's LALR parser, which calls it at every reduction:
the graph grows while the text is read, with no parse tree and no recursion,
so a 300,000-term sum or 100,000 nested parentheses parse like a short program.
Only structure is built here; ``program.Program`` computes the numbers.

From the second program a process parses on, the loop that drives the
builder is ``lalr.Driver``, lark's own tables run without lark's per-token
objects (about 3x faster); on a text that is not a program it steps aside and
lark's loop, the reference, finds and describes the error. The first program
goes through lark's loop, so that ``autodiff eval`` never builds the driver.
``LARK_LOOP = True`` uses lark's loop for everything.
"""

from __future__ import annotations

import gc
import os
import threading
from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from .bindings import name_problem, normalize_name
from .compiled import speedups
from .engine import Value, graph_leaf, graph_node
from .errors import LIMIT, NAME, OVERFLOW, SYNTAX, AutodiffError
from .graph import Graph  # defined there; importing it from here still works
from .ops import BINARY_OPERATORS, CONSTANTS, FUNCTIONS
from .syntax_errors import abbrev, syntax_error

if TYPE_CHECKING:  # lark itself loads with the first parse: `import autodiff_cli` stays light
    from lark import Lark, Token

    from . import lalr
    from .lalr import Driver

    AnyToken = Token | lalr.Token  # lark's loop hands the builder lark Tokens, the driver its 3-tuples

__all__ = ["Graph", "normalize_name", "parse"]

_AUGMENTED = {"+=": "+", "-=": "-", "*=": "*", "/=": "/"}
_BINARY_NAMES = {symbol: op.name for symbol, op in BINARY_OPERATORS.items()}


# Names other languages and textbooks give the functions autodiff has.
ALIASES = {
    "ln": "log",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "arsinh": "asinh",
    "arcsinh": "asinh",
    "arcosh": "acosh",
    "arccosh": "acosh",
    "artanh": "atanh",
    "arctanh": "atanh",
    "power": "pow",
    "logistic": "sigmoid",
}


class _Builder:
    """lark callbacks that grow the graph; one parse at a time (see ``parse``)."""

    def reset(self, source: str) -> None:
        self.source = source
        self.nodes: list[Value] = []
        self.positions = array("l")
        self.inputs: dict[str, Value] = {}
        self.input_positions: dict[str, tuple[int, int]] = {}
        self.constants: list[Value] = []
        self.env: dict[str, Value] = {}

    def _error(self, kind: str, message: str, tok: AnyToken) -> AutodiffError:
        return AutodiffError(kind, message, tok.line, tok.column, self.source)

    def _node(self, op: str, children: tuple[Value, ...], tok: AnyToken) -> Value:
        v = graph_node(children, op)
        self.nodes.append(v)
        self.positions.append(tok.line)  # type: ignore[arg-type]
        self.positions.append(tok.column)  # type: ignore[arg-type]
        return v

    def _name(self, tok: AnyToken) -> str:
        """The NFKC name of a NAME token; lark's NAME also matches x² and ½, which are not identifiers."""
        text: str = tok.value
        if text.isascii():
            return text  # NFKC leaves ASCII as it is
        problem = name_problem(text)
        if problem is not None:
            raise AutodiffError(SYNTAX, problem[1], tok.line, tok.column + problem[0], self.source)  # type: ignore[operator]
        return normalize_name(text)

    def _lookup(self, tok: AnyToken) -> Value:
        name = self._name(tok)
        v = self.env.get(name)
        if v is not None:
            return v
        v = self.inputs.get(name)
        if v is not None:
            return v
        if name in FUNCTIONS:
            raise self._error(NAME, f"{name} is a function; call it as {name}(...)", tok)
        v = graph_leaf(CONSTANTS.get(name, 0.0))
        self.inputs[name] = v
        self.input_positions[name] = (tok.line, tok.column)  # type: ignore[assignment]
        return v

    # --- lark callbacks, named by the grammar's aliases ---------------------------

    def number(self, tok: AnyToken) -> Value:
        x = float(tok.value)
        if x - x != 0.0:  # inf: a NUMBER token is never nan
            raise self._error(OVERFLOW, f"the number {abbrev(tok.value)} is too large for float64", tok)
        v = graph_leaf(x)
        self.constants.append(v)
        return v

    def name(self, tok: AnyToken) -> Value:
        text = tok.value  # the common case first: every operand comes through here
        if text.isascii():
            v = self.env.get(text)
            if v is None:
                v = self.inputs.get(text)
            if v is not None:
                return v
        return self._lookup(tok)

    def call(self, tok: AnyToken, *args: Value | None) -> Value:
        op = FUNCTIONS.get(tok.value)  # the common case first: a function of the language by its ASCII name
        if op is None or len(args) != op.arity or None in args or not tok.value.isascii():
            return self._call(tok, args)
        return self._node(op.name, args, tok)  # type: ignore[arg-type]  # no None among them

    def _call(self, tok: AnyToken, args: tuple[Value | None, ...]) -> Value:
        """A call as ``call`` has it, every case: names in any spelling, unknown functions, wrong arities."""
        name = self._name(tok)
        op = FUNCTIONS.get(name)
        if op is None:
            if name in self.env or name in self.inputs or name in CONSTANTS:
                raise self._error(NAME, f"{name} is a variable, not a function", tok)
            import difflib  # only for this message: it costs start-up time

            close = [ALIASES[name]] if name in ALIASES else difflib.get_close_matches(name, list(FUNCTIONS), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise self._error(NAME, f"unknown function {name}{hint}", tok)
        given = cast("tuple[Value, ...]", args) if None not in args else tuple(a for a in args if a is not None)  # None: f()
        if len(given) != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            raise self._error(NAME, f"{name} takes {op.arity} {plural}, got {len(given)}", tok)
        return self._node(op.name, given, tok)

    def binary(self, left: Value, tok: AnyToken, right: Value) -> Value:
        v = graph_node((left, right), _BINARY_NAMES[tok.value])  # _node, inlined: half the nodes are binary
        self.nodes.append(v)
        positions = self.positions
        positions.append(tok.line)  # type: ignore[arg-type]
        positions.append(tok.column)  # type: ignore[arg-type]
        return v

    def unary(self, tok: AnyToken, operand: Value) -> Value:
        if tok.value == "+":
            return operand
        return self._node("neg", (operand,), tok)

    def _bind(self, tok: AnyToken, value: Value) -> Value:
        name = self._name(tok)
        if name in FUNCTIONS:
            raise self._error(NAME, f"{name} is a function and cannot be assigned", tok)
        self.env[name] = value
        return value

    def assign(self, tok: AnyToken, value: Value) -> Value:
        return self._bind(tok, value)

    def augassign(self, tok: AnyToken, op: AnyToken, value: Value) -> Value:
        current = self._lookup(tok)
        return self._bind(tok, self._node(_AUGMENTED[op.value], (current, value), op))

    def bare(self, value: Value) -> Value:
        return value

    def start(self, *statements: Value) -> Graph:
        if not statements:
            raise AutodiffError(SYNTAX, "empty program: write an expression such as a*b", 1, 1, self.source)
        return Graph(
            self.source,
            self.nodes,
            self.positions,
            self.inputs,
            self.input_positions,
            self.constants,
            dict(self.env),
            statements[-1],
        )


class _Postlex:
    """Drop newlines inside parentheses, and remember the last tokens for messages."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.last: Token | None = None
        self.before_last: Token | None = None

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        self.last = self.before_last = None
        for tok in stream:
            kind = tok.type
            if kind == "LPAR":
                depth += 1
            elif kind == "RPAR":
                depth = max(0, depth - 1)
            elif kind == "_NL" and depth:
                continue
            self.before_last, self.last = self.last, tok
            yield tok

    def token_before(self, tok: Token | None) -> Token | None:
        """The token read just before ``tok`` (``tok`` may not have been read yet)."""
        return self.before_last if tok is not None and tok is self.last else self.last


class _Inline:
    """The builder's callbacks as lark calls them, with one list of children, spread into arguments.

    This is lark's ``v_args(inline=True)`` without importing lark: the builder
    is a plain class, so parser.py (and ``import autodiff_cli``) loads lark
    only when the first program is parsed.
    """

    def __init__(self, builder: _Builder) -> None:
        for name, attr in vars(_Builder).items():
            if callable(attr) and not name.startswith("_") and name != "reset":
                setattr(self, name, self._spread(getattr(builder, name)))

    @staticmethod
    def _spread(method: Callable[..., Any]) -> Callable[[list[Any]], Any]:
        return lambda children: method(*children)


_BUILDER = _Builder()
_CALLBACKS = _Inline(_BUILDER)  # what lark is given as its transformer
_POSTLEX = _Postlex()
_LOCK = threading.Lock()
_PARSER: Lark | None = None
_DRIVER: Driver | None = None

if hasattr(os, "register_at_fork"):  # POSIX
    # A fork copies only the forking thread: a parse under way in another (its lock, its paused
    # collector, lark half imported) would never end in the child. So a fork waits for it to end.
    os.register_at_fork(before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_LOCK.release)


class _NotYet(Exception):
    """Stands for an exception class of a module not imported yet (lark's, lalr's); never raised."""


# Filled in as lark and lalr load: an import statement on every parse costs more than the lookup.
_Unexpected: type[Exception] = _NotYet
_Reject: type[Exception] = _NotYet

_PARSED_ONE = False  # without the shipped plan, the first program goes through lark's loop (see _driver)

LARK_LOOP = False
"""True: parse with lark's own loop only, the reference ``lalr.Driver`` is tested against (about 3x slower)."""


def _parser() -> Lark:
    global _PARSER, _Unexpected
    if _PARSER is None:
        from lark.exceptions import UnexpectedInput

        from .parser_tables import load_parser

        _Unexpected = UnexpectedInput
        # From the tables shipped beside grammar.lark when current: building them costs ~25 ms.
        _PARSER = load_parser(transformer=_CALLBACKS, postlex=_POSTLEX)
    return _PARSER


def _callbacks() -> dict[str, Callable[..., Any]]:
    """The builder's methods by name, for the driver; with the compiled core, the three busiest in C.

    ``binary``, ``number`` and ``name`` are most of a parse's calls; the C
    versions (``_speedups.shortcuts``) do their common case and hand every
    other to the method itself, which stays the one definition.
    """
    methods = {name: getattr(_BUILDER, name) for name in vars(_CALLBACKS)}
    core = speedups()
    if core is not None:
        names = ("binary", "number", "name")
        methods.update(zip(names, core.shortcuts(_BUILDER, *(methods[n] for n in names), _BINARY_NAMES), strict=True))
    return methods


def _driver(first: bool = False) -> Driver | None:
    """The driver, from the shipped plan (no lark) or else from lark's parser; None for a first parse without a plan.

    Built from lark's parser, the driver costs ~6 ms, more than one parse
    saves: then the first program of a process goes through lark's loop.
    """
    global _DRIVER, _Reject
    if _DRIVER is None:
        from .lalr import Driver, Reject
        from .parser_tables import shipped_plan

        _Reject = Reject
        callbacks = _callbacks()
        plan = shipped_plan()
        if plan is not None:
            try:
                _DRIVER = Driver(plan, callbacks)
            except ValueError:  # a sealed plan that does not hang together: lark's parser, as if there were none
                plan = None
        if plan is None:
            if first:
                return None
            _DRIVER = Driver(_parser(), callbacks)
    return _DRIVER


MAX_PROGRAM_CHARS = 4_000_000
"""The longest program accepted: about ten seconds of parsing on a small machine.

A 300,000-term program is 2.4 MB; past this size a program fails with a
``limit`` error at once instead of keeping the user waiting.
"""


def parse(source: str) -> Graph:
    """Parse ``source`` into a Graph, or raise AutodiffError (syntax, name, overflow, limit)."""
    if len(source) > MAX_PROGRAM_CHARS:
        raise AutodiffError(
            LIMIT, f"the program has {len(source):,} characters; the limit is {MAX_PROGRAM_CHARS:,} (parse time grows with size)"
        )
    global _PARSED_ONE
    with _LOCK:
        # Parsing makes no reference cycles, so the cyclic collector only costs time here
        # (a batch runs under batch.few_collections already; a lone parse may not).
        _BUILDER.reset(source)
        collecting = gc.isenabled()
        gc.disable()
        try:
            driver = None if LARK_LOOP else _driver(first=not _PARSED_ONE)
            _PARSED_ONE = True
            if driver is not None:
                try:
                    return driver.parse(source)  # type: ignore[no-any-return]
                except _Reject:  # not a program: lark's loop finds the same error and says what it expected
                    _BUILDER.reset(source)
            return _parser().parse(source)  # type: ignore[return-value]
        except _Unexpected as err:
            error = syntax_error(err, source, _POSTLEX.token_before(getattr(err, "token", None)))  # type: ignore[arg-type]
        finally:
            _BUILDER.reset("")
            if collecting:
                gc.enable()
    # Raised out here, the error has no __context__: lark's exception holds parser state that
    # does not pickle, and tblib (imported by Dask) pickles the context along with an error.
    raise error
