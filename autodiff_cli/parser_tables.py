"""lark's LALR tables for grammar.lark, built ahead of time and shipped as JSON.

Building the parser from the grammar costs about 25 ms, most of the start-up
of a short ``autodiff eval``. lark can cache a built parser, but only as a
pickle in a shared temporary directory, and reading a pickle can run code.
These tables are plain JSON inside the package instead: written by
``python tools/build_parser_tables.py``, checked against a fresh build by the
tests, and used only if they were built from this very grammar by the installed
version of lark. Under another lark (the dependency range allows several) the
parser is built from the grammar once, and its tables are cached as JSON, never
pickle, in the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``,
``autodiff-cli/``) for the next start; a cache that cannot be written only
costs time. Stale tables, shipped or cached, are never used, so they can cost
time but never change a parse.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import lark
from lark import Lark

__all__ = ["OPTIONS", "TABLES_FILE", "build_parser", "dumps", "load_parser", "read_grammar", "tables"]

GRAMMAR_FILE = "grammar.lark"
TABLES_FILE = "grammar_tables.json"
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "maybe_placeholders": True,
    "propagate_positions": False,
}
"""How parser.py's Lark is configured; the callbacks (transformer, postlex) are given at load time."""

_RUNTIME = ("transformer", "postlex")


_HERE = os.path.dirname(os.path.abspath(__file__))


def _read(filename: str) -> str:
    # A plain path, not importlib.resources: that import alone costs ~2 ms of start-up.
    with open(os.path.join(_HERE, filename), encoding="utf-8") as f:
        return f.read()


def read_grammar() -> str:
    return _read(GRAMMAR_FILE)


def build_parser(grammar: str, **runtime: Any) -> Lark:
    """The slow way: lark analyses the grammar and builds the tables now."""
    return Lark(grammar, **OPTIONS, **runtime)


def tables(parser: Lark, grammar: str) -> dict[str, Any]:
    """What to ship: lark's own serialization of ``parser``, tagged with what it was built from."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k not in _RUNTIME}
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    return {"grammar": grammar, "lark": lark.__version__, "options": OPTIONS, "data": data, "memo": memo}


def dumps(built: dict[str, Any]) -> str:
    """JSON text of ``tables(...)``; int-keyed dicts and tuples are tagged so they read back unchanged."""
    return json.dumps(_encode(built), ensure_ascii=False, separators=(",", ":")) + "\n"


def loads(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text, object_hook=_decode)
    return loaded


def load_parser(**runtime: Any) -> Lark:
    """The parser for grammar.lark: from the shipped or cached tables if they are current, else built (and cached)."""
    grammar = read_grammar()
    for read in (lambda: _read(TABLES_FILE), _read_cache):
        stored = _current(read, grammar)
        if stored is not None:
            return Lark._load_from_dict(stored["data"], stored["memo"], **runtime)  # type: ignore[no-untyped-call, no-any-return]
    parser = build_parser(grammar, **runtime)
    _write_cache(parser, grammar)
    return parser


def cache_file() -> str:
    """Where tables built by this version of lark are kept between runs."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "autodiff-cli", f"grammar_tables-lark-{lark.__version__}.json")


def _read_cache() -> str:
    with open(cache_file(), encoding="utf-8") as f:
        return f.read()


def _current(read: Callable[[], str], grammar: str) -> dict[str, Any] | None:
    """The tables ``read`` gives if they were built from this grammar, by this lark, with these options."""
    try:
        stored = loads(read())
    except (OSError, ValueError):
        return None
    if (
        isinstance(stored, dict)
        and stored.get("grammar") == grammar
        and stored.get("lark") == lark.__version__
        and stored.get("options") == OPTIONS
    ):
        return stored
    return None


def _write_cache(parser: Lark, grammar: str) -> None:
    """Keep the tables for the next start; written whole, then renamed, so a reader never sees half a file."""
    path = cache_file()
    try:
        text = dumps(tables(parser, grammar))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except (OSError, AttributeError, TypeError, ValueError, KeyError):
        pass  # a read-only home, another lark's internals: the next start builds the parser again


def _canonical(table: dict[str, Any]) -> dict[str, Any]:
    """The same LALR table with states and tokens numbered in a fixed order.

    lark numbers them in set-iteration order, which changes from run to run;
    renumbering (tokens by name, states breadth-first from the start) makes
    the shipped file a function of the grammar alone, so a test can compare it.
    """
    names = table["tokens"]
    token_ids = {name: i for i, name in enumerate(sorted(names.values()))}
    states = table["states"]
    order: list[int] = []
    seen: set[int] = set()
    queue = [table["start_states"][k] for k in sorted(table["start_states"])]
    while queue:
        state = queue.pop(0)
        if state in seen:
            continue
        seen.add(state)
        order.append(state)
        for _, (kind, arg) in sorted(states[state].items(), key=lambda item: names[item[0]]):
            if kind == 0:  # shift: arg is the next state
                queue.append(arg)
    order += sorted(set(states) - seen)
    new_id = {old: i for i, old in enumerate(order)}
    new_states = {}
    for old in order:
        actions = {}
        for tok, (kind, arg) in states[old].items():
            actions[token_ids[names[tok]]] = (kind, new_id[arg] if kind == 0 else arg)
        new_states[new_id[old]] = dict(sorted(actions.items()))
    return {
        "tokens": {i: name for name, i in token_ids.items()},
        "states": new_states,
        "start_states": {k: new_id[v] for k, v in sorted(table["start_states"].items())},
        "end_states": {k: new_id[v] for k, v in sorted(table["end_states"].items())},
    }


# JSON has string keys and no tuples; lark's tables have int keys (states,
# token numbers, the memo) and tuples (actions), which it needs back as they were.


def _encode(x: Any) -> Any:
    if isinstance(x, dict):
        if all(type(k) is str for k in x):
            return {k: _encode(v) for k, v in x.items()}
        if all(type(k) is int for k in x):
            return {"__int_keys__": [[k, _encode(v)] for k, v in x.items()]}
    elif isinstance(x, tuple):
        return {"__tuple__": [_encode(v) for v in x]}
    elif isinstance(x, list):
        return [_encode(v) for v in x]
    elif x is None or type(x) in (str, int, float, bool):
        return x
    raise TypeError(f"cannot store {type(x).__name__} in the parser tables")


def _decode(d: dict[str, Any]) -> Any:
    if "__tuple__" in d and len(d) == 1:
        return tuple(d["__tuple__"])
    if "__int_keys__" in d and len(d) == 1:
        return {k: v for k, v in d["__int_keys__"]}
    return d
