"""Rebuild autodiff_cli/grammar_tables.json after changing grammar.lark or upgrading lark.

    python tools/build_parser_tables.py

tests/test_parser_tables.py fails until the shipped tables match a fresh build.
"""

from __future__ import annotations

import pathlib

from autodiff_cli import parser_tables

TARGET = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli" / parser_tables.TABLES_FILE


def main() -> None:
    grammar = parser_tables.read_grammar()
    text = parser_tables.dumps(parser_tables.tables(parser_tables.build_parser(grammar), grammar))
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(text)} characters)")


if __name__ == "__main__":
    main()
