"""An oracle for the DAG picture that trusts nothing but the drawn characters (used by test_render_oracle.py).

The picture is read back the way a person reads it: labels are the text
between the lines, each label's line is followed to the labels it reaches,
and the operands of each operation are put in order by where their lines
enter its bus (top first) or by the operand marks ``1``/``2`` where drawn.
The graph read back this way must be the program's graph: the same
operations on the same operands in the same order, with the same names,
values and gradients. Nothing of the layout's own view (boxes, users, rows)
is used, so a picture with two operands swapped fails here.
"""

from __future__ import annotations

import math
import re

from autodiff_cli.engine import Value, topological_order
from autodiff_cli.numbers import format_number
from autodiff_cli.ops import OPS
from autodiff_cli.render.layout import UNICODE, cell_width

# directions each glyph connects: up, down, left, right
JOINS = {glyph: dirs for dirs, glyph in UNICODE.joins.items()}
LINES = set(JOINS) | {"│", "─", "↓"}
SYMMETRIC = {"+", "*", "min", "max"}
NUMBER = r"-?(?:inf|nan|\d+(?:\.\d*)?(?:e-?\d+)?)"
LABEL = re.compile(
    rf"^(?:\[(?P<op>[^\]]+)\]→ ?)?(?:(?P<name>[^\s(]+)\((?P<named>{NUMBER})\)|(?P<value>{NUMBER})|(?P<more>⋯|\.\.\.))?"
    rf"(?: ?(?:∂|g=)(?P<grad>{NUMBER}))?$"
)
HEAD = re.compile(r"^(?:\[(?P<op>[^\]]+)\]→?)? ?(?P<name>[^\s(=∂][^\s(∂]*)?$")


class Misdrawn(AssertionError):
    pass


def grid_of(lines: list[str]) -> list[list[str]]:
    """Terminal cells: a wide letter fills two (itself, then ''); a combining mark rides on its letter."""
    grid = []
    for line in lines:
        cells: list[str] = []
        for ch in line:
            w = cell_width(ch)
            if w == 0 and cells:
                cells[-1] += ch
                continue
            cells.append(ch)
            cells.extend([""] * (w - 1))
        grid.append(cells)
    return grid


def _at(grid: list[list[str]], r: int, c: int) -> str:
    return grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else " "


MARKS = {"①": 1, "②": 2}
"""The operand marks: a picture in plain ASCII marks the first operand alone (``*``, read as ① once translated)."""


def _is_mark(grid: list[list[str]], r: int, c: int) -> bool:
    """An operand mark: ① or ② just left of a bus that takes a line from the left, or on a line going down."""
    if _at(grid, r, c) not in MARKS:
        return False
    right = JOINS.get(_at(grid, r, c + 1))
    if right is not None and right[2] and (right[0] or right[1]):
        return True
    above, below = _at(grid, r - 1, c), _at(grid, r + 1, c)
    return (above == "│" or JOINS.get(above, (0, 0))[1]) and (below == "│" or JOINS.get(below, (1, 0))[0])


WIRE = set("-|+*")


