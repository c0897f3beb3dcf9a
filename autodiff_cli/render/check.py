"""``eval --check`` for people: autodiff's gradients next to finite differences (JSON: records.check_record)."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..check import KINK, MISMATCH, OK, CheckReport, InputCheck
from ..numbers import format_number, table_digits
from ..text import printable

__all__ = ["head_rule", "render_check"]

STATUS_STYLE = {OK: "green", MISMATCH: "bold red", KINK: "yellow"}

MAX_ROWS = 30
"""Inputs in the table at most (every one that is not ok, if they fit); --json has them all."""


def head_rule(ascii: bool) -> box.Box:
    """A table's one rule, under its header: box drawing, or ``--`` for terminals without Unicode."""
    return box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True) if ascii else box.SIMPLE_HEAD


def render_check(report: CheckReport, digits: int | None = None, ascii: bool = False) -> RenderableType:
    """One row per input: autodiff, finite differences, relative error, verdict; notes below.

    Gradients have ``digits`` significant digits (TABLE_DIGITS when None), like
    every table; ``ascii`` draws the rule and the ellipsis in plain ASCII.
    """
    digits = table_digits(digits)
    verdict = "ok" if report.ok else "FAILED"
    title = Text(
        f"Finite-difference check: {verdict}, max relative error {report.max_rel_error:.2g} (tolerance {report.tolerance:g})",
        style="bold green" if report.ok else "bold red",
    )
    table = Table(box=head_rule(ascii), padding=(0, 1))
    table.add_column("input", style="bold cyan", no_wrap=True)
    table.add_column("autodiff", justify="right")
    table.add_column("finite differences", justify="right")
    table.add_column("rel. error", justify="right")
    table.add_column("")
    shown = _shown(report)
    for c in shown:
        fd = "-" if c.finite_difference is None else format_number(c.finite_difference, digits)
        rel = "-" if c.rel_error is None else f"{c.rel_error:.2g}"
        status = Text(c.status, style=STATUS_STYLE.get(c.status, "dim"))
        table.add_row(Text(c.name), format_number(c.autodiff, digits), fd, rel, status)
    notes = [Text(printable(f"{c.name}: {c.note}"), style="dim") for c in shown if c.note]
    left = len(report.inputs) - len(shown)
    if left:
        bad = sum(c.status != OK for c in report.inputs) - sum(c.status != OK for c in shown)
        which = f"{bad:,} of them not ok" if bad else "all ok"
        more = "..." if ascii else "…"
        notes.append(Text(f"{more} {left:,} more inputs, {which} (--json has every input)", style="dim"))
    return Group(title, table, *notes)


def _shown(report: CheckReport) -> list[InputCheck]:
    """At most MAX_ROWS inputs, in their order; an ok one never takes the place of one that is not."""
    room = MAX_ROWS - sum(c.status != OK for c in report.inputs)
    shown: list[InputCheck] = []
    for c in report.inputs:
        if c.status == OK:
            if room <= 0:
                continue
            room -= 1
        shown.append(c)
    return shown[:MAX_ROWS]
