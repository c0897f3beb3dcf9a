"""lark's LALR tables for grammar.lark, built ahead of time and shipped as JSON.

Building the parser from the grammar costs about 25 ms, most of the start-up
of a short ``autodiff eval``. lark can cache a built parser, but only as a
pickle in a shared temporary directory, and reading a pickle can run code.
These tables are plain JSON inside the package instead: written by
``python tools/build_parser_tables.py``, checked against a fresh build by the
tests. Under another lark (the dependency range allows several) the parser is
built from the grammar once, and its tables are cached as JSON, never pickle,
in the user's cache directory (``$XDG_CACHE_HOME`` if it is an absolute path,
else ``~/.cache``; ``autodiff-cli/``) for the next start.

Tables are trusted only after checks, shipped or cached alike: the file is a
regular file of at most ``MAX_TABLE_BYTES`` (a FIFO, a device, a directory or
a symlink in the cache is never read); it is sealed with the SHA-256 of its
own text, so an edit, a truncation or a torn write shows; and its key, the
SHA-256 of the grammar, the lark version and the options, is this run's key.
Anything else, and any exception while lark loads tables that passed, means
the parser is built from the grammar. The cache is written to a temporary
file in the same directory and renamed over the old one, so a reader sees a
whole file or the previous one; a cache that cannot be written only costs
time. The seal detects damage, not a forger: whoever can rewrite the cache
can also recompute the seal (or edit the installed package).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from typing import TYPE_CHECKING, Any

from . import lalr_plan

if TYPE_CHECKING:
    from lark import Lark

__all__ = [
    "MAX_TABLE_BYTES",
    "OPTIONS",
    "PLAN_FILE",
    "TABLES_FILE",
    "build_parser",
    "cache_file",
    "driver_plan",
    "dumps",
    "load_parser",
    "read_grammar",
    "read_plan",
    "read_tables",
    "shipped_plan",
    "tables",
    "tables_key",
]

GRAMMAR_FILE = "grammar.lark"
TABLES_FILE = "grammar_tables.json"
PLAN_FILE = "grammar_driver.json"
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "maybe_placeholders": True,
    "propagate_positions": False,
}
"""How parser.py's Lark is configured; the callbacks (transformer, postlex) are given at load time."""

MAX_TABLE_BYTES = 1 << 20
"""The largest tables file read (the tables are about 35 KB): a bigger one is not read at all."""

_RUNTIME = ("transformer", "postlex")
_HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(_HERE, TABLES_FILE)
"""The tables in the package (a module attribute, so tests can point it elsewhere)."""
SHIPPED_PLAN = os.path.join(_HERE, PLAN_FILE)
"""The driver's plan in the package (lalr_plan.py): what parses valid programs without importing lark."""

# The seal: the file starts with the SHA-256 of everything after this member,
# so it is checked on bytes before any JSON is decoded, and the file stays JSON.
_SEAL_START = b'{"sha256":"'
_SEAL_END = b'",'
_BODY = len(_SEAL_START) + 64 + len(_SEAL_END)


def read_grammar() -> str:
    # A plain path, not importlib.resources: that import alone costs ~2 ms of start-up.
    with open(os.path.join(_HERE, GRAMMAR_FILE), encoding="utf-8") as f:
        return f.read()


def _lark_version() -> str:
    import lark  # here, not above: the driver's plan is read without lark

    return str(lark.__version__)


def build_parser(grammar: str, **runtime: Any) -> Lark:
    """The slow way: lark analyses the grammar and builds the tables now."""
    from lark import Lark

    return Lark(grammar, **OPTIONS, **runtime)


