"""``autodiff explain`` for people: a rich layout (the JSON object is records.explanation_record)."""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..explain import CONSTANT, INPUT, NUMBER, BackwardStep, Contribution, Explanation, ForwardStep
from ..numbers import format_number, table_digits
from ..text import clip, excerpt

__all__ = ["render_explanation"]

NODE = "bold cyan"
FORMULA = "yellow"
NOTE = "magenta"
QUIET = "dim"

# What a person is shown at most; --json has everything.
FORWARD_HEAD = 10  # forward steps from the start (the inputs)
FORWARD_TAIL = 20  # and those nearest the result
MAX_BACKWARD = 10  # backward steps, from the result down
MAX_RESULT_ROWS = 30  # gradients in the result table
HEADER_WIDTH = 160  # characters of a program line, and of the bindings
HEADER_LINES = 6

FORWARD_LEGEND = "Children before parents: every node is computed from values already known."
BACKWARD_LEGEND = (
    "grad of a node = ∂result/∂node. From the result down, each node passes "
    "(local derivative) × (its grad) to each child; a child reached more than once adds up what it gets."
)


# --- for people ----------------------------------------------------------------------


def render_explanation(e: Explanation, digits: int | None = None, ascii: bool = False) -> RenderableType:
    """The program, the forward pass as a table, the backward pass as one small tree per node.

    Bounded like the eval display: a 10,000-term sum shows the steps nearest
    the result and counts the rest (``--json`` has every step). The steps show
    numbers as the eval display's DAG does, to ``digits`` significant digits
    (TABLE_DIGITS when None); the bindings and the result table, like eval's
    result line, show every digit. ``ascii``: plain ASCII, as ``eval --ascii``.
    """
    digits = table_digits(digits)
    parts: list[RenderableType] = [_header(e), Text(""), _forward_table(e, digits), Text(FORWARD_LEGEND, style=QUIET), Text("")]
    parts.append(Text("Backward pass", style="bold"))
    parts.append(Text(BACKWARD_LEGEND, style=QUIET))
    if not e.backward:
        parts.append(Text(_leaf_result(e)))
    for number, step in enumerate(e.backward[:MAX_BACKWARD], 1):
        parts += [Text(""), _backward_tree(number, step, digits)]
    if len(e.backward) > MAX_BACKWARD:
        parts += [Text(""), Text("… " + _left_out(len(e.backward) - MAX_BACKWARD, "more steps"), style=NOTE)]
    parts += [Text(""), _result_table(e)]
    return _InAscii(Group(*parts)) if ascii else Group(*parts)


# The symbols the explanation writes, spelled in ASCII. None can be in a program's
# names (they are not identifier characters), so the program text is left as it was.
_ASCII = str.maketrans({"∂": "d", "×": "*", "→": "->", "←": "<-", "…": "..."})


class _InAscii:
    """A renderable drawn in ASCII: rich's ASCII boxes and tree guides, and the symbols above spelled out."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        options = options.copy()
        options.encoding = "ascii"  # what rich's ascii_only reads: boxes and guides in ASCII
        for segment in console.render(self.inner, options):
            yield Segment(segment.text.translate(_ASCII), segment.style, segment.control)


def _left_out(count: int, what: str) -> str:
    return f"{count:,} {what} left out (--json has them all)"


def _leaf_result(e: Explanation) -> str:
    step = next(s for s in e.forward if s.id == e.result)
    if step.kind == INPUT:
        return f"The result is the input {step.label} itself: its grad is ∂{step.label}/∂{step.label} = 1, with nothing below."
    return f"The result is the {step.kind} {step.label}: no operation, nothing to pass down."


def _header(e: Explanation) -> Text:
    text = Text("Explaining ", style="bold")
    lines = excerpt(e.expr, HEADER_WIDTH, HEADER_LINES).split("\n")
    if len(lines) == 1:
        text.append(lines[0], style=NODE)
    else:  # a program from a file: one statement per line, as written
        for line in lines:
            text.append("\n    " + line, style=NODE)
    if e.bindings:
        text.append("\n" if len(lines) > 1 or len(e.expr) > HEADER_WIDTH else "  ")
        text.append("at  " + clip(", ".join(f"{k} = {format_number(v)}" for k, v in e.bindings.items()), HEADER_WIDTH))
    return text


def _forward_table(e: Explanation, digits: int | None) -> Table:
    table = Table(title="Forward pass", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("node", style=NODE, no_wrap=True)
    table.add_column("computes")
    table.add_column("value", justify="left")
    steps = e.forward
    cut = len(steps) > FORWARD_HEAD + FORWARD_TAIL + 1
    for s in steps[:FORWARD_HEAD] if cut else steps:
        table.add_row(*_forward_row(e, s, digits))
    if cut:
        left = len(steps) - FORWARD_HEAD - FORWARD_TAIL
        table.add_row(Text("…", style=NOTE), Text(_left_out(left, "steps"), style=NOTE), Text(""))
        for s in steps[-FORWARD_TAIL:]:
            table.add_row(*_forward_row(e, s, digits))
    return table


def _forward_row(e: Explanation, s: ForwardStep, digits: int | None) -> tuple[Text, Text, Text]:
    """Cells as Text, never markup: a node's label comes from the program."""
    if s.kind == NUMBER:
        return Text(s.label, style=QUIET), Text("a number", style=QUIET), Text(format_number(s.value, digits), style=QUIET)
    if s.kind == CONSTANT:
        return Text(s.label), Text("a constant"), Text(format_number(s.value, digits))
    if not s.op:
        return Text(s.label), Text("an input"), Text(format_number(s.value, digits))
    # The operands as their own rows show them: one number, one way, on the whole screen.
    value = Text(s.arithmetic.format(*(format_number(x, digits) for x in s.arg_values)) + " = ")
    value.append(format_number(s.value, digits), style="bold")
    marker = "  ← the result" if s.id == e.result else ""
    value.append(marker, style=NOTE)
    return Text(s.label), Text(s.expr), value


