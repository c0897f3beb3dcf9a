"""--graph html: one self-contained page, inert to hostile text, whose step N is explain --json's step N in a browser."""

from __future__ import annotations

import json
import pathlib
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from autodiff_cli.cli import main
from autodiff_cli.numbers import format_number
from autodiff_cli.render.html_page import script_json
from tests.browser import dump_dom, read_png, screenshot

pytestmark = pytest.mark.timeout(180)

PROGRAM = "z = a*b + c  # a comment\ny = tanh(z) - a/z\ny*z"
BINDINGS = ["a=2", "b=-3", "c=1.5"]


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def explain_steps(source: str, bindings: list[str]) -> list[dict[str, object]]:
    record = json.loads(cli("explain", "--json", source, *bindings))
    return [*record["forward"], *record["backward"]]


class Page(HTMLParser):
    """What the tests read back: the highlighted nodes, the step's text, and any script or link that came from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.current: list[str] = []
        self.touched: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.fetches: list[str] = []
        self.text: dict[str, str] = {}
        self.link: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "ad-current" in classes:
            self.current.append(a.get("data-id") or "")
        if "ad-touched" in classes:
            self.touched.append(a.get("data-id") or "")
        if tag == "script":
            self.scripts.append(a)
        if a.get("id") == "ad-link":
            self.link = a.get("href")
        for key in ("src", "href"):
            if a.get(key) and not (a[key] or "").startswith(("#", "url(#")):
                self.fetches.append(a[key] or "")
        if a.get("id") in ("ad-heading", "ad-lines", "ad-counter"):
            self._in = a["id"]
            self.text[self._in or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("section", "span") or (tag == "div" and self._in == "ad-heading"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.text[self._in] += data


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


def test_the_page_is_self_contained_and_carries_explains_steps() -> None:
    text = cli("eval", "--graph", "html", PROGRAM, *BINDINGS)
    page = parse(text)
    assert page.fetches == [] and all(s.get("src") is None for s in page.scripts)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)  # the SVG namespace is a name, not a fetch
    data = re.search(r'<script type="application/json" id="ad-steps">(.*?)</script>', text, re.S)
    assert data is not None
    steps = json.loads(data.group(1))
    assert [s["id"] for s in steps] == [s["id"] for s in explain_steps(PROGRAM, BINDINGS)]


@pytest.mark.parametrize(
    ("source", "bindings"),
    [(PROGRAM, BINDINGS), ("x", ["x=1"]), ("a*a + a", ["a=3"]), ("s = 0*a; s + b", ["a=1", "b=2"])],
)
def test_explain_json_numbers_every_step_once_from_1(source: str, bindings: list[str]) -> None:
    steps = explain_steps(source, bindings)
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))


HOSTILE = [
    "# </script><script>alert(1)</script>",
    "# <!-- ]]> --> \u2028\u2029 & &amp; \"'",
    "# \u202egnp.exe\u202c </style><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("comment", HOSTILE)
def test_hostile_comments_stay_text(comment: str) -> None:
    text = cli("eval", "--graph", "html", f"y = a*b {comment}\ny + 1", "a=2", "b=3")
    page = parse(text)
    assert len(page.scripts) == 2  # the data and the page's own code, nothing injected
    assert "<img" not in text and "alert(1)</script>" not in text and "\u202e" not in text
    assert "\u2028" not in text.split('id="ad-steps">')[1].split("</script>")[0]


def test_script_json_survives_any_string() -> None:
    nasty = "</script><!--<script>]]>\u2028\u2029&\"'"
    encoded = script_json({"k": nasty})
    assert not set("<>&\u2028\u2029") & set(encoded)
    assert json.loads(encoded) == {"k": nasty}


def expected(step: dict[str, object]) -> list[str]:
    """What the page must show for a step of explain --json: the node's id and its numbers, at 4 digits."""
    if "children" not in step:  # forward
        return [str(step["id"]), format_number(float(step["value"]), 4)]  # type: ignore[arg-type]
    shown = [f"{step['id']} = "]
    for c in step["children"]:  # type: ignore[attr-defined]
        shown += [f"{c['id']}.grad += {format_number(c['local'], 4)}", f"{c['id']}.grad = ", format_number(c["grad_after"], 4)]
    return shown


WHICH = ["first", "last forward", "first backward", "last"]


