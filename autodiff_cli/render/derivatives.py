"""Printed derivatives (``autodiff diff``): programs under comment headers, or one JSON object."""

from __future__ import annotations

from typing import Any

from ..symbolic import Derivatives


def render_derivatives(d: Derivatives) -> str:
    """Each derivative as a program under a ``# d/da`` header; every block runs as it is."""
    if not d.wrt:
        return "# the program has no inputs: every derivative is 0"
    blocks = []
    if d.second is None:
        for name, printed in d.first.items():
            blocks.append(f"# d/d{name}\n{printed.text()}")
    else:
        for name, row in d.second.items():
            for other, printed in row.items():
                blocks.append(f"# d/d{other} d/d{name}\n{printed.text()}")
    return "\n".join(blocks)


def derivatives_record(d: Derivatives) -> dict[str, Any]:
    """{"expr", "order", "derivatives"}: each derivative one line, statements separated by '; '."""
    if d.second is None:
        found: dict[str, Any] = {name: p.text("; ") for name, p in d.first.items()}
    else:
        found = {name: {other: p.text("; ") for other, p in row.items()} for name, row in d.second.items()}
    return {"expr": d.source, "order": 1 if d.second is None else 2, "derivatives": found}
