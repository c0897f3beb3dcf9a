"""The Hessian as a table for people (the JSON member is records.hessian_record).

rich is imported only to draw the table, so that ``--json`` never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..numbers import format_number, table_digits

if TYPE_CHECKING:
    from rich.console import Group, RenderableType


MAX_INPUTS = 12
"""Rows and columns of the table at most: past a dozen inputs it cannot be read anyway."""


def render_hessian(
    hessian: dict[str, dict[str, float]], digits: int | None = None, ascii: bool = False, inputs: int | None = None
) -> Group:
    """One row and one column per input; the cell in row a, column b is d/db (d/da).

    ``hessian`` may hold only the first MAX_INPUTS rows (each with every
    column) of a program with ``inputs`` inputs: all that is shown.

    Numbers have ``digits`` significant digits (TABLE_DIGITS when None), as in the display's tables;
    ``--json`` has every digit, and every input when there are more than
    ``MAX_INPUTS`` (2,000 inputs would be 4 million cells: a minute and
    gigabytes of rich layout for a table nobody can read).
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .check import head_rule

    names = list(hessian)[:MAX_INPUTS]
    total = len(hessian) if inputs is None else inputs
    digits = table_digits(digits)
    d = "d/d" if ascii else "∂/∂"
    table = Table(box=head_rule(ascii), pad_edge=False, show_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    for name in names:
        table.add_column(Text(f"{d}{name}"), justify="right", overflow="fold")
    for name in names:
        table.add_row(Text(f"{d}{name}"), *(format_number(hessian[name][other], digits) for other in names))
    title = "hessian: d2 result / d row d column" if ascii else "hessian: ∂²result/∂row ∂column"
    parts: list[RenderableType] = [Text(title), table]
    if total > len(names):
        more = "..." if ascii else "…"
        note = f"{more} the first {len(names)} of {total:,} inputs shown (--json has every entry)"
        parts.append(Text(note, style="bright_black"))
    return Group(*parts)