def unicode_of(lines: list[str]) -> list[str]:
    """A plain-ASCII picture in the characters the reader knows, each ``+`` as the join its neighbours make.

    A ``-`` is a line where it touches another stroke or an operation's
    ``[`` (``=-0.5`` and ``[-]`` are text), a ``|`` above a label is the arrow into it and a ``+`` under
    one the line out of it (top to bottom),
    ``*`` on a line is the first operand's mark, ``]>`` is the arrow into a
    label. Two ``+`` one above the other are read as joined, as a person
    would read them: a drawing that puts two unjoined buses so is misread.
    """
    grid = [list(line) for line in lines]

    def at(r: int, c: int) -> str:
        return grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else " "

    wire: set[tuple[int, int]] = set()
    changed = True
    while changed:  # a stroke is a line where it touches one: grow from the unambiguous | and +-
        changed = False
        for r, row in enumerate(grid):
            for c, ch in enumerate(row):
                if (r, c) in wire or ch not in WIRE:
                    continue
                side = [(r, c - 1), (r, c + 1)]
                ends = [(r - 1, c), (r + 1, c)]
                near = [p for p in side if p in wire] + [
                    p for p in ends if p in wire and at(*p) in "|+*"
                ]  # joins grow from lines
                if (
                    ch == "|"
                    or (ch in "+*" and near)
                    or (ch == "-" and (any(at(*p) in "-+|*" for p in side) or at(r, c + 1) == "["))
                ):
                    wire.add((r, c))
                    changed = True
    out = []
    for r, row in enumerate(grid):
        cells = []
        for c, ch in enumerate(row):
            if (r, c) not in wire:
                cells.append("→" if ch == ">" and at(r, c - 1) == "]" else ch)
            elif ch == "-":
                cells.append("─")
            elif ch == "|":
                below = at(r + 1, c)
                cells.append("↓" if below.strip() and below not in WIRE else "│")
            elif ch == "*":
                cells.append("①")
            else:
                above = at(r - 1, c)
                dirs = (
                    ((r - 1, c) in wire and above in "|+*")
                    or (above.strip() != "" and above not in WIRE and at(r - 1, c - 1) == " "),  # out of a label's first letter
                    (r + 1, c) in wire and at(r + 1, c) in "|+*",
                    (r, c - 1) in wire and at(r, c - 1) in "-+*",
                    (r, c + 1) in wire and at(r, c + 1) in "-+*",
                )
                cells.append(UNICODE.joins.get(dirs, "?"))
        out.append("".join(cells))
    return out


def assert_labels_clear(lines: list[str]) -> None:
    """Every label stands apart from the lines of other nodes, so that no one reads it as theirs.

    A value or gradient line (``=``, ``∂``) is directly under its own label
    (labels_of checks that) and has nothing of a line in its columns or the
    column either side, and no line ends or turns within three columns to its
    left: ``x ───┐ ∂-0.78`` reads as x's gradient.
    """
    grid = grid_of(lines)
    for lab in labels_of(grid):  # a label's first line is text between lines: its own come in and go out there
        for line in lab.extra:
            cells = [_at(grid, line.row, c) for c in range(line.col - 1, line.end + 2)]
            if any(ch in LINES or ch in MARKS for ch in cells):
                raise Misdrawn(f"a line runs through {line.text!r} at row {line.row}")
            left = [_at(grid, line.row, c) for c in range(max(0, line.col - 3), line.col)]
            if any((ch in LINES and ch != "│") or ch in MARKS for ch in left):
                raise Misdrawn(f"{line.text!r} at row {line.row} sits right after another node's line")


class Label:
    def __init__(self, row: int, col: int, text: str, end: int) -> None:
        self.row, self.col, self.text, self.end = row, col, text, end  # end: last cell
        self.extra: list[Label] = []  # further lines under it
        self.operands: list[tuple[tuple[int, int], Label]] = []  # (entry row, mark order), operand


def labels_of(grid: list[list[str]]) -> list[Label]:
    """The labels: text between lines, split where two spaces meet; a line starting = or ∂ belongs to the label above."""
    found: list[Label] = []
    for r, cells in enumerate(grid):
        c = 0
        while c < len(cells):
            if cells[c] in LINES or cells[c] == " " or _is_mark(grid, r, c):
                c += 1
                continue
            start = c
            while c < len(cells) and cells[c] not in LINES and not _is_mark(grid, r, c):
                if cells[c] == " " and _at(grid, r, c + 1) in (" ", *LINES):
                    break
                c += 1
            found.append(Label(r, start, "".join(cells[start:c]), c - 1))
    labels = []
    lines: dict[tuple[int, int], Label] = {}  # where each line of a label starts
    for lab in found:
        if lab.text[:1] in ("=", "∂") or lab.text.startswith("g="):  # a further line of the label right above (the compact form)
            above = lines.get((lab.row - 1, lab.col))
            if above is None:
                raise Misdrawn(f"{lab.text!r} at row {lab.row}, column {lab.col} is under no label")
            above.extra.append(lab)
            lines[(lab.row, lab.col)] = above
        else:
            labels.append(lab)
            lines[(lab.row, lab.col)] = lab
    return labels


