"""What ``lalr.Driver`` runs, as plain data: lark's parse table, rules and terminal pattern for grammar.lark.

``export`` reads it off a lark parser; ``load`` turns it back into the
states and rules the driver walks. ``tools/build_parser_tables.py`` ships it
as ``grammar_driver.json`` (sealed, as the tables are: parser_tables.py), so
a process that parses only valid programs never imports lark at all:
``autodiff eval`` starts about 30 ms sooner, a batch too. lark is still the
one source of the table (the plan is made from it and a test holds the
shipped one to a fresh export), and still the one source of every error
message: the driver rejects what it cannot read and lark's loop reads it
again.

The plan is keyed by the grammar alone: any LALR table for grammar.lark
accepts the same texts, whichever lark built it, and the driver's tokens
carry text and position only, never a terminal's name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["BLANKS", "FORMAT", "POSTLEX", "Plan", "Rule", "export", "load"]

FORMAT = 1
"""The plan's layout; a plan of another format is not read."""

POSTLEX = ("LPAR", "RPAR", "_NL")
"""The terminals of parser.py's postlexer, which the driver stands in for: open, close, and the newline dropped between them."""
BLANKS = " \t\f\r\v"
"""What the driver's pattern skips before a token; lark must skip each as an ignored terminal (checked)."""

STRAY = "_DRIVER_STRAY"  # the group that matches a character no terminal matches
# What the lexer does with a token, by terminal: flags (lalr.py reads them).
KEEP, IGNORE, COUNT, OPEN, CLOSE, NEWLINE, STOP = 1, 2, 4, 8, 16, 32, 64


class Symbol(NamedTuple):
    name: str
    is_term: bool
    filter_out: bool


class Options(NamedTuple):
    empty_indices: tuple[bool, ...]
    keep_all_tokens: bool
    expand1: bool


class Origin(NamedTuple):
    name: str


class Rule:
    """A rule as the driver reads it: lark's Rule, with only the fields lark's tree builder looks at."""

    __slots__ = ("alias", "expansion", "options", "origin")

    def __init__(self, origin: str, alias: str | None, expansion: list[Symbol], options: Options) -> None:
        self.origin = Origin(origin)
        self.alias = alias
        self.expansion = expansion
        self.options = options


class Plan(NamedTuple):
    start: int
    end: int
    states: dict[int, dict[str, tuple[None, int | Rule]]]  # per state, symbol -> (None, a shift's state or a rule)
    roles: dict[str | None, int]  # per terminal (None: the end of the text), its flags
    pattern: re.Pattern[str]  # every terminal, blanks skipped first, then a stray character or the end
    placeholders: bool


def _roles(root: Any, kept: set[str], open: str, close: str, newline: str) -> dict[str | None, int]:
    """Per terminal: keep it for a callback, skip it, count its newlines (as lark does), or track nesting."""
    roles: dict[str | None, int] = {}
    for name in root.terminals_by_name:
        flags = KEEP if name in kept else 0
        flags |= IGNORE if name in root.ignore_types else 0
        flags |= COUNT if name in root.newline_types else 0
        flags |= {open: OPEN, close: CLOSE, newline: NEWLINE}.get(name, 0)
        roles[name] = flags
    roles[STRAY] = roles[None] = STOP  # a stray character, or the end of the text
    return roles


def _pattern(contextual: Any, roles: dict[str | None, int], blanks: str) -> tuple[str, int]:
    """lark's pattern for every terminal, blanks skipped first, ending in a match for a stray character or the end.

    The driver reads the text with this one pattern instead of the pattern of
    the state it is in (lark's contextual lexer): a token read this way that
    the state accepts is the token the state's own pattern reads (the same
    alternatives in the same order, fewer of them), and a token the state
    does not accept has no action, so the driver rejects the text and lark's
    loop reads it again the contextual way. Skipping blanks inside the
    pattern reads what lark reads only if lark reads each blank as an
    ignored terminal, which is checked here.
    """
    root = contextual.root_lexer
    patterns = root.scanner._mres
    if len(patterns) != 1 or root.callback:  # a state's lexer has callbacks only if the root's has
        raise ValueError("the driver runs one pattern and no lexer callbacks")
    (pattern,) = patterns
    for ch in blanks:
        m = pattern.match(ch + blanks + "x")
        if m is None or not roles.get(m.lastgroup, 0) & IGNORE or m.group() != ch + blanks:
            raise ValueError(f"lark does not skip {ch!r} as a blank")
    return f"[{re.escape(blanks)}]*+(?:{pattern.pattern}|(?P<{STRAY}>[\\s\\S])|\\Z)", pattern.flags


