"""The golden pictures: which commands, and how to run them (shared with tools/regen_goldens.py).

Each case in data/golden/cases.json is an ``autodiff`` command run at a fixed
width with colour off; its expected output is data/golden/<name>.txt.
"""

from __future__ import annotations

import json
import pathlib

from click.testing import CliRunner

from autodiff_cli.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
CASES: list[dict] = json.loads((GOLDEN / "cases.json").read_text(encoding="utf-8"))
CLEAN_ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None, "TTY_COMPATIBLE": None}


def render(case: dict) -> tuple[int, str]:
    """Exit status and standard output of the case's command."""
    stdin = (ROOT / case["stdin"]).read_text(encoding="utf-8") if "stdin" in case else None
    result = CliRunner().invoke(main, case["args"], input=stdin, env=CLEAN_ENV)
    return result.exit_code, result.output


def expected(case: dict) -> str:
    return (GOLDEN / f"{case['name']}.txt").read_text(encoding="utf-8")