def _backward_tree(number: int, step: BackwardStep, digits: int | None) -> Tree:
    head = Text(f"{number}. ")
    head.append(step.label, style=NODE)
    head.append(f" = {step.expr}", style="bold")
    head.append(f"    grad = {format_number(step.grad, digits)}")
    if step.is_result:
        head.append(f"  (the result: ∂{step.label}/∂{step.label} = 1)", style=QUIET)
    tree = Tree(head, guide_style=QUIET)
    if step.skipped:
        tree.add(Text(step.skipped, style=QUIET))
        return tree
    for c in step.contributions:
        tree.add(_contribution(step, c, digits))
    return tree


def _contribution(step: BackwardStep, c: Contribution, digits: int | None) -> Text:
    quiet = c.kind in (NUMBER, CONSTANT)
    text = Text(style=QUIET if quiet else "")
    text.append(f"∂{_wrapped(step.expr)}/∂{c.label}")
    if sum(1 for other in step.contributions if other.label == c.label) > 1:
        text.append(f" (argument {c.position + 1})")
    local = format_number(c.local, digits)
    if c.formula_here and c.formula_here != local:
        text.append(" = ")
        text.append(c.formula_here, style=FORMULA)
    text.append(f" = {local}")
    text.append(f"\n{c.label}.grad += {local} × {format_number(step.grad, digits)} = {format_number(c.contribution, digits)}")
    if c.accumulates:
        text.append(f"  →  {c.label}.grad = {format_number(c.grad_before, digits)} + {format_number(c.contribution, digits)} = ")
        text.append(format_number(c.grad_after, digits), style="bold")
        text.append(f"\n({c.label} is reached a {_ordinal(c.visit)} time: what it receives adds up)", style=NOTE)
    else:
        text.append(f"  →  {c.label}.grad = ")
        text.append(format_number(c.grad_after, digits), style="bold")
    if quiet:
        text.append(f"\n({c.label} is a {c.kind}: its gradient is computed but not reported)")
    return text


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _wrapped(expr: str) -> str:
    """``a*b`` as ``(a*b)``; a call such as ``tanh(n2)`` needs no more parentheses."""
    is_call = expr.endswith(")") and expr[0].isalpha()
    return expr if is_call or expr.isidentifier() else f"({expr})"


def _result_table(e: Explanation) -> Table:
    table = Table(title="Result", title_justify="left", title_style="bold", box=None, padding=(0, 1), show_header=False)
    table.add_column("name", no_wrap=True)
    table.add_column("exactly")
    table.add_column("what")
    table.add_row(Text(e.labels[e.result], style=NODE), format_number(e.value), Text("the value", style=QUIET))
    gradients = list(e.gradients.items())
    for name, g in gradients[:MAX_RESULT_ROWS]:
        table.add_row(Text(f"∂/∂{name}", style=NODE), format_number(g), Text(f"{name}.grad after the backward pass", style=QUIET))
    if len(gradients) > MAX_RESULT_ROWS:
        table.add_row(Text("…", style=NOTE), Text(_left_out(len(gradients) - MAX_RESULT_ROWS, "gradients"), style=NOTE))
    return table