def _no_strays(grid: list[list[str]], labels: list[Label], owner: dict, walked: set[tuple[int, int]]) -> None:
    """Every stroke belongs to a label or to a line that was followed."""
    label_cells = set(owner) | {(x.row, c) for lab in labels for x in lab.extra for c in range(x.col, x.end + 1)}
    strays = [
        (r, c)
        for r, cells in enumerate(grid)
        for c, ch in enumerate(cells)
        if ch.strip() and (r, c) not in label_cells and (r, c) not in walked
    ]
    if strays:
        raise Misdrawn(f"strokes that belong to no edge: {strays[:5]}")


def _follow_down(grid: list[list[str]], labels: list[Label], owner: dict, walked: set[tuple[int, int]]) -> None:
    """Top to bottom: a line leaves under a label's first letter, runs down, along buses, and down into labels."""
    for source in labels:
        bottom = max([source.row, *(x.row for x in source.extra)])
        start = _at(grid, bottom + 1, source.col)
        if start != "│" and not JOINS.get(start, (0,))[0]:
            continue  # no line out: the result
        todo: list[tuple[int, int, str, tuple[int, int] | None, int]] = [(bottom + 1, source.col, "D", None, 0)]
        seen = set()
        while todo:
            state = todo.pop()
            if state in seen:
                continue
            seen.add(state)
            r, c, d, entry, mark = state
            if (r, c) in owner:
                target = owner[(r, c)]
                if d != "D" or c != target.col or r != target.row:
                    raise Misdrawn(f"a line runs into the middle of a label at row {r}, column {c}")
                target.operands.append((entry or (c, 0), source))
                continue
            ch = _at(grid, r, c)
            walked.add((r, c))
            step = {"R": (r, c + 1), "L": (r, c - 1), "D": (r + 1, c)}
            if d == "D" and _is_mark(grid, r, c):
                todo.append((*step["D"], "D", entry, MARKS[ch]))
            elif (d == "D" and ch in ("│", "↓")) or (d in "LR" and ch in ("│", "─")):
                todo.append((*step[d], d, entry, mark))
            elif ch in JOINS:
                up, down, left, right = JOINS[ch]
                if not {"D": up, "R": left, "L": right}[d]:
                    raise Misdrawn(f"{ch!r} at row {r}, column {c} does not join a line arriving going {d}")
                if d == "D":  # coming down onto a bus: where this operand comes in
                    entry, mark = (c, mark), 0
                for ok, nd in ((down, "D"), (left and d != "R", "L"), (right and d != "L", "R")):
                    if ok:
                        todo.append((*step[nd], nd, entry, mark))
            else:
                raise Misdrawn(f"the line breaks at row {r}, column {c} ({ch!r}, going {d})")


def read_back(lines: list[str]) -> list[Label]:
    """Follow each label's line; give every label its operands, in the order the drawing gives them."""
    grid = grid_of(lines)
    labels = labels_of(grid)
    owner = {(lab.row, c): lab for lab in labels for c in range(lab.col, lab.end + 1)}
    walked: set[tuple[int, int]] = set()
    if any("↓" in line for line in lines):
        _follow_down(grid, labels, owner, walked)
    for source in labels if not any("↓" in line for line in lines) else []:
        r, c = source.row, source.end + 2
        if _at(grid, r, source.end + 1) != " " or _at(grid, r, c) not in ("─", *[g for g, d in JOINS.items() if d[2]]):
            continue  # no line out: the result
        todo: list[tuple[int, int, str, tuple[int, int] | None]] = [(r, c, "R", None)]
        seen = set()
        while todo:
            r, c, d, entry = todo.pop()
            if (r, c, d, entry) in seen:
                continue
            seen.add((r, c, d, entry))
            if (r, c) in owner:
                target = owner[(r, c)]
                if d != "R" or c != target.col:
                    raise Misdrawn(f"a line runs into the middle of a label at row {r}, column {c}")
                target.operands.append((entry or (r, 0), source))
                continue
            ch = _at(grid, r, c)
            walked.add((r, c))
            step = {"R": (r, c + 1), "U": (r - 1, c), "D": (r + 1, c)}
            if d == "R" and (ch in ("─", "│") or _is_mark(grid, r, c)):
                todo.append((*step["R"], "R", entry))
            elif d in "UD" and ch == "│":
                todo.append((*step[d], d, entry))
            elif ch in JOINS:
                up, down, left, right = JOINS[ch]
                if not {"R": left, "U": down, "D": up}[d]:
                    raise Misdrawn(f"{ch!r} at row {r}, column {c} does not join a line arriving going {d}")
                if d == "R":  # entering a bus from the left: where this operand comes in, and its mark
                    entry = (r, MARKS[_at(grid, r, c - 1)] if _is_mark(grid, r, c - 1) else 0)
                for ok, nd in ((up and d != "D", "U"), (down and d != "U", "D"), (right, "R")):
                    if ok:
                        todo.append((*step[nd], nd, entry))
            else:
                raise Misdrawn(f"the line breaks at row {r}, column {c} ({ch!r}, going {d})")
    _no_strays(grid, labels, owner, walked)
    for lab in labels:
        sources = [id(s) for _, s in lab.operands]
        if len(set(sources)) != len(sources):  # two ways in: the order cannot be read
            raise Misdrawn(f"{lab.text!r} is joined to one operand in two places")
        marks = [m for (_, m), _ in lab.operands]
        if any(marks):
            lab.operands.sort(key=lambda e: e[0][1] or 2)  # in ASCII only the first is marked
        else:
            lab.operands.sort(key=lambda e: e[0][0])
    return labels


