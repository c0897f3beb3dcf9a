"""Rebuild autodiff_cli/grammar_tables.json after changing grammar.lark or upgrading lark.

    python tools/build_parser_tables.py

tests/test_parser_tables.py fails until the shipped tables match a fresh build.
The file is sealed with its own SHA-256 (see parser_tables.py): edit the
grammar and rebuild, never the JSON by hand, or the package ignores it.
"""

from __future__ import annotations

import pathlib

from autodiff_cli import parser_tables

TARGET = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli" / parser_tables.TABLES_FILE


def main() -> None:
    grammar = parser_tables.read_grammar()
    text = parser_tables.dumps(parser_tables.tables(parser_tables.build_parser(grammar), grammar))
    if parser_tables.read_tables(text.encode("utf-8"), grammar) is None:
        raise SystemExit("the tables just built do not pass their own checks (over MAX_TABLE_BYTES?)")
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(text)} characters)")


if __name__ == "__main__":
    main()
