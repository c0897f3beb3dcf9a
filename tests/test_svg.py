"""--graph svg, program_svg and Value._repr_svg_: well-formed, complete, nothing overlapping, painted by a browser.

Checked from the SVG's own coordinates with an estimate of its own (a fixed
monospace font, 0.6 em a character), never from the geometry module's
numbers: every input is named with its value; no two texts overlap, every
text sits inside its node's box and no box overlaps another; every edge
starts on its operand's box and ends on its user's, one per operand. The
colours are checked against WCAG AA (4.5:1) by computing the contrast.
"""

from __future__ import annotations

import itertools
import math
import pathlib
import re
import time
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from autodiff_cli import Value, compile_program
from autodiff_cli.cli import main
from autodiff_cli.render.svg import PALETTES, TEXT_KINDS, program_svg, style_sheet
from tests.browser import read_png, screenshot

pytestmark = pytest.mark.timeout(120)

NS = "{http://www.w3.org/2000/svg}"
EM = 13.0  # the font size the SVG declares (checked below)

LOGISTIC = "z = w1*x1 + w2*x2 + b; p = sigmoid(z); L = -(y*log(p) + (1 - y)*log(1 - p))"
BLACK_SCHOLES = (
    "d1 = (log(S/K) + (r + sigma^2/2)*T) / (sigma*sqrt(T)); d2 = d1 - sigma*sqrt(T)\n"
    "C = S*(1 + erf(d1/sqrt(2)))/2 - K*exp(-r*T)*(1 + erf(d2/sqrt(2)))/2"
)
LSTM = (
    "f = sigmoid(wf*x + uf*h + bf); i = sigmoid(wi*x + ui*h + bi); o = sigmoid(wo*x + uo*h + bo)\n"
    "g = tanh(wg*x + ug*h + bg); c2 = f*c + i*g; h2 = o*tanh(c2); h2"
)
MLP = (pathlib.Path(__file__).parent.parent / "examples" / "mlp.ad").read_text(encoding="utf-8")

REALISTIC = [
    (LOGISTIC, {"w1": 0.5, "w2": -1.25, "b": 0.1, "x1": 2, "x2": 0.75, "y": 1}),
    (
        MLP,
        {f"w{i}{j}": 0.1 * i - 0.2 * j for i in (1, 2, 3) for j in (1, 2)}
        | {"x1": 1.5, "x2": -0.5, "b1": 0.1, "b2": -0.2}
        | {"b3": 0.3, "v1": 1, "v2": -1, "v3": 0.5, "c": 0.25, "t": 0.3},
    ),
    (BLACK_SCHOLES, {"S": 100, "K": 95, "r": 0.05, "sigma": 0.2, "T": 0.5}),
    (LSTM, {n: 0.1 * k - 0.6 for k, n in enumerate("wf uf bf wi ui bi wo uo bo wg ug bg x h c".split())}),
]


def terms(n: int) -> str:
    """A program of about 6n nodes: n terms sharing two inputs."""
    return " + ".join(f"sin(a*{k + 1} + b)*{k % 7 + 1}" for k in range(n))


def eval_svg(source: str, bindings: dict[str, float], *more: str) -> ET.Element:
    args = ["eval", "--", source, *(f"{k}={v!r}" for k, v in bindings.items())]
    result = CliRunner().invoke(main, [*args[:1], "--graph", "svg", *more, *args[1:]])
    assert result.exit_code == 0, result.output
    return ET.fromstring(result.output)


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def text_box(t: ET.Element) -> Box:
    """A text's ink, estimated: 0.6 em a character, 0.8 em above the baseline, 0.25 below."""
    x, y = float(t.get("x", "0")), float(t.get("y", "0"))
    return x, y - 0.8 * EM, x + 0.6 * EM * cells("".join(t.itertext())), y + 0.25 * EM


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def rect_of(g: ET.Element) -> Box:
    r = g.find(f"{NS}rect")
    assert r is not None
    x, y = float(r.get("x", "0")), float(r.get("y", "0"))
    return x, y, x + float(r.get("width", "0")), y + float(r.get("height", "0"))


