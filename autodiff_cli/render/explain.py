"""``autodiff explain`` for people: a rich layout (the JSON object is records.explanation_record)."""

from __future__ import annotations

from collections.abc import Iterator

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..explain import CONSTANT, INPUT, NUMBER, BackwardStep, Contribution, Explanation, ForwardStep
from ..numbers import format_number, table_digits
from ..text import clip, excerpt, printable

__all__ = ["explanation_parts", "plain_steps", "render_explanation"]

NODE = "bold cyan"
FORMULA = "yellow"
NOTE = "magenta"
QUIET = "dim"

HEADER_WIDTH = 160  # characters of a program line, and of the bindings: the statements are shown whole below
HEADER_LINES = 6

FORWARD_LEGEND = "Children before parents: every node is computed from values already known."
BACKWARD_LEGEND = (
    "grad of a node = ∂result/∂node. From the result down, each node passes "
    "(local derivative) × (its grad) to each child; a child reached more than once adds up what it gets."
)


# --- for people ----------------------------------------------------------------------


def render_explanation(e: Explanation, digits: int | None = None, ascii: bool = False) -> RenderableType:
    """The whole explanation as one renderable: ``explanation_parts`` in a Group."""
    return Group(*explanation_parts(e, digits, ascii))


def explanation_parts(e: Explanation, digits: int | None = None, ascii: bool = False) -> Iterator[RenderableType]:
    """The program, the forward pass as a table, the backward pass as one small tree per node, made one by one.

    Every step is shown, as many as ``--json`` lists; the parts come one at a
    time, so that a long explanation starts at once and streams (the command
    line pages it when it is longer than the screen, as git does). A program
    whose statements hold several steps each is shown statement by statement,
    a heading for each. The steps show numbers as the eval display's DAG
    does, to ``digits`` significant digits (TABLE_DIGITS when None); the
    bindings and the result table, like eval's result line, show every digit.
    ``ascii``: plain ASCII, as ``eval --ascii``.
    """
    for part in _parts(e, table_digits(digits)):
        yield _InAscii(part) if ascii else part


def _parts(e: Explanation, digits: int | None) -> Iterator[RenderableType]:
    grouped = _grouped(e)
    yield from (_header(e), Text(""))
    yield from _forward_tables(e, digits, grouped)
    yield from (
        Text(FORWARD_LEGEND, style=QUIET),
        Text(""),
        Text("Backward pass", style="bold"),
        Text(BACKWARD_LEGEND, style=QUIET),
    )
    if not e.backward:
        yield Text(_leaf_result(e))
    statement = None
    for number, step in enumerate(e.backward, 1):
        if grouped and step.statement != statement:
            statement = step.statement
            yield from (Text(""), _heading(e, statement))
        yield from (Text(""), _backward_tree(number, step, digits))
    yield from (Text(""), _result_table(e))


# The symbols the explanation writes, spelled in ASCII. None can be in a program's
# names (they are not identifier characters), so the program text is left as it was.
_ASCII = str.maketrans({"∂": "d", "×": "*", "→": "->", "←": "<-", "…": "..."})


def plain_steps(e: Explanation, digits: int | None = None) -> list[tuple[str, str, list[str], list[str]]]:
    """Every step, forward then backward, as the text above prints it: (node id, heading, lines, ids it touches).

    For pictures that walk the steps one at a time (the HTML page of
    --graph html): the same words and numbers as the terminal, as plain text.
    The heading names the pass and the node but no number: the page numbers
    the steps once, as ``explain --json``'s ``step`` does, and a second count
    within the pass would read as a different step.
    """
    digits = table_digits(digits)
    steps = []
    for s in e.forward:
        node, computes, value = _forward_row(e, s, digits)
        heading = f"Forward pass: {node.plain}"
        steps.append((s.id, heading, [f"{node.plain}    {computes.plain}    {value.plain}"], list(s.args)))
    for b in e.backward:
        head = _backward_tree(None, b, digits).label
        heading = f"Backward pass: {head.plain if isinstance(head, Text) else head}"
        lines = [b.skipped] if b.skipped else [_contribution(b, c, digits).wide.plain for c in b.contributions]
        steps.append((b.id, heading, lines, [c.child for c in b.contributions]))
    return steps


class _InAscii:
    """A renderable drawn in ASCII: rich's ASCII boxes and tree guides, and the symbols above spelled out."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        options = options.copy()
        options.encoding = "ascii"  # what rich's ascii_only reads: boxes and guides in ASCII
        for segment in console.render(self.inner, options):
            yield Segment(segment.text.translate(_ASCII), segment.style, segment.control)


def _grouped(e: Explanation) -> bool:
    """Whether to show the steps statement by statement: when there are several and one holds more than one step."""
    counts: dict[int, int] = {}
    for step in e.backward:
        counts[step.statement] = counts.get(step.statement, 0) + 1
    return len(counts) > 1 and max(counts.values()) > 1


def _heading(e: Explanation, statement: int) -> Text:
    """A statement as a heading over its steps; the text is the program's, so escaped."""
    heading = Text(f"Statement {statement + 1} of {len(e.statements)}:  ", style="bold")
    heading.append(printable(e.statements[statement]) if 0 <= statement < len(e.statements) else "", style=NODE)
    return heading


def _negative_in_parentheses(number: str) -> str:
    """``-0.5`` as ``(-0.5)``, where a sign right after an operator would read as a second operator."""
    return f"({number})" if number.startswith("-") else number


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
        text.append("at  " + clip(", ".join(f"{k}={format_number(v)}" for k, v in e.bindings.items()), HEADER_WIDTH))
    return text