# --- comparing with the graph ------------------------------------------------------------------


def _close(text: str, x: float) -> bool:
    """Whether ``text`` is ``x`` rounded to the significant digits it shows (1.2 for 1.18, 1.000 for 0.9999).

    Within half a unit of the last digit shown, at the shown number's own
    magnitude: 0.95 is not 0.9926 (which shows as 0.99), although both are
    within 5% of each other (the bound a relative tolerance of one digit gave,
    and which once paired two [tanh] labels the wrong way round).
    """
    shown = float(text)
    if math.isnan(x) or math.isinf(x):
        return text == format_number(x)
    if shown == 0:
        return x == 0
    digits = len(text.partition("e")[0].lstrip("-").replace(".", "").lstrip("0")) or 1
    half_unit = 0.51 * 10 ** (math.floor(math.log10(abs(shown))) - digits + 1)
    return abs(shown - x) <= half_unit


def _names(graph) -> dict[Value, set[str]]:
    out: dict[Value, set[str]] = {}
    for name, v in [*graph.inputs.items(), *graph.names.items()]:
        out.setdefault(v, set()).add(name)
    return out


def _fields(lab: Label) -> dict[str, str | None]:
    """Operation, name, value and gradient as the label writes them."""
    if not lab.extra:
        m = LABEL.match(lab.text)
        if m is None:
            raise Misdrawn(f"cannot read the label {lab.text!r}")
        return m.groupdict()
    # a compact label: "[op]→ name" (either may be missing), then "=value", then "∂grad"
    m = HEAD.match(lab.text)
    texts = [x.text for x in lab.extra]
    if m is None or len(texts) != 2 or not texts[0].startswith("=") or not texts[1].startswith(("∂", "g=")):
        raise Misdrawn(f"cannot read the label {[lab.text, *texts]!r}")
    value, grad = texts[0][1:], texts[1].removeprefix("g=").removeprefix("∂")
    if not re.fullmatch(NUMBER, value) or not re.fullmatch(NUMBER, grad):
        raise Misdrawn(f"cannot read the numbers of {[lab.text, *texts]!r}")
    return {"op": m["op"], "name": m["name"], "named": value if m["name"] else None, "value": value, "grad": grad}


def constant_values(graph) -> set[int]:
    """ids of the Values with no input or name below them, the result aside: the numbers a picture folds."""
    named = {id(v) for v in [*graph.inputs.values(), *graph.names.values()]}
    out: set[int] = set()
    for v in topological_order(graph.result):
        if id(v) not in named and v is not graph.result and all(id(c) in out for c in v._prev):
            out.add(id(v))
    return out


FOLDED_NUMBER = rf"(?:{NUMBER}|\({NUMBER}\))"


