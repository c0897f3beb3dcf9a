"""The pictures of `autodiff plot`: read back from the terminal cells, golden files, SVG and PNG images.

The read-back test knows nothing of the drawing code: it finds the axes and
their tick labels in the text, fits the scales from them, and checks that
every cell of each curve (told apart by colour, or by ASCII mark) is within
one cell of the true function, and that the value's curve leaves no column
out. Goldens: `UPDATE_GOLDEN=1 pytest tests/test_plot_picture.py` rewrites
them; look at them in a terminal before committing.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main

GOLDEN = Path(__file__).parent / "data" / "golden"
PLAIN = {"NO_COLOR": "1", "FORCE_COLOR": None, "COLUMNS": None, "LINES": None, "TTY_COMPATIBLE": None}
COLOUR = {**PLAIN, "NO_COLOR": None, "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLORTERM": None}  # TERM=dumb: no colour
SGR = re.compile(r"\x1b\[([0-9;]*)m")
KINK_MARK = {False: "◆", True: "#"}


def plot(args: list[str], env: dict) -> str:
    result = CliRunner().invoke(main, ["plot", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


# --- reading a picture back ---------------------------------------------------------------


def cells(text: str) -> list[list[tuple[str, str]]]:
    """Each line as (character, foreground colour code) pairs."""
    out = []
    for line in text.split("\n"):
        row, colour, pos = [], "", 0
        for m in SGR.finditer(line + "\x1b[m"):
            row += [(ch, colour) for ch in line[pos : m.start()]]
            for code in (m.group(1) or "0").split(";"):
                if code in ("0", "39"):
                    colour = ""
                elif code.isdigit() and (30 <= int(code) <= 37 or 90 <= int(code) <= 97):
                    colour = code
            pos = m.end()
        out.append(row)
    return out


def fit(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares a + b*u through (u, v) pairs."""
    n = len(pairs)
    mu = sum(u for u, _ in pairs) / n
    mv = sum(v for _, v in pairs) / n
    b = sum((u - mu) * (v - mv) for u, v in pairs) / sum((u - mu) ** 2 for u, _ in pairs)
    return mv - b * mu, b


class Panel:
    """One curve's panel: its header (the key and label), its rows, the y scale its tick labels give."""

    def __init__(self, header: list[tuple[str, str]], rows: list[list[tuple[str, str]]], left: int, ascii: bool) -> None:
        self.header, self.rows, self.left = header, rows, left
        tick = "+" if ascii else "┤"
        chars = ["".join(ch for ch, _ in row) for row in rows]
        yticks = [(r, float(line[: left - 1])) for r, line in enumerate(chars) if line[left - 1] == tick]
        self.y_of_row = fit(yticks)
        self.ticks = [y for _, y in yticks]
        text = "".join(ch for ch, _ in header)
        self.label = text.strip()

    def key(self, ascii: bool) -> str:
        """The colour (or ASCII mark) of the curve, from the sample in front of its label."""
        at = next(i for i, (ch, _) in enumerate(self.header) if ch != " ")
        return self.header[at][0] if ascii else self.header[at][1]

    def column(self, c: int, key: str, ascii: bool) -> list[int]:
        """The rows where the curve with ``key`` has a cell in column ``c``."""
        found = []
        for r, row in enumerate(self.rows):
            if self.left + c < len(row):
                ch, colour = row[self.left + c]
                if (ch == key) if ascii else (colour == key and "\u2801" <= ch <= "\u28ff"):
                    found.append(r)
        return found

    def row_of(self, y: float) -> float:
        a, b = self.y_of_row
        return (y - a) / b


