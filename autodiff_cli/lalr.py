"""A tight LALR loop over lark's own tables, calling the builder directly.

lark's LALR parser spends most of a short program's parse in generic
machinery: a Token (a ``str`` subclass) per token, a generator per stage
(lexer, postlexer, parser), and three or four wrapper calls per reduction
(child filters, single-child expansion, the ``v_args`` spread). ``Driver``
runs the very same parse table, and lark's own regular expression for the
terminals, in one loop: tokens are small tuples, chain reductions
(``expr: term``) cost no call, and every other reduction calls the builder's
method with its children spread. The table comes as a plan
(lalr_plan.py): shipped beside the grammar, so that valid programs parse
without importing lark, or exported from the lark parser ``parser_tables``
loads.

The driver only knows how to succeed. At the first character no terminal
matches, or the first token the table has no action for, it raises
``Reject``, and the caller parses the text again with lark's own loop, which
finds the same error and describes it (expected tokens, the token before):
error messages come from one place, and errors are rare.

grammar.lark stays the one definition of the language: nothing here names a
rule, and the only terminals named are the three the postlexer handles.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .compiled import speedups
from .lalr_plan import BLANKS, CLOSE, COUNT, IGNORE, KEEP, NEWLINE, OPEN, POSTLEX, STOP, export, load

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["COMPILED", "Driver", "Reject", "Token"]

# The compiled core (_speedups.c, built by `pip install .` where a C compiler is): the same loop in C.
# AUTODIFF_PURE_RUNTIME=1 ignores it, so that the pure loop can be tested where it is installed.
_compiled = speedups()
_Loop: Any = None if _compiled is None else _compiled.Loop
COMPILED = _Loop is not None
"""True when ``Driver`` runs its loop in C (the compiled core)."""


class Token(NamedTuple):
    """What a builder callback reads of a token: the same three fields lark's Token has."""

    value: str
    line: int
    column: int


class Reject(Exception):
    """The text is not in the language; lark's own loop will say why."""


Gather = Callable[[list[Any]], list[Any]]
# The callback, which children it gets (None: all), and those children's places when it only drops some.
Reduction = tuple[Callable[..., Any], Gather | None, tuple[int, ...] | None]
_END = "$END"
_END_GROUP = 0  # the end of the text, among the terminals' group numbers (group 0 is no terminal's)
_NOWHERE = (-1, None)  # where a token the table has no action for leads


