"""The LALR tables shipped as JSON: current, equivalent to building them, and never trusted when stale."""

from __future__ import annotations

import json
import pathlib

import lark
import pytest

from autodiff_cli import parser, parser_tables
from autodiff_cli.errors import AutodiffError

SHIPPED = pathlib.Path(parser_tables.__file__).with_name(parser_tables.TABLES_FILE)
CORPUS = pathlib.Path(__file__).parent / "data" / "cases.jsonl"
MORE = [
    "a +",
    "2a",
    "(a",
    "a)",
    "a = ",
    "= a",
    "f(",
    "sin(a,",
    "a\n+b",
    "(a\n+b)",
    "a;;b;",
    "x += 1",
    "a ^ -b ^ 2",
    "#c\na",
    "1e999",
    "a b",
    "3 = a",
    "a,b",
    "λ = 2; λ*x",
    "",
    "   ",
    ";",
    "a ** b",
    "pow(a)",
    "max(1,2,3)",
    "a@b",
    "sinn(x)",
    "sin = 2",
    "x(1)",
    "a +\n b",
    "(\n a +\n b\n)",
    "a = 1\n\n\nb = a*2 # note\nb",
]


def fresh() -> str:
    grammar = parser_tables.read_grammar()
    return parser_tables.dumps(parser_tables.tables(parser_tables.build_parser(grammar), grammar))


def test_the_shipped_tables_are_current() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped["grammar"] == parser_tables.read_grammar(), "grammar.lark changed: run tools/build_parser_tables.py"
    if shipped["lark"] != lark.__version__:
        # Tables from another lark are not used (see test_stale_tables_are_ignored); rebuild them to be fast again.
        pytest.skip(f"tables built with lark {shipped['lark']}, installed {lark.__version__}")
    assert SHIPPED.read_text(encoding="utf-8") == fresh(), "run tools/build_parser_tables.py"


def test_the_tables_are_the_same_from_run_to_run() -> None:
    assert fresh() == fresh()


def outcomes() -> list[tuple]:
    sources = [json.loads(line)["expr"] for line in CORPUS.read_text(encoding="utf-8").splitlines()] + MORE
    out = []
    for source in sources:
        try:
            graph = parser.parse(source)
            ops = [v._op for v in graph.nodes]
            out.append(("ok", ops, list(graph.inputs), list(graph.names), [c.data for c in graph.constants]))
        except AutodiffError as err:
            out.append((err.kind, err.message, err.line, err.column))
    return out


def test_loaded_and_built_parsers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "_PARSER", None)
    loaded = outcomes()
    assert parser._PARSER.source_path == "<deserialized>"  # the tables were used
    grammar = parser_tables.read_grammar()
    built = parser_tables.build_parser(grammar, transformer=parser._CALLBACKS, postlex=parser._POSTLEX)
    monkeypatch.setattr(parser, "_PARSER", built)
    assert outcomes() == loaded
    assert sum(1 for o in loaded if o[0] == "ok") > 400 and sum(1 for o in loaded if o[0] == "syntax") > 20


@pytest.mark.parametrize("change", ["grammar", "lark", "garbage", "missing"])
def test_stale_tables_are_ignored(change: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    stored = json.loads(SHIPPED.read_text(encoding="utf-8"))
    if change == "grammar":
        stored["grammar"] += "\n// changed"
    elif change == "lark":
        stored["lark"] = "0.0.1"
    text = "{not json" if change == "garbage" else json.dumps(stored)
    real_read = parser_tables._read

    def read(filename: str) -> str:
        if filename == parser_tables.TABLES_FILE:
            if change == "missing":
                raise FileNotFoundError(filename)
            return text
        return real_read(filename)

    monkeypatch.setattr(parser_tables, "_read", read)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # tables built here are cached there, not in ~/.cache
    built = parser_tables.load_parser(transformer=parser._CALLBACKS, postlex=parser._POSTLEX)
    assert built.source_path != "<deserialized>"  # built from grammar.lark instead
    monkeypatch.setattr(parser, "_PARSER", built)
    assert parser.parse("tanh(a*b+c)").result._op == "tanh"


def test_tables_are_read_with_json_not_pickle() -> None:
    source = pathlib.Path(parser_tables.__file__).read_text(encoding="utf-8")
    assert "import pickle" not in source and "pickle." not in source
    assert ".load(" not in source and ".save(" not in source  # lark's own cache format is a pickle