class Picture:
    """The panels of a plot, with the x scale the shared axis's tick labels give."""

    def __init__(self, text: str, ascii: bool) -> None:
        grid = cells(text)
        chars = ["".join(ch for ch, _ in row) for row in grid]
        corner = "+" if ascii else "└"
        rule = r"\s*\+[-+]{9}" if ascii else r"\s*└[─┬]{9}"  # not a header's "++ d/dx"
        axis_line = next(i for i, line in enumerate(chars) if re.match(rule, line))
        self.left = left = chars[axis_line].index(corner) + 1
        axis = "+|" if ascii else "┤│"
        self.panels: list[Panel] = []
        header: list[tuple[str, str]] = []
        rows: list[list[tuple[str, str]]] = []
        for i in range(1, axis_line + 1):
            on_axis = i < axis_line and len(chars[i]) >= left and chars[i][left - 1] in axis
            if on_axis:
                rows.append(grid[i])
                continue
            if rows:
                self.panels.append(Panel(header, rows, left, ascii))
                header, rows = [], []
            if i < axis_line and not chars[i].startswith(" " * left + "  "):  # a wrapped note goes on
                header = grid[i]
        rule, labels = chars[axis_line], chars[axis_line + 1]
        marks = [c for c in range(left, len(rule)) if rule[c] == ("+" if ascii else "┬")]
        xticks = []
        for m in re.finditer(r"-?\d+(\.\d+)?", labels):
            centre = (m.start() + m.end() - 1) / 2
            mark = min(marks, key=lambda c: abs(c - centre))
            xticks.append((mark - left, float(m.group())))
        self.x_of_column = fit(xticks)
        self.x_labels = labels.strip()
        self.width = max(len(r) for panel in self.panels for r in panel.rows) - left

    def panel(self, label: str) -> Panel:
        """The panel whose header names ``label``."""
        return next(p for p in self.panels if p.label.split("   ")[0].split(" ", 1)[1].strip() == label)


def check_curve(picture: Picture, panel: Panel, f: Callable[[float], float], ascii: bool) -> None:
    """Every cell of the curve within one cell of f, and a cell in every column where f is in sight (or a kink mark)."""
    a, b = picture.x_of_column
    key = panel.key(ascii)
    for c in range(picture.width):
        found = panel.column(c, key, ascii)
        xs = [a + b * (c + t / 8) for t in range(-4, 5)]  # the x the column spans
        rows = [panel.row_of(f(x)) for x in xs]
        low, high = min(rows), max(rows)
        for r in found:
            assert low - 1.5 <= r <= high + 1.5, f"column {c} (x = {a + b * c:.3f}): row {r}, want {low:.1f} to {high:.1f}"
        inside = high >= -0.5 and low <= len(panel.rows) - 0.5
        hidden = any(low - 1.5 <= r <= high + 1.5 for r in panel.column(c, KINK_MARK[ascii], True))
        assert found or hidden or not inside, f"column {c} (x = {a + b * c:.3f}): no cell, want rows {low:.1f} to {high:.1f}"


def relu(x: float) -> float:
    return max(x, 0.0)


