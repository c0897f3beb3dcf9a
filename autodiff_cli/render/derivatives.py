"""Printed derivatives (``autodiff diff``): programs under comment headers (JSON: records.derivatives_record)."""

from __future__ import annotations

from ..derivatives import Derivatives


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
