"""Printed derivatives (``autodiff diff``): programs under comment headers (JSON: records.derivatives_record)."""

from __future__ import annotations

from ..derivatives import Derivatives


def render_derivatives(d: Derivatives) -> str:
    """Each derivative as a program under a ``# d/da`` header; every block runs as it is.

    Second derivatives are symmetric: each pair is printed once (d/db d/da for b at or after a).
    """
    if not d.wrt:
        return "# the program has no inputs: every derivative is 0"
    blocks = []
    if d.second is None:
        for name, printed in d.first.items():
            blocks.append(f"# d/d{name}\n{printed.text()}")
    else:
        for i, name in enumerate(d.wrt):
            for other in d.wrt[i:]:
                blocks.append(f"# d/d{other} d/d{name}\n{d.second[name][other].text()}")
    return "\n".join(blocks)