def _forward_tables(e: Explanation, digits: int | None, grouped: bool) -> list[RenderableType]:
    """The forward pass: one table, or (``grouped``) the leaves then a table per statement, titled with it.

    The tables of one pass share their column widths, so they read as one; a
    long one comes in chunks of CHUNK_ROWS rows, so the first screen of a
    10,000-node pass is drawn at once instead of after the whole table.
    """
    rows = [(s, _forward_row(e, s, digits)) for s in e.forward]
    widths = [max([len(header), *(cells[k].cell_len for _, cells in rows)]) for k, header in enumerate(_FORWARD_COLUMNS)]
    if not grouped:
        return _forward_chunks("Forward pass", [cells for _, cells in rows], widths, header=True)
    # A number is shown in the statement that first uses it, right before its use, not among the inputs.
    numbers = {s.id: cells for s, cells in rows if s.kind == NUMBER}
    groups: dict[int, list[tuple[Text, Text, Text]]] = {}
    for s, cells in rows:
        if s.op:
            group = groups.setdefault(s.statement, [])
            group += [numbers.pop(arg) for arg in dict.fromkeys(s.args) if arg in numbers]
            group.append(cells)
    leaves = [cells for s, cells in rows if not s.op and s.kind != NUMBER] + list(numbers.values())
    tables: list[RenderableType] = [Text("Forward pass", style="bold")]
    if leaves:
        tables += _forward_chunks(None, leaves, widths, header=True)
    for statement, group in groups.items():
        tables += _forward_chunks(_heading(e, statement), group, widths, header=len(tables) == 1)
    return tables


_FORWARD_COLUMNS = ("node", "computes", "value")
CHUNK_ROWS = 200


def _forward_chunks(
    title: str | Text | None, rows: list[tuple[Text, Text, Text]], widths: list[int], header: bool
) -> list[RenderableType]:
    if len(rows) <= CHUNK_ROWS:
        return [_forward_table(title, rows, widths, header)]
    # Without their blank top and bottom edges, and indented by the edge's one column instead.
    chunks: list[RenderableType] = [
        Padding(_forward_table(None, rows[k : k + CHUNK_ROWS], widths, header and k == 0, edge=False), (0, 0, 0, 1))
        for k in range(0, len(rows), CHUNK_ROWS)
    ]
    if title is not None:
        chunks.insert(0, Text(title, style="bold") if isinstance(title, str) else title)
    return [*chunks, Text("")]


def _forward_table(
    title: str | Text | None, rows: list[tuple[Text, Text, Text]], widths: list[int], header: bool, edge: bool = True
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        show_header=header,
        show_edge=edge,
    )
    for name, width in zip(_FORWARD_COLUMNS, widths, strict=True):
        table.add_column(name, style=NODE if name == "node" else "", no_wrap=name == "node", min_width=width)
    for cells in rows:
        table.add_row(*cells)
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
    operands = [format_number(x, digits) for x in s.arg_values]
    operands = [_negative_in_parentheses(x) if wrap else x for x, wrap in zip(operands, s.parenthesize, strict=False)]
    value = Text(s.arithmetic.format(*operands) + " = ")
    value.append(format_number(s.value, digits), style="bold")
    marker = "  ← the result" if s.id == e.result else ""
    value.append(marker, style=NOTE)
    return Text(s.label), Text(s.expr), value


def _backward_tree(number: int | None, step: BackwardStep, digits: int | None) -> Tree:
    head = Text(f"{number}. " if number is not None else "")
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


def _contribution(step: BackwardStep, c: Contribution, digits: int | None) -> _Fitting:
    """What ``step`` passes to one child; the running total goes on a line of its own when one line is too narrow."""
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
    grad, contribution = format_number(step.grad, digits), format_number(c.contribution, digits)
    text.append(f"\n{c.label}.grad += {local} × {_negative_in_parentheses(grad)} = {contribution}")
    total = Text(f"→  {c.label}.grad = ", style=QUIET if quiet else "")
    if c.accumulates:
        total.append(f"{format_number(c.grad_before, digits)} + {_negative_in_parentheses(contribution)} = ")
    total.append(format_number(c.grad_after, digits), style="bold")
    after = Text(style=QUIET if quiet else "")
    if c.accumulates:
        after.append(f"\n({c.label} is reached a {_ordinal(c.visit)} time: what it receives adds up)", style=NOTE)
    if quiet:
        after.append(f"\n({c.label} is a {c.kind}: its gradient is computed but not reported)")
    return _Fitting(Text.assemble(text, "  ", total, after), Text.assemble(text, "\n  ", total, after))


class _Fitting:
    """``wide`` where each of its lines fits the width it is given, else ``narrow``: a line breaks where it reads well."""

    def __init__(self, wide: Text, narrow: Text) -> None:
        self.wide, self.narrow = wide, narrow

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fits = all(cell_len(line) <= options.max_width for line in self.wide.plain.split("\n"))
        yield self.wide if fits else self.narrow


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
    # The program's own name for the result (L = ...); an unnamed one is "the result", not an id people never wrote.
    name, what = (e.labels[e.result], "the value") if e.result_named else ("result", f"the value ({e.result} above)")
    table.add_row(Text(name, style=NODE), format_number(e.value), Text(what, style=QUIET))
    for input_name, g in e.gradients.items():
        table.add_row(
            Text(f"∂/∂{input_name}", style=NODE),
            format_number(g),
            Text(f"{input_name}.grad after the backward pass", style=QUIET),
        )
    return table