def _gather(include: list[tuple[int, bool, int]], append_none: int) -> Gather:
    """lark's child filter: keep some children, splice inlined ``_rule`` lists, insert placeholders."""

    def gather(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for i, splice, nones in include:
            out += [None] * nones
            if splice:
                out += values[i]
            else:
                out.append(values[i])
        out += [None] * append_none
        return out

    return gather


def _pick(include: list[tuple[int, bool, int]], append_none: int) -> Gather:
    """``_gather``, or the same as one C call when it only drops children (anonymous tokens such as "(")."""
    if append_none or any(splice or nones for _, splice, nones in include):
        return _gather(include, append_none)
    kept = [i for i, _, _ in include]
    if len(kept) > 1:
        return operator.itemgetter(*kept)
    return operator.itemgetter(slice(kept[0], kept[0] + 1) if kept else slice(0, 0))  # a list, as for many


def _children(*children: Any) -> list[Any]:
    """An inlined ``_rule``: its children, to be spliced into its parent's."""
    return list(children)


def _only(child: Any) -> Any:
    return child


def _single_or(method: Callable[..., Any]) -> Callable[..., Any]:
    """``?rule``: one child stands for itself, several go to ``method``."""
    return lambda *children: children[0] if len(children) == 1 else method(*children)


def _reduction(rule: Any, callbacks: dict[str, Callable[..., Any]], placeholders: bool) -> Reduction | None:
    """What reducing ``rule`` calls, as lark's ParseTreeBuilder would wrap the callback; None: keep the one child."""
    size = len(rule.expansion)
    flags = list(rule.options.empty_indices) if placeholders and rule.options.empty_indices else [False] * size
    include: list[tuple[int, bool, int]] = []
    nones = 0
    symbols = iter(enumerate(rule.expansion))
    for empty in flags:
        if empty:
            nones += 1
            continue
        i, sym = next(symbols)
        if rule.options.keep_all_tokens or not (sym.is_term and sym.filter_out):
            include.append((i, not sym.is_term and sym.name.startswith("_"), nones))
            nones = 0
    single = rule.options.expand1 and not rule.alias
    name = rule.alias or rule.origin.name
    gather = None if include == [(i, False, 0) for i in range(size)] and not nones else _pick(include, nones)
    picked = any(splice or n for _, splice, n in include) or nones
    kept = None if gather is None or picked else tuple(i for i, _, _ in include)
    if single and size == 1 and gather is None:
        return None  # a chain rule, expr: term
    method = callbacks.get(name)
    if method is None:
        if name.startswith("_"):
            method = _children
        elif single and len(include) == 1 and not nones and not include[0][2]:
            method = _only  # "(" expr ")"
        else:
            raise ValueError(f"no callback for rule {name}")
    elif single:
        method = _single_or(method)
    return method, gather, kept


def _loop(
    states: dict[int, dict[str, tuple[Any, Any]]],
    reductions: dict[Any, Reduction | None],
    groups: dict[str, int],
    start: int,
    end: int,
    roles: dict[int | None, int],
) -> Any:
    """The same table as integer arrays, for the compiled loop (None without one): nothing in C knows the grammar.

    Actions by state and terminal (its group number): 0 none, ``s + 1`` shift
    to ``s``, ``-r - 1`` reduce by rule ``r``; gotos by state and the rule's
    origin; per rule its size and callback (None: a chain rule, whose one
    child stands for it) and the children the callback gets.
    """
    if _Loop is None:
        return None
    rules = list(reductions)

    def _done(rule: Any) -> Reduction:
        return reductions[rule] or (_only, None, (0,))

    number = {rule: i for i, rule in enumerate(rules)}
    origins = {
        name: i for i, name in enumerate(sorted({symbol for row in states.values() for symbol in row if not symbol.isupper()}))
    }
    kinds = max(groups.values()) + 1
    action, go = [0] * (len(states) * kinds), [-1] * (len(states) * len(origins))
    for state, row in states.items():
        for symbol, (_, arg) in row.items():
            if not symbol.isupper():
                go[state * len(origins) + origins[symbol]] = arg
            else:
                action[state * kinds + groups[symbol]] = arg + 1 if isinstance(arg, int) else -number[arg] - 1
    # A chain rule, or one that keeps a single child as it is ("(" expr ")"), calls nothing: method None.
    done = [
        (None, None, kept) if method is _only and kept is not None else (method, gather, kept)
        for method, gather, kept in map(_done, rules)
    ]
    return _Loop(
        n_states=len(states),
        n_kinds=kinds,
        n_origins=len(origins),
        start=start,
        end=end,
        action=action,
        go=go,
        size=[len(rule.expansion) for rule in rules],
        origin=[origins[rule.origin.name] for rule in rules],
        picks=[kept for _, _, kept in done],
        methods=tuple(method for method, _, _ in done),
        gathers=tuple(None if kept is not None else gather for _, gather, kept in done),
        roles=[roles.get(group, -1) for group in range(max(group or 0 for group in roles) + 1)],
        token=Token,
        reject=Reject,
    )


class Driver:
    """lark's parse table and contextual lexer, run in one loop that calls ``callbacks`` by rule alias.

    ``source`` is lark's parser, or the plan exported from one (lalr_plan.py:
    the same table as plain data, which needs no lark). ``callbacks`` maps a
    rule's alias (or name) to the builder method lark would call; rules named
    ``_...`` with no callback are inlined into their parent, as lark does.
    ``open``, ``close`` and ``newline`` name the terminals of the postlexer
    this loop stands in for: a ``newline`` between ``open`` and ``close`` is
    dropped.
    """

    def __init__(
        self,
        source: Lark | dict[str, Any],
        callbacks: dict[str, Callable[..., Any]],
        open: str = POSTLEX[0],
        close: str = POSTLEX[1],
        newline: str = POSTLEX[2],
        blanks: str = BLANKS,
        compiled: bool = COMPILED,
    ) -> None:
        plan = load(source if isinstance(source, dict) else export(source, open, close, newline, blanks))
        self.start, self.end = plan.start, plan.end
        rules = {arg for row in plan.states.values() for _, arg in row.values() if not isinstance(arg, int)}
        self.scan = plan.pattern.finditer
        # Terminals go by their group's number in the scanner's pattern from here on:
        # a match's group by number costs less than by name. Group 0 stands for the end.
        groups: dict[str, int] = {**plan.pattern.groupindex, _END: _END_GROUP}
        if not set(plan.roles) - {None} <= set(groups):
            raise ValueError("the plan gives roles to terminals its pattern does not have")
        self.roles: dict[int | None, int] = {groups[name]: flags for name, flags in plan.roles.items() if name is not None}
        self.roles[None] = plan.roles[None]
        reductions = {rule: _reduction(rule, callbacks, plan.placeholders) for rule in rules}
        self.loop = _loop(plan.states, reductions, groups, self.start, self.end, self.roles) if compiled else None
        if compiled and self.loop is None:
            raise ValueError("the compiled core is not loaded (not built, or AUTODIFF_PURE_RUNTIME=1)")
        # The Python loop's tables: built only where it runs (they cost more than the C loop's arrays).
        self.actions: list[dict[Any, Any]] = self._actions(plan.states, reductions, groups) if self.loop is None else []

    def _actions(
        self, states: dict[int, dict[str, tuple[Any, Any]]], reductions: dict[Any, Reduction | None], groups: dict[str, int]
    ) -> list[dict[int, Any]]:
        """Per state, token (its group number) to a shift (the next state, an int) or a reduction (size, after, method, gather).

        ``after`` maps the state uncovered by the reduction to, per token, the
        state the parser lands in and what it does there, chain rules already
        followed: with ``expr: term: unary: power: primary`` an operand costs
        one reduction, not five.
        """
        goto: dict[str, dict[int, int]] = {}
        for state, row in states.items():
            for symbol, (_, arg) in row.items():
                if not symbol.isupper():
                    goto.setdefault(symbol, {})[state] = arg

        code = groups.__getitem__

        def land(below: int, state: int) -> dict[int, tuple[int, Any]]:
            landed: dict[int, tuple[int, Any]] = {_END_GROUP: (state, None)} if state == self.end else {}
            for kind in filter(str.isupper, states[state]):
                at, action = state, states[state][kind][1]
                while action is not None and not isinstance(action, int) and reductions[action] is None:
                    at = goto[action.origin.name][below]
                    action = states[at].get(kind, (None, None))[1]
                landed[code(kind)] = (at, None if action is None else encode(action))
            return landed

        def encode(action: Any) -> Any:
            if isinstance(action, int):
                return action
            method, gather, _ = reductions[action] or (_only, None, None)  # a chain rule here only if not after a goto
            return len(action.expansion), after[action.origin.name], method, gather

        # Every origin's map exists before any is filled: encode() refers to them.
        after: dict[str, dict[int, dict[int, tuple[int, Any]]]] = {
            name: {below: {} for below in targets} for name, targets in goto.items()
        }
        for name, targets in goto.items():
            for below, state in targets.items():
                after[name][below].update(land(below, state))
        rows = (states[state] for state in range(len(states)))
        return [{code(kind): encode(arg) for kind, (_, arg) in row.items() if kind.isupper()} for row in rows]

    def parse(self, text: str) -> Any:
        """What the start rule's callback returns, or ``Reject`` if ``text`` is not in the language.

        The compiled core's loop when the driver has one (the same steps, in C); else this function,
        one function on purpose: this is the loop every token goes through, and a call per token costs.
        """
        if self.loop is not None:
            return self.loop.run(text, self.scan(text))
        actions, roles, end_state, new = self.actions, self.roles, self.end, tuple.__new__
        end, keep, ignore, count, open, close, newline, stop = (
            _END_GROUP,
            KEEP,
            IGNORE,
            COUNT,
            OPEN,
            CLOSE,
            NEWLINE,
            STOP,
        )  # flags: lalr_plan
        states = [self.start]
        values: list[Any] = []
        line, line_start, depth = 1, 0, 0
        tokens = self.scan(text)
        kind: int | None
        while True:
            kind, tok = end, None
            for m in tokens:  # the next token
                kind = m.lastindex  # the terminal's own group: its inner groups close before it
                role = roles[kind]
                if role == keep:
                    tok = new(Token, (m.group(kind), line, m.start(kind) - line_start + 1))  # type: ignore[arg-type]
                    break
                if role & stop:
                    if kind is not None:
                        raise Reject
                    kind, tok = end, None
                    break
                value, start = m.group(kind), m.start(kind)  # type: ignore[arg-type]  # kind None has the stop role
                tok = new(Token, (value, line, start - line_start + 1)) if role & keep else None
                if role & count and "\n" in value:
                    line += value.count("\n")
                    line_start = start + value.rindex("\n") + 1
                if role & ignore:
                    kind = end
                    continue
                if role & open:
                    depth += 1
                elif role & close:
                    depth = max(0, depth - 1)
                elif role & newline and depth:
                    kind = end
                    continue
                break
            action = actions[states[-1]].get(kind)
            while True:  # reduce until the token can be shifted
                if action.__class__ is int:
                    states.append(action)
                    values.append(tok)
                    break
                if action is None:
                    raise Reject
                size, after, method, gather = action
                if size == 1 and gather is None:
                    del states[-1]
                    value = method(values.pop())
                elif size:
                    children = values[-size:]
                    del values[-size:]
                    del states[-size:]
                    value = method(*children) if gather is None else method(*gather(children))
                else:
                    value = method() if gather is None else method(*gather([]))
                state, action = after[states[-1]].get(kind, _NOWHERE)
                states.append(state)
                values.append(value)
                if state == end_state and kind == end:
                    return value