CURVES = [
    ("tanh(x)", "x=-3:3", math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    ("sin(x)", "x=-6:6", math.sin, math.cos),
    ("x^3", "x=-2:2", lambda x: x**3, lambda x: 3 * x * x),
    ("relu(x)", "x=-2:2", relu, lambda x: 1.0 if x > 0 else 0.0),
]


@pytest.mark.parametrize("ascii", [False, True], ids=["braille", "ascii"])
@pytest.mark.parametrize(("source", "sweep", "f", "df"), CURVES, ids=[c[0] for c in CURVES])
def test_the_curves_read_back_within_one_cell(source: str, sweep: str, f, df, ascii: bool) -> None:
    args = [source, sweep, "--width", "100", "--height", "40"] + (["--ascii"] if ascii else [])
    picture = Picture(plot(args, COLOUR), ascii)
    assert [p.label.split("   ")[0][4 if not ascii else 3 :] for p in picture.panels] == [source, "d/dx"]
    check_curve(picture, picture.panel(source), f, ascii)
    check_curve(picture, picture.panel("d/dx"), df, ascii)


def test_read_back_fails_for_a_wrong_curve() -> None:
    """The read-back is strict enough to tell tanh from a slightly different function."""
    picture = Picture(plot(["tanh(x)", "x=-3:3", "--width", "100", "--height", "60"], COLOUR), False)
    with pytest.raises(AssertionError):
        check_curve(picture, picture.panel("tanh(x)"), lambda x: math.tanh(1.3 * x), False)


def test_without_colour_the_curves_differ_by_their_dots() -> None:
    out = plot(["tanh(x)", "x=-3:3", "--second", "--width", "80", "--height", "24"], PLAIN)
    samples = re.findall(r"^ +([\u2800-\u28ff]{3}) ", out, re.MULTILINE)
    assert len(samples) == 3 and len(set(samples)) == 3
    assert "\x1b" not in out


def test_kinks_are_marked_and_gaps_noted() -> None:
    out = plot(["sqrt(x) + relu(x - 1)", "x=-1:3:0.02", "--width", "80", "--height", "20"], PLAIN)
    canvas = [line for line in out.split("\n") if "│" in line or "┤" in line]
    assert sum(line.count("◆") for line in canvas) == 1
    assert "◆ kink" in out and "x = 1" in out
    assert "gaps: the program fails at 51 of 201 points (domain 51)" in out.replace("\n  ", " ")


# --- goldens ---------------------------------------------------------------------------


GOLDENS = {
    "plot_tanh_80": ["tanh(x)", "x=-3:3", "--width", "80", "--height", "24"],
    "plot_tanh_120": ["tanh(x)", "x=-3:3", "--second", "--width", "120", "--height", "36"],
    "plot_gaps_ascii": ["log(x + 1) + relu(x - 1)", "x=-2:3", "--width", "80", "--height", "20", "--ascii"],
}


@pytest.mark.parametrize("name", GOLDENS)
def test_golden_pictures(name: str) -> None:
    out = plot(GOLDENS[name], PLAIN)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")
    args = GOLDENS[name]
    width, height = int(args[args.index("--width") + 1]), int(args[args.index("--height") + 1])
    lines = out.rstrip("\n").split("\n")
    assert max(map(len, lines)) <= width and len(lines) <= height


# --- images --------------------------------------------------------------------------


def _points(d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return list(zip(numbers[0::2], numbers[1::2], strict=False))


def test_svg_parses_and_holds_both_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--save needs the plot extra: pip install '.[plot]'")
    path = tmp_path / "tanh.svg"
    result = CliRunner().invoke(main, ["plot", "tanh(x)", "x=-3:3", "--save", str(path)], env=PLAIN)
    assert result.exit_code == 0 and result.stdout == "" and "wrote" in result.stderr
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in root.iter(f"{ns}g")}
    value = _points(groups["curve-0"].find(f".//{ns}path").get("d"))
    slope = _points(groups["curve-1"].find(f".//{ns}path").get("d"))
    assert len(value) > 20 and len(slope) > 20  # matplotlib drops points a straight line would hide
    # SVG y grows downwards: tanh rises all the way, its slope peaks at the middle.
    assert all(b[1] <= a[1] + 1e-6 for a, b in itertools.pairwise(value))
    top = min(slope, key=lambda p: p[1])
    assert abs(top[0] - (slope[0][0] + slope[-1][0]) / 2) < 0.02 * (slope[-1][0] - slope[0][0])
    text = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "tanh(x)" in text and "d/dx" in text


def test_png_has_the_requested_size(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--save needs the plot extra: pip install '.[plot]'")
    path = tmp_path / "relu.png"
    args = ["plot", "relu(x)", "x=-2:2", "--second", "--save", str(path), "--size", "640x400"]
    result = CliRunner().invoke(main, args, env=PLAIN)
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (640, 400)
    from matplotlib.image import imread

    assert imread(path).shape[:2] == (400, 640)


def canvas_columns(text: str, mark: str) -> list[list[int]]:
    """For each column of an ASCII canvas, the rows holding ``mark``."""
    lines = text.split("\n")
    end = next(i for i, line in enumerate(lines) if line.lstrip().startswith("++"))
    rows = lines[1:end]
    left = lines[end].index("+") + 1
    width = max(map(len, rows)) - left
    return [[r for r, line in enumerate(rows) if left + c < len(line) and line[left + c] == mark] for c in range(width)]


def test_the_slope_of_relu_is_not_joined_across_its_kink() -> None:
    # A line from slope 0 to slope 1 at x = 0 would be a wall of marks in one column.
    out = plot(["relu(x)", "x=-2:2", "--width", "80", "--height", "30", "--ascii"], PLAIN)
    assert max(len(rows) for rows in canvas_columns(out, "+")) <= 2


def test_a_pole_is_not_drawn_as_a_spike() -> None:
    out = plot(["1/x", "x=-1.005:1", "--width", "80", "--height", "30", "--ascii", "--ylim", "-20:20"], PLAIN)
    columns = canvas_columns(out, "*")
    height = len(out.split("\n")) - 5
    assert all(max(rows) - min(rows) < height / 2 for rows in columns if rows)
    assert re.search(r"\*\* 1/x   \d+ points lie outside -20 to 20\n", out)


def test_a_terminal_that_cannot_take_braille_gets_ascii() -> None:
    from autodiff_cli.render.display import Terminal
    from autodiff_cli.render.plot import plot_options

    assert plot_options(Terminal(80, False, False, "ascii"), 24, False, None).ascii
    assert not plot_options(Terminal(80, True, False, "utf-8"), 24, False, "-1:1").ascii


# --- one panel per curve ---------------------------------------------------------------


def _sampled(out: str, start: float, stop: float) -> list[float]:
    points = int(re.search(r"\((\d+) points\)", out.split("\n")[0]).group(1))
    return [start + (stop - start) * i / (points - 1) for i in range(points)]


PANELS = [
    # program, range, extra arguments, {label: the curve, by hand}
    (
        "x*sin(1/x)",
        (-0.5, 0.5),
        ["--second"],
        {
            "x*sin(1/x)": lambda x: x * math.sin(1 / x),
            "d/dx": lambda x: math.sin(1 / x) - math.cos(1 / x) / x,
            "d²/dx²": lambda x: -math.sin(1 / x) / x**3,
        },
    ),
    (
        "a*sin(x) + b*x^3",
        (-3.0, 3.0),
        ["a=1.5", "b=40", "--wrt", "a", "--wrt", "b"],
        {
            "a*sin(x) + b*x^3": lambda x: 1.5 * math.sin(x) + 40 * x**3,
            "d/dx": lambda x: 1.5 * math.cos(x) + 120 * x * x,
            "d/da": math.sin,
            "d/db": lambda x: x**3,
        },
    ),
]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(("source", "span", "extra", "curves"), PANELS, ids=[p[0] for p in PANELS])
def test_each_curve_has_its_own_panel_and_axis(source, span, extra, curves, width) -> None:
    sweep = f"x={span[0]:g}:{span[1]:g}"
    out = plot([source, sweep, *extra, "--width", str(width), "--height", str(width // 2)], COLOUR)
    picture = Picture(out, False)
    assert [p.label.split("   ")[0][4:] for p in picture.panels] == list(curves)
    xs = [x for x in _sampled("".join(ch for ch, _ in cells(out)[0]), *span) if x != 0.0]
    for panel, (label, f) in zip(picture.panels, curves.items(), strict=True):
        ys = [f(x) for x in xs]
        a, b = panel.y_of_row
        top, bottom = a, a + b * (len(panel.rows) - 1)
        note = re.search(r"([\d,]+) points lie outside (\S+) to (\S+)", panel.label)
        if note:  # the note gives the axis's own range, and counts what falls outside it
            low, high = float(note.group(2)), float(note.group(3))
            assert abs(low - bottom) <= abs(b) and abs(high - top) <= abs(b), (label, low, high, bottom, top)
            assert int(note.group(1).replace(",", "")) == sum(1 for y in ys if not low <= y <= high)
        else:  # the whole curve, and not flattened: it fills at least a third of its axis
            assert bottom - abs(b) <= min(ys) and max(ys) <= top + abs(b), (label, min(ys), max(ys), bottom, top)
            assert max(ys) - min(ys) >= (top - bottom) / 3, (label, min(ys), max(ys), bottom, top)
        if not note and "1/x" not in source:  # x*sin(1/x) wiggles faster than any column near 0
            check_curve(picture, panel, f, False)
    assert len([line for line in out.split("\n") if "└" in line]) == 1  # one x axis, shared


def test_an_image_has_a_panel_per_curve_sharing_x(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--save needs the plot extra: pip install '.[plot]'")
    path = tmp_path / "panels.svg"
    args = ["plot", "x*sin(1/x)", "x=-0.5:0.5", "--second", "--save", str(path)]
    assert CliRunner().invoke(main, args, env=PLAIN).exit_code == 0
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    axes = [g for g in root.iter(f"{ns}g") if (g.get("id") or "").startswith("axes_")]
    assert len(axes) == 3
    for k, panel in enumerate(axes):  # each curve in its own panel, labelled there
        ids = {g.get("id") for g in panel.iter(f"{ns}g")}
        assert f"curve-{k}" in ids and not {f"curve-{j}" for j in range(3) if j != k} & ids
    labels = [
        [
            "".join(t.itertext())
            for g in panel.iter(f"{ns}g")
            if (g.get("id") or "").startswith("xtick_")
            for t in g.iter(f"{ns}text")
        ]
        for panel in axes
    ]
    assert labels[0] == labels[1] == [] and len(labels[2]) >= 3  # shared x: tick labels under the last only
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"x*sin(1/x)", "d/dx", "d²/dx²"} <= set(texts)