def export(parser: Lark, open: str, close: str, newline: str, blanks: str) -> dict[str, Any]:
    """The plan of ``parser`` as JSON-able data; ``open``, ``close``, ``newline``: the postlexer's terminals."""
    frontend: Any = parser.parser
    table = frontend.parser.parser.parse_table
    if len(table.start_states) != 1 or frontend.lexer.postlexer.always_accept != (newline,):
        raise ValueError("the driver runs one start symbol and the newline postlexer only")
    (start,) = table.start_states.values()
    (end,) = table.end_states.values()
    rules = list(dict.fromkeys(arg for row in table.states.values() for _, arg in row.values() if not isinstance(arg, int)))
    number = {rule: i for i, rule in enumerate(rules)}
    kept = {sym.name for rule in rules for sym in rule.expansion if sym.is_term and not sym.filter_out}
    kept.add(newline)  # a newline is kept when it ends a statement
    roles = _roles(frontend.lexer.lexer.root_lexer, kept, open, close, newline)
    pattern, flags = _pattern(frontend.lexer.lexer, roles, blanks)
    if sorted(table.states) != list(range(len(table.states))):
        raise ValueError("the table's states are not numbered 0 to n - 1")
    return {
        "format": FORMAT,
        "start": start,
        "end": end,
        "pattern": pattern,
        "flags": flags,
        "roles": {str(name): role for name, role in roles.items() if name is not None},
        "end_role": roles[None],
        "placeholders": bool(parser.options.maybe_placeholders),
        "rules": [
            {
                "origin": str(rule.origin.name),  # lark's names may be Tokens, a str subclass: plain text here
                "alias": None if rule.alias is None else str(rule.alias),
                "expansion": [[str(s.name), bool(s.is_term), bool(getattr(s, "filter_out", False))] for s in rule.expansion],
                "expand1": bool(rule.options.expand1),
                "keep_all_tokens": bool(rule.options.keep_all_tokens),
                "empty_indices": [bool(e) for e in rule.options.empty_indices or ()],
            }
            for rule in rules
        ],
        # A shift is its state (>= 0), a reduction -1 - its rule's number.
        "states": [
            [[str(symbol), arg if isinstance(arg, int) else -1 - number[arg]] for symbol, (_, arg) in table.states[state].items()]
            for state in range(len(table.states))
        ],
    }


def load(plan: dict[str, Any]) -> Plan:
    """The states and rules of an exported plan; ValueError if it does not hang together (never a wrong table)."""
    try:
        if plan["format"] != FORMAT:
            raise ValueError(f"a plan of format {plan['format']!r}, not {FORMAT}")
        rules = [
            Rule(
                str(r["origin"]),
                None if r["alias"] is None else str(r["alias"]),
                [Symbol(str(name), bool(term), bool(out)) for name, term, out in r["expansion"]],
                Options(tuple(bool(e) for e in r["empty_indices"]), bool(r["keep_all_tokens"]), bool(r["expand1"])),
            )
            for r in plan["rules"]
        ]
        n = len(plan["states"])
        states: dict[int, dict[str, tuple[None, int | Rule]]] = {}
        for state, row in enumerate(plan["states"]):
            states[state] = {}
            for symbol, arg in row:
                if type(arg) is not int or not -len(rules) <= arg < n:
                    raise ValueError(f"state {state}: {arg!r} is no state and no rule")
                states[state][str(symbol)] = (None, arg if arg >= 0 else rules[-1 - arg])
        start, end = plan["start"], plan["end"]
        if type(start) is not int or type(end) is not int or not (0 <= start < n and 0 <= end < n):
            raise ValueError("the start or the end is no state")
        roles: dict[str | None, int] = {str(name): int(role) for name, role in plan["roles"].items()}
        roles[None] = int(plan["end_role"])
        pattern = re.compile(str(plan["pattern"]), int(plan["flags"]))
    except (KeyError, TypeError, IndexError, AttributeError, re.error) as err:
        raise ValueError(f"not a driver plan: {type(err).__name__}: {err}") from None
    return Plan(start, end, states, roles, pattern, bool(plan["placeholders"]))
