"""A plain listing of a result, readable anywhere (no colour, no box drawing)."""

from __future__ import annotations

from ..program import Result


def render_plain(expr: str, result: Result) -> str:
    """The value, then one line per input with d(value)/d(input)."""
    lines = [f"{expr}", f"  value  {result.value!r}"]
    if result.gradients:
        width = max(len(name) for name in result.gradients)
        lines.append("  gradient")
        for name, g in result.gradients.items():
            lines.append(f"    d/d{name.ljust(width)}  {g!r}")
    return "\n".join(lines)