@pytest.mark.parametrize("which", WHICH)
def test_a_browser_opens_the_step_the_url_names_and_numbers_it_once(tmp_path: pathlib.Path, which: str) -> None:
    """#step=N, the counter, the link and explain --json's "step" are one number; the pass's edges catch an off-by-one."""
    steps = explain_steps(PROGRAM, BINDINGS)
    forward = sum(1 for s in steps if "children" not in s)
    n = {"first": 1, "last forward": forward, "first backward": forward + 1, "last": len(steps)}[which]
    file = tmp_path / "page.html"
    file.write_text(cli("eval", "--graph", "html", PROGRAM, *BINDINGS), encoding="utf-8")
    page = parse(dump_dom(file, f"#step={n}"))
    (step,) = [s for s in steps if s["step"] == n]
    want_id = step["id"]
    assert page.current == [want_id]
    shown = page.text["ad-heading"] + "\n" + page.text["ad-lines"]
    for piece in expected(step):
        assert piece in shown, (piece, shown)
    assert page.text["ad-counter"].strip() == f"Step {n} of {len(steps)}"
    assert page.link == f"#step={n}"
    assert page.text["ad-heading"].startswith("Backward pass" if "children" in step else "Forward pass")
    # one numbering: no second count of steps (within a pass, or explain's "4. n2 = ...") anywhere in the step's text
    everything = page.text["ad-counter"] + "\n" + shown
    assert len(re.findall(r"(?i)\bstep\s+\d", everything)) == 1, everything
    assert not re.search(r"(?m)(^|: )\d+\. ", shown), shown
    touched = [c["id"] for c in step.get("children", [])] if "children" in step else list(step["args"])  # type: ignore[call-overload]
    assert sorted(page.touched) == sorted(set(touched) - {want_id})


@pytest.mark.parametrize(("tail", "number"), [("#step=0", 1), ("#step=99999", -1), ("", 1)])
def test_a_step_out_of_range_opens_the_nearest_end(tmp_path: pathlib.Path, tail: str, number: int) -> None:
    steps = explain_steps(PROGRAM, BINDINGS)
    n = number if number > 0 else len(steps)
    file = tmp_path / "page.html"
    file.write_text(cli("eval", "--graph", "html", PROGRAM, *BINDINGS), encoding="utf-8")
    page = parse(dump_dom(file, tail))
    assert page.text["ad-counter"].strip() == f"Step {n} of {len(steps)}"
    assert page.current == [steps[n - 1]["id"]] and page.link == f"#step={n}"


def test_a_browser_paints_the_page(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "page.html"
    file.write_text(cli("eval", "--graph", "html", PROGRAM, *BINDINGS), encoding="utf-8")
    w, h, rows = read_png(screenshot(file, 1000, 800, tmp_path / "page.png", "#step=8"))
    assert (w, h) == (1000, 800)
    background = rows[-1][0]
    assert sum(1 for row in rows for px in row if px != background) > 0.03 * w * h
    amber = (0xFE, 0xF3, 0xC7)  # the fill of the node at hand (PALETTES["light"]["current"])
    assert sum(1 for row in rows for px in row if px == amber) > 500


class Numbers(HTMLParser):
    """Each drawn node's value and gradient as the page shows them (by the node's id in explain)."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[str, dict[str, str]] = {}
        self._node: str | None = None
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "g" and "ad-node" in classes:
            self._node = a.get("data-id") or ""
            self.shown[self._node] = {}
        elif tag == "tspan" and self._node is not None and ({"ad-value", "ad-grad"} & set(classes)):
            self._field = "value" if "ad-value" in classes else "grad"
            self.shown[self._node][self._field] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "tspan":
            self._field = None
        elif tag == "g":
            self._node = None

    def handle_data(self, data: str) -> None:
        if self._node is not None and self._field is not None:
            self.shown[self._node][self._field] += data


@pytest.mark.parametrize("which", [*WHICH, "a middle backward step"])
def test_the_drawing_shows_the_numbers_as_they_stand_after_the_step(tmp_path: pathlib.Path, which: str) -> None:
    # A student stepping through the backward pass sees each gradient grow as the steps add to it, not its final
    # value from the start: the numbers are replayed from explain --json, independently of the page.
    steps = explain_steps(PROGRAM, BINDINGS)
    forward = sum(1 for s in steps if "children" not in s)
    n = {"first": 1, "last forward": forward, "first backward": forward + 1, "last": len(steps)}.get(which, forward + 3)
    values: dict[str, str] = {}
    grads: dict[str, str] = {}
    for s in steps[:n]:
        if "children" not in s:
            values[str(s["id"])] = format_number(float(s["value"]), 4)  # type: ignore[arg-type]
        else:
            grads[str(s["id"])] = format_number(float(s["grad"]), 4)  # type: ignore[arg-type]
            for c in s["children"]:  # type: ignore[attr-defined]
                grads[c["id"]] = format_number(c["grad_after"], 4)
    file = tmp_path / "page.html"
    file.write_text(cli("eval", "--graph", "html", PROGRAM, *BINDINGS), encoding="utf-8")
    numbers = Numbers()
    numbers.feed(dump_dom(file, f"#step={n}"))
    drawn = {node: shown for node, shown in numbers.shown.items() if shown}
    assert len(drawn) >= 8
    backward = n > forward
    for node, shown in drawn.items():
        assert shown["value"] == values.get(node, "\u2013"), (node, shown)
        assert shown["grad"] == grads.get(node, "0" if backward else "\u2013"), (node, shown)
