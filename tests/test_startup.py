"""What start-up loads: --json never imports rich; the display does. Timings are in bench/bench_startup.py."""

from __future__ import annotations

import os
import subprocess
import sys


def imported(args: list[str]) -> set[str]:
    """Modules imported by ``python -m autodiff_cli ARGS``, as -X importtime reports them."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autodiff_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_json_never_imports_rich() -> None:
    modules = imported(["eval", "tanh(a*b+c)", "a=2", "b=3", "c=1", "--json"])
    assert "autodiff_cli.records" in modules  # the report is real
    assert not any(m == "rich" or m.startswith("rich.") for m in modules)


def test_the_exports_do_not_import_rich() -> None:
    for graph in ("dot", "mermaid"):
        modules = imported(["eval", "a*b", "a=2", "b=3", "--graph", graph])
        assert "autodiff_cli.render.export" in modules
        assert not any(m == "rich" or m.startswith("rich.") for m in modules)


def test_the_display_imports_rich() -> None:
    modules = imported(["eval", "a*b", "a=2", "b=3"])
    assert "rich.console" in modules
    assert "rich.table" not in modules  # the tables are drawn without it: it costs start-up time


def test_importing_the_package_loads_neither_click_nor_rich() -> None:
    code = "import sys, autodiff_cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