def _folded_ok(op: str | None, v: Value, consts: set[int]) -> bool:
    """``op`` writes ``v``'s operation with its constant operands' values in: [^2], [*0.5], [1-·], [atan2(·, 2)]."""
    if op is None:
        return False
    spec = OPS[v._op]
    sym = spec.symbol
    kinds = [id(c) in consts for c in v._prev]
    if sym and len(kinds) == 2:
        if kinds[1] or (kinds[0] and v._op in SYMMETRIC):
            pattern, numbers = re.escape(sym) + f"({FOLDED_NUMBER})", [v._prev[1] if kinds[1] else v._prev[0]]
        else:
            pattern, numbers = f"({FOLDED_NUMBER})" + re.escape(sym) + "[·_]", [v._prev[0]]
    else:
        args = [f"({FOLDED_NUMBER})" if k else "[·_]" for k in kinds]
        pattern = re.escape(spec.name) + r"\(" + ", ".join(args) + r"\)"
        numbers = [c for c, k in zip(v._prev, kinds, strict=False) if k]
    m = re.fullmatch(pattern, op)
    return m is not None and all(_close(t.strip("()"), c.data) for t, c in zip(m.groups(), numbers, strict=False))


def _op_ok(op: str | None, v: Value, names: dict[Value, set[str]], consts: set[int] = frozenset()) -> bool:
    if not v._prev:
        return op is None
    if any(id(c) in consts for c in v._prev):
        return _folded_ok(op, v, consts)
    spec = OPS[v._op]
    written = spec.symbol or spec.name
    if op == written:
        return True
    if len(v._prev) == 2 and v._prev[0] is v._prev[1]:  # [c*c]: one operand drawn, named twice
        return any(op in (f"{n}{written}{n}", f"{written}({n}, {n})") for n in names.get(v._prev[0], {"·"}))
    return False


def assert_drawn_as_graph(lines: list[str], graph, folded: bool = False) -> None:
    """The picture, read back from its characters alone, is ``graph`` with operands in order.

    ``folded``: constants are in their users' labels, not nodes of their own.
    """
    labels = read_back(lines)
    consts = constant_values(graph) if folded else set()
    nodes = [v for v in topological_order(graph.result) if id(v) not in consts]
    names = _names(graph)
    roots = [lab for lab in labels if not any(lab is s for other in labels for _, s in other.operands)]
    assert len(roots) == 1, f"{len(roots)} labels lead nowhere: {[r.text for r in roots]}"
    assert len(labels) == len(nodes), f"{len(labels)} labels for {len(nodes)} nodes"
    match: dict[int, Label] = {}

    def pair(v: Value, lab: Label) -> None:
        if id(v) in match:
            if match[id(v)] is not lab:
                raise Misdrawn(f"a node is drawn twice: {lab.text!r} and {match[id(v)].text!r}")
            return
        if any(lab is m for m in match.values()):
            raise Misdrawn(f"the label {lab.text!r} stands for two nodes")
        match[id(v)] = lab
        f = _fields(lab)
        assert _op_ok(f["op"], v, names, consts), f"{lab.text!r}: operation should be {v._op}"
        name = f["name"]
        assert set(name.split("=")) == names[v] if name else v not in names, f"{lab.text!r}: names {names.get(v)}"
        value = f["named"] or f["value"]
        assert value is not None and _close(value, v.data), f"{lab.text!r}: value should be {v.data}"
        if v._prev or v in names:
            assert f["grad"] is not None and _close(f["grad"], v.grad), f"{lab.text!r}: gradient should be {v.grad}"
        children = [c for c in dict.fromkeys(v._prev) if id(c) not in consts]
        drawn = [s for _, s in lab.operands]
        assert len(drawn) == len(children), f"{lab.text!r} has {len(drawn)} operands drawn, {len(children)} in the graph"
        if v._op in SYMMETRIC and len(children) == 2:
            # Order does not matter: pair by what the labels say, and where both orders fit the labels
            # (two [tanh] of the same rounded value), by what lies below them: the first order that reads back.
            orders = [o for o in (drawn, drawn[::-1]) if all(_fits(c, s) for c, s in zip(children, o, strict=True))]
            for order in orders[:-1]:
                saved = dict(match)
                try:
                    for c, s in zip(children, order, strict=True):
                        pair(c, s)
                    return
                except AssertionError:
                    match.clear()
                    match.update(saved)
            drawn = orders[-1] if orders else drawn
        for c, s in zip(children, drawn, strict=True):
            pair(c, s)

    def _fits(v: Value, lab: Label) -> bool:
        f = _fields(lab)
        value = f["named"] or f["value"]
        name = f["name"]
        return (
            _op_ok(f["op"], v, names, consts)
            and value is not None
            and _close(value, v.data)
            and (set(name.split("=")) == names.get(v) if name else v not in names)
        )

    pair(graph.result, roots[0])
    assert len(match) == len(nodes)


