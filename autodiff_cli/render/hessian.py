"""The Hessian as a table for people, and as the JSON member the machine format adds."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .machine import finite_or_text


def render_hessian(hessian: dict[str, dict[str, float]], digits: int = 10) -> Group:
    """One row and one column per input; the cell in row a, column b is d/db (d/da).

    Cells show ``digits`` significant digits so that a few inputs fit a terminal;
    ``--json`` has every digit.
    """
    names = list(hessian)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("", style="bold")
    for name in names:
        table.add_column(f"d/d{name}", justify="right", overflow="fold")
    for name in names:
        table.add_row(f"d/d{name}", *(f"{hessian[name][other]:.{digits}g}" for other in names))
    return Group(Text("hessian"), table)


def hessian_record(hessian: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The ``hessian`` member of ``eval --json``: {"a": {"a": ..., "b": ...}, ...}."""
    return {name: {other: finite_or_text(x) for other, x in row.items()} for name, row in hessian.items()}