def tables_key(grammar: str) -> str:
    """What tables must have been built from to be used: SHA-256 of the grammar, the lark version and the options."""
    what = json.dumps([grammar, _lark_version(), OPTIONS], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(what.encode("ascii")).hexdigest()


def plan_key(grammar: str) -> str:
    """What a driver plan must have been made from: SHA-256 of the grammar, the options and the plan's format.

    Not the lark version: any LALR table for the grammar accepts the same
    texts, and errors are lark's own whatever plan the driver ran.
    """
    what = json.dumps([grammar, OPTIONS, "driver plan", lalr_plan.FORMAT], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(what.encode("ascii")).hexdigest()


def driver_plan(parser: Lark, grammar: str) -> dict[str, Any]:
    """What to ship as PLAN_FILE: ``parser``'s plan (lalr_plan.export), tagged with what it was made from."""
    plan = lalr_plan.export(parser, *lalr_plan.POSTLEX, lalr_plan.BLANKS)
    return {"key": plan_key(grammar), "grammar": grammar, "plan": plan}


def read_plan(raw: bytes | None, grammar: str) -> dict[str, Any] | None:
    """The plan in ``raw`` if its seal holds and it was made from ``grammar``, else None."""
    stored = _unsealed(raw)
    if isinstance(stored, dict) and stored.get("key") == plan_key(grammar) and stored.get("grammar") == grammar:
        plan = stored.get("plan")
        return plan if isinstance(plan, dict) else None
    return None


def shipped_plan() -> dict[str, Any] | None:
    """The package's driver plan, or None if it is missing, damaged or made from another grammar."""
    return read_plan(_read_bounded(SHIPPED_PLAN, True), read_grammar())


def tables(parser: Lark, grammar: str) -> dict[str, Any]:
    """What to ship: lark's own serialization of ``parser``, tagged with what it was built from."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k not in _RUNTIME}
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    return {
        "key": tables_key(grammar),
        "grammar": grammar,
        "lark": _lark_version(),
        "options": OPTIONS,
        "data": data,
        "memo": memo,
    }


def dumps(built: dict[str, Any]) -> str:
    """JSON text of ``tables(...)``, sealed with its SHA-256; int-keyed dicts and tuples are tagged to read back unchanged."""
    text = json.dumps(_encode(built), ensure_ascii=True, separators=(",", ":"))  # ASCII: the patterns may hold lone surrogates
    if not text.startswith("{") or text == "{}":
        raise TypeError("the parser tables must be a non-empty dict")
    body = text[1:] + "\n"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{_SEAL_START.decode()}{digest}{_SEAL_END.decode()}{body}"


def read_tables(raw: bytes | None, grammar: str) -> dict[str, Any] | None:
    """The tables in ``raw`` if its seal holds and they were built from ``grammar`` by this lark with OPTIONS, else None."""
    stored = _unsealed(raw)
    if (
        isinstance(stored, dict)
        and stored.get("key") == tables_key(grammar)
        and stored.get("grammar") == grammar
        and stored.get("lark") == _lark_version()
        and stored.get("options") == OPTIONS
        and isinstance(stored.get("data"), dict)
        and isinstance(stored.get("memo"), dict)
    ):
        return stored
    return None


def _unsealed(raw: bytes | None) -> Any:
    """What ``raw`` holds if it is a sealed file of ``dumps`` and its seal holds, else None."""
    if raw is None or len(raw) > MAX_TABLE_BYTES or not raw.startswith(_SEAL_START) or raw[_BODY - 2 : _BODY] != _SEAL_END:
        return None
    if hashlib.sha256(raw[_BODY:]).hexdigest().encode("ascii") != raw[len(_SEAL_START) : _BODY - 2]:
        return None  # edited, truncated or torn
    try:
        return json.loads(raw.decode("utf-8"), object_hook=_decode)
    except Exception:  # not UTF-8, not JSON, too deep, a tag that does not decode: build instead
        return None


def load_parser(**runtime: Any) -> Lark:
    """The parser for grammar.lark: from the shipped or cached tables if they pass every check, else built (and cached)."""
    from lark import Lark

    grammar = read_grammar()
    for path, follow in ((SHIPPED, True), (cache_file(), False)):
        stored = read_tables(_read_bounded(path, follow), grammar) if path is not None else None
        if stored is None:
            continue
        try:
            loaded: Lark = Lark._load_from_dict(stored["data"], stored["memo"], **runtime)  # type: ignore[no-untyped-call]
            if _closed(loaded):
                return loaded
        except Exception:  # sealed yet unloadable (another lark's internals): build instead, never fail
            pass
    parser = build_parser(grammar, **runtime)
    _write_cache(parser, grammar)
    return parser


def _closed(parser: Lark) -> bool:
    """The loaded table hangs together: every state and rule it names exists (else lark fails mid-parse)."""
    table: Any = parser.parser.parser.parser.parse_table
    rules = set(parser.rules)
    named: set[int] = {*table.start_states.values(), *table.end_states.values()}
    for row in table.states.values():
        for _, arg in row.values():
            if isinstance(arg, int):
                named.add(arg)
            elif arg not in rules:
                return False
    return all(state in table.states for state in named)


def cache_file() -> str | None:
    """Where tables built by this version of lark are kept between runs; None if there is no absolute place for them.

    The XDG Base Directory spec: a relative ``$XDG_CACHE_HOME`` is ignored,
    and so is a home that is not an absolute path (the cache would land
    wherever the process happens to run).
    """
    root = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(root):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        root = os.path.join(home, ".cache")
    return os.path.join(root, "autodiff-cli", f"grammar_tables-lark-{_lark_version()}.json")


def _read_bounded(path: str, follow: bool) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of at most MAX_TABLE_BYTES, else None; never blocks.

    ``follow`` False refuses a symlink (the cache directory is writable by
    the user's other programs; the package directory may hold symlinks).
    The type and size are checked before opening, so a FIFO or a device is
    never opened, and again on the open file, which may have been swapped.
    """
    try:
        info = os.stat(path, follow_symlinks=follow)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TABLE_BYTES:
            return None
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags if follow else flags | getattr(os, "O_NOFOLLOW", 0))
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TABLE_BYTES:
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_TABLE_BYTES:  # the size may have grown since fstat: read one byte past the cap at most
            chunk = os.read(fd, MAX_TABLE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= MAX_TABLE_BYTES else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_cache(parser: Lark, grammar: str) -> None:
    """Keep the tables for the next start: written whole to a temporary file, then renamed over the old one.

    Two processes writing at once each rename a whole file of their own, so
    the last rename wins and a reader sees one of them, never a mix.
    """
    path = cache_file()
    if path is None:
        return
    temporary = None
    try:
        data = dumps(tables(parser, grammar)).encode("utf-8")
        if len(data) > MAX_TABLE_BYTES:
            return  # it would not be read back
        import tempfile  # only when the cache is written, which is rare

        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".grammar_tables-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
        temporary = None
    except Exception:  # a read-only home, a full disk, another lark's internals: the next start builds again
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


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
