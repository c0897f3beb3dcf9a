"""``eval --check``: autodiff's gradients next to finite differences, for people and for JSON."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..check import KINK, MISMATCH, OK, CheckReport, InputCheck
from ..numbers import format_number, table_digits
from ..text import printable
from .machine import finite_or_text

__all__ = ["check_record", "render_check"]

STATUS_STYLE = {OK: "green", MISMATCH: "bold red", KINK: "yellow"}

MAX_ROWS = 30
"""Inputs in the table at most (every one that is not ok, if they fit); --json has them all."""


def _number(x: float | None) -> float | str | None:
    return None if x is None else finite_or_text(x)


def check_record(report: CheckReport) -> dict[str, Any]:
    """The ``check`` member of ``eval --check --json``.

    ``finite_differences`` has one member per input, like ``gradients``
    (null where no step kept the program evaluable); ``details`` says how each
    was obtained and why an input was not compared.
    """
    return {
        "finite_differences": {k: _number(v) for k, v in report.finite_differences.items()},
        "max_rel_error": finite_or_text(report.max_rel_error),
        "tolerance": report.tolerance,
        "ok": report.ok,
        "details": {
            c.name: {
                "status": c.status,
                "method": c.method,
                "rel_error": _number(c.rel_error),
                "resolution": finite_or_text(c.resolution),
                "left": _number(c.left),
                "right": _number(c.right),
                "note": c.note,
            }
            for c in report.inputs
        },
    }


def render_check(report: CheckReport, digits: int | None = None) -> RenderableType:
    """One row per input: autodiff, finite differences, relative error, verdict; notes below.

    Gradients have ``digits`` significant digits (TABLE_DIGITS when None), like every table.
    """
    digits = table_digits(digits)
    verdict = "ok" if report.ok else "FAILED"
    title = Text(
        f"Finite-difference check: {verdict}, max relative error {report.max_rel_error:.2g} (tolerance {report.tolerance:g})",
        style="bold green" if report.ok else "bold red",
    )
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1))
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
        notes.append(Text(f"… {left:,} more inputs, {which} (--json has every input)", style="dim"))
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