def nodes(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id", ""): g for g in svg.iter(f"{NS}g") if "ad-node" in (g.get("class") or "")}


def pairs_overlapping(boxes: list[Box]) -> list[tuple[int, int]]:
    """Overlapping pairs, by a sweep along x (a 1,000-node picture has thousands of texts)."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    found, active = [], []  # type: ignore[var-annotated]
    for i in order:
        active = [j for j in active if boxes[j][2] > boxes[i][0]]
        found += [(j, i) for j in active if overlap(boxes[i], boxes[j])]
        active.append(i)
    return found


def check_picture(svg: ET.Element, source: str, bindings: dict[str, float]) -> None:
    assert svg.get("font-size") == f"{EM:g}"
    drawn = nodes(svg)
    program = compile_program(source)
    # every input, named with its value (to the 4 digits shown)
    for name in program.inputs:
        labelled = [g for g in drawn.values() if [s.text for s in g.iter(f"{NS}tspan")][:1] == [name]]
        assert len(labelled) == 1, name
        shown = [s.text for s in labelled[0].iter(f"{NS}tspan") if s.get("class") == "ad-value"]
        assert shown and math.isclose(float(shown[0]), bindings[name], rel_tol=5e-4, abs_tol=1e-12), (name, shown)
    # texts: none overlaps another, each inside its own box; boxes apart
    texts = [(t, gid) for gid, g in drawn.items() for t in g.iter(f"{NS}text")]
    boxes = [text_box(t) for t, _ in texts]
    assert pairs_overlapping(boxes) == []
    for (t, gid), b in zip(texts, boxes, strict=True):
        r = rect_of(drawn[gid])
        assert r[0] <= b[0] and b[2] <= r[2] and r[1] <= b[1] and b[3] <= r[3], ("".join(t.itertext()), b, r)
    rects = [rect_of(g) for g in drawn.values()]
    assert pairs_overlapping(rects) == []
    legend = [t for t in svg.iter(f"{NS}text") if t.get("class") == "ad-legend"]
    assert len(legend) == 1 and not any(overlap(text_box(legend[0]), r) for r in rects)
    assert text_box(legend[0])[2] <= float(svg.get("width", "0")), "the legend runs past the picture's edge"
    # edges: from the operand's right side to the user's left side, one per operand, crossing no other box
    operands: dict[str, int] = {}
    for path in svg.iter(f"{NS}path"):
        if path.get("class") != "ad-edge":
            continue
        points = [tuple(map(float, p.split(","))) for p in re.findall(r"[ML]([-\d.]+,[-\d.]+)", path.get("d", ""))]
        a, b = rect_of(drawn[path.get("data-from", "")]), rect_of(drawn[path.get("data-to", "")])
        (x0, y0), (x1, y1) = points[0], points[-1]
        assert abs(x0 - a[2]) < 0.2 and a[1] < y0 < a[3], (points, a)
        assert abs(x1 - b[0]) < 0.2 and b[1] < y1 < b[3], (points, b)
        for (p, q), (s, t) in itertools.pairwise(points):
            seg = (min(p, s), min(q, t), max(p, s), max(q, t))
            hit = [r for r in rects if r not in (a, b) and overlap(seg, (r[0] + 0.5, r[1] + 0.5, r[2] - 0.5, r[3] - 0.5))]
            assert hit == [], (path.get("data-from"), path.get("data-to"), seg)
        operands[path.get("data-to", "")] = operands.get(path.get("data-to", ""), 0) + 1
    ops = [v for v in program.order if v._prev]
    assert sorted(operands.values()) == sorted(len(v._prev) for v in ops)


@pytest.mark.parametrize(("source", "bindings"), REALISTIC, ids=["logistic", "mlp", "black-scholes", "lstm"])
def test_realistic_programs_draw_whole_and_apart(source: str, bindings: dict[str, float]) -> None:
    check_picture(eval_svg(source, bindings, "--dag", "ops"), source, bindings)


@pytest.mark.parametrize(("source", "bindings"), REALISTIC[1:], ids=["mlp", "black-scholes", "lstm"])
def test_the_svg_draws_the_named_values_where_the_display_does(source: str, bindings: dict[str, float]) -> None:
    # At 80 columns these programs are shown as their named values: the SVG draws the same graph,
    # every input and every named value with its value, texts apart.
    program = compile_program(source)
    result = program.run(bindings)
    svg = eval_svg(source, bindings, "--width", "80")
    drawn = nodes(svg)
    firsts = {s.text: g for g in drawn.values() for s in g.iter(f"{NS}tspan") if s.get("class") == "ad-name"}
    values = {**bindings, **{name: program.graph.names[name].data for name in program.graph.names}}
    for name, want in values.items():
        assert name in firsts, (name, sorted(firsts))
        shown = [s.text for s in firsts[name].iter(f"{NS}tspan") if s.get("class") == "ad-value"]
        assert shown and math.isclose(float(shown[0]), want, rel_tol=5e-4, abs_tol=1e-12), (name, shown, want)
    assert len(drawn) < len(program.order)  # the named values, not every operation
    assert any(
        math.isclose(float(s.text), result.value, rel_tol=5e-4) for s in svg.iter(f"{NS}tspan") if s.get("class") == "ad-value"
    )
    boxes = [text_box(t) for g in drawn.values() for t in g.iter(f"{NS}text")]
    assert pairs_overlapping(boxes) == []


@pytest.mark.parametrize("n", [50, 170])
def test_a_big_program_draws_apart_and_quickly(n: int) -> None:
    source, bindings = terms(n), {"a": 0.3, "b": -1.0}
    program = compile_program(source)
    assert len(program.order) > 6 * n - 10  # 170 terms: over 1,000 nodes
    start = time.perf_counter()
    text = program_svg(program, bindings)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{len(program.order)} nodes took {elapsed:.2f} s"
    check_picture(ET.fromstring(text), source, bindings)


def test_a_small_graph_holds_its_whole_legend() -> None:
    source, bindings = "tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0}
    check_picture(eval_svg(source, bindings), source, bindings)


def test_digits_are_respected() -> None:
    svg = eval_svg("x/3", {"x": 1}, "--digits", "9")
    values = {s.text for s in svg.iter(f"{NS}tspan") if s.get("class") == "ad-value"}
    assert "0.333333333" in values and "0.3333" not in values


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", sorted(PALETTES))
def test_every_text_colour_passes_wcag_aa(scheme: str) -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the formula, on its known end point
    colours = PALETTES[scheme]
    for kind in TEXT_KINDS:
        for fill in ("box", "current"):
            assert contrast(colours[kind], colours[fill]) >= 4.5, (kind, fill)
    assert contrast(colours["legend"], colours["bg"]) >= 4.5
    assert contrast(colours["edge"], colours["bg"]) >= 3.0  # lines: the 3:1 of non-text graphics
    sheet = style_sheet()
    dark = sheet.index("prefers-color-scheme: dark")
    part = sheet[dark:] if scheme == "dark" else sheet[:dark]
    assert all(f".ad-{kind}{{fill:{colours[kind]}}}" in part for kind in TEXT_KINDS)


HOSTILE_COMMENTS = [
    "# ]]> --> </svg><script>alert(1)</script>",
    "# \"quoted\" 'single' &amp; <b>",
    "# \u202eevil\u202c \x07 \x1b[2J",
]


@pytest.mark.parametrize("comment", HOSTILE_COMMENTS)
def test_hostile_comments_and_names_stay_text(comment: str) -> None:
    source = f"θ = α*β {comment}\n变量 = θ + 1; 变量*α"
    svg = eval_svg(source, {"α": 2, "β": 3})
    assert not list(svg.iter(f"{NS}script")) and not list(svg.iter(f"{NS}b"))
    title = svg.find(f"{NS}title")
    assert title is not None and (title.text or "").startswith("autodiff: θ = α*β #")  # the comment, as text
    assert "\u202e" not in ET.tostring(svg, encoding="unicode")  # bidi overrides shown as escapes
    named = {s.text for s in svg.iter(f"{NS}tspan") if s.get("class") == "ad-name"}
    assert {"α", "β", "θ", "变量"} <= named


def test_value_repr_svg_draws_the_micrograd_neuron() -> None:
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    svg = ET.fromstring(o._repr_svg_())
    drawn = nodes(svg)
    assert len(drawn) == 10  # 5 leaves, 2 products, 2 sums, tanh
    values = {float(s.text or "") for s in svg.iter(f"{NS}tspan") if s.get("class") == "ad-value"}
    grads = sorted(float(s.text or "") for s in svg.iter(f"{NS}tspan") if s.get("class") == "ad-grad")
    assert {2.0, 0.0, -3.0, 1.0} <= values and any(math.isclose(v, math.tanh(0.8813735870195432), rel_tol=1e-3) for v in values)
    # micrograd's numbers: o = 0.7071, do/dn = 1 - o^2 = 0.5, so dw1 = 0.5 * x1 = 1, dx1 = 0.5 * w1 = -1.5
    assert math.isclose(x1.grad, -1.5) and -1.5 in grads and 1.0 in grads and 0.5 in grads


def test_program_svg_is_the_api_form_of_graph_svg() -> None:
    cli = CliRunner().invoke(main, ["eval", "--graph", "svg", "tanh(a*b+c)", "a=2", "b=3", "c=1"])
    assert program_svg("tanh(a*b+c)", {"a": 2, "b": 3, "c": 1}) + "\n" == cli.output


@pytest.mark.timeout(120)
def test_a_browser_paints_the_drawing(tmp_path: pathlib.Path) -> None:
    source, bindings = LOGISTIC, REALISTIC[0][1]
    text = program_svg(source, bindings)
    svg = ET.fromstring(text)
    width, height = int(svg.get("width", "0")), int(svg.get("height", "0"))
    page = tmp_path / "graph.svg"
    page.write_text(text, encoding="utf-8")
    w, h, rows = read_png(screenshot(page, width, height, tmp_path / "graph.png"))
    assert (w, h) == (width, height)
    background = rows[0][0]
    assert background == (255, 255, 255)
    ink = sum(1 for row in rows for px in row if px != background)
    assert ink > 0.03 * w * h
    # the result's box: its border painted in the result colour, where the SVG says it is
    result = next(g for g in nodes(svg).values() if "ad-result" in (g.get("class") or ""))
    x0, y0, _, y1 = rect_of(result)
    want = tuple(int(PALETTES["light"]["result"][i : i + 2], 16) for i in (1, 3, 5))
    near = [rows[int((y0 + y1) / 2)][x] for x in range(int(x0) - 2, int(x0) + 3)]
    assert any(sum(abs(a - b) for a, b in zip(px, want, strict=True)) < 40 for px in near), near