# --- the picture of named values ------------------------------------------------------------------

FUNCTIONS = {spec.name for spec in OPS.values()}


def named_graph(graph) -> dict[int, tuple[Value, list[Value]]]:
    """The graph of named values, found here on its own: each input, named value and the result, and what it reads.

    What a value reads are the named values (or inputs) met first going down
    its operands, through the operations that have no name.
    """
    below = {id(v) for v in topological_order(graph.result)}  # a name that does not feed the result is not drawn
    key = {id(v): v for v in [*graph.inputs.values(), *graph.names.values(), graph.result] if id(v) in below}
    out: dict[int, tuple[Value, list[Value]]] = {}
    for v in key.values():
        if v in graph.inputs.values() or not v._prev:
            out[id(v)] = (v, [])
            continue
        reads: list[Value] = []
        seen: set[int] = set()
        stack = list(v._prev)
        while stack:
            c = stack.pop()
            if id(c) in key:
                if all(c is not r for r in reads):
                    reads.append(c)
            elif id(c) not in seen:
                seen.add(id(c))
                stack.extend(c._prev)
        out[id(v)] = (v, reads)
    return out


def assert_drawn_as_named_values(lines: list[str], graph, terms: bool = False) -> None:
    """The picture, read back from its characters alone, is the graph of ``graph``'s named values.

    Every input and named value is a label with its name, value and gradient;
    each reads exactly the named values its statement reads; its expression
    names only those (and all of them when it is not cut short). ``terms``:
    the picture of a program without statements, whose terms are called #1, #2, ...
    """
    labels = read_back(lines)
    names = _names(graph)
    by_name: dict[str, Label] = {}
    for lab in labels:
        f = _fields(lab)
        if f["name"]:
            for name in f["name"].split("="):
                assert name not in by_name, f"{name} is drawn twice"
                by_name[name] = lab
    want = named_graph(graph)
    roots = [lab for lab in labels if not any(lab is s for other in labels for _, s in other.operands)]
    assert len(roots) == 1, f"{len(roots)} labels lead nowhere: {[r.text for r in roots]}"
    drawn_for: dict[int, Label] = {}
    for v, _ in want.values():
        if v is graph.result and v not in names:
            drawn_for[id(v)] = roots[0]
            continue
        for name in names.get(v, ()):
            assert name in by_name, f"{name} is not in the picture"
            drawn_for[id(v)] = by_name[name]
    if not terms:
        assert len(labels) == len(want), f"{len(labels)} labels for {len(want)} named values"
    for v, reads in want.values():
        lab = drawn_for[id(v)]
        f = _fields(lab)
        value = f["named"] or f["value"]
        assert value is not None and _close(value, v.data), f"{lab.text!r}: value should be {v.data}"
        assert f["grad"] is not None and _close(f["grad"], v.grad), f"{lab.text!r}: gradient should be {v.grad}"
        drawn = [s for _, s in lab.operands]
        if terms:
            continue  # the terms stand between: checked by what reads them below
        assert sorted(map(id, drawn)) == sorted(id(drawn_for[id(r)]) for r in reads), f"{lab.text!r}: operands"
        expression = f["op"] or ""
        assert (expression == "") == (not reads), f"{lab.text!r}: an expression is drawn only for a statement"
        cut = expression.endswith(("…", "..."))
        if cut:  # the last word may be cut short: sigm… of sigma
            expression = re.sub(r"\w*(…|\.\.\.)$", "", expression)
        words = re.sub(r"(?<![\w.])\d+(?:\.\d*)?(?:e[-+]?\d+)?", " ", expression)  # numbers out: 1e5 is not a name
        used = set(re.findall(r"[^\W\d]\w*", words)) - FUNCTIONS - {"inf", "nan"}
        read_names = {n for r in reads for n in names[r]}
        assert used <= read_names, f"{lab.text!r} names {used - read_names}, which it does not read"
        if not cut:
            assert all(names[r] & used for r in reads), f"{lab.text!r} leaves out a value it reads"
