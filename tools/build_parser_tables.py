"""Rebuild autodiff_cli/grammar_tables.json and grammar_driver.json after changing grammar.lark or upgrading lark.

    python tools/build_parser_tables.py

tests/test_parser_tables.py fails until the shipped tables and the driver's plan
(lalr_plan.py) match a fresh build.
The file is sealed with its own SHA-256 (see parser_tables.py): edit the
grammar and rebuild, never the JSON by hand, or the package ignores it.
"""

from __future__ import annotations

import pathlib

from autodiff_cli import parser as autodiff_parser
from autodiff_cli import parser_tables

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli"
TARGET = PACKAGE / parser_tables.TABLES_FILE
PLAN_TARGET = PACKAGE / parser_tables.PLAN_FILE


def main() -> None:
    grammar = parser_tables.read_grammar()
    parser = parser_tables.build_parser(grammar)
    text = parser_tables.dumps(parser_tables.tables(parser, grammar))
    if parser_tables.read_tables(text.encode("utf-8"), grammar) is None:
        raise SystemExit("the tables just built do not pass their own checks (over MAX_TABLE_BYTES?)")
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(text)} characters)")
    # The plan comes from those very tables (lark numbers the states of a fresh build differently each
    # run; the shipped tables' numbering is canonical), read as parser.py runs them: behind its postlexer.
    running = parser_tables.load_parser(transformer=autodiff_parser._CALLBACKS, postlex=autodiff_parser._POSTLEX)
    plan = parser_tables.dumps(parser_tables.driver_plan(running, grammar))
    if parser_tables.read_plan(plan.encode("utf-8"), grammar) is None:
        raise SystemExit("the driver's plan just made does not pass its own checks")
    PLAN_TARGET.write_text(plan, encoding="utf-8")
    print(f"wrote {PLAN_TARGET} ({len(plan)} characters)")


if __name__ == "__main__":
    main()
