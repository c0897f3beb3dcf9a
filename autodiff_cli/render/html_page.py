"""``explain`` made visual: one self-contained HTML page with the graph and a step control.

The page holds everything inline (the SVG of render/svg.py, its CSS and a
short script) and fetches nothing, so it works from a file:// URL offline.
The steps are explain's, in its order, forward pass then backward pass, as
render/explain.py words them (``plain_steps``). They are numbered once, from
1, as a person counts and as ``explain --json`` numbers them (its ``step``
member): the page shows "Step N of T" with the pass's name, and ``#step=N``
in the URL opens it there. The program's text reaches
the page only as escaped HTML text or as JSON inside
``<script type="application/json">`` with ``<``, ``>``, ``&`` and every
non-ASCII character (U+2028 and U+2029 among them) written as \\u escapes, so
no comment or name can close the script or start markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import NamedTuple

from ..explain import Explanation, drawn_ids, explain
from ..graph_view import graph_view
from ..numbers import format_number, table_digits
from ..program import Program, compile_program
from ..text import clip, printable
from .explain import plain_steps
from .geometry import geometry
from .svg import PALETTES, svg_document

__all__ = ["explorer_page", "script_json"]


def script_json(data: object) -> str:
    """``data`` as JSON that stays inert inside any <script> element."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_page(program: str | Program, bindings: Mapping[str, float], digits: int | None = None, strict: bool = True) -> str:
    """The page for ``program`` at ``bindings``: the graph, and explain's steps to walk through on it."""
    compiled = compile_program(program) if isinstance(program, str) else program
    e = explain(compiled, bindings, strict=strict)
    view = graph_view(compiled.graph)
    ids = drawn_ids(compiled, e, view)
    names = dict(view.called)  # an operation without a name is called by explain's id (n1), as the steps call it
    names.update((node, e_id) for node, e_id in ids.items() if node.inputs and node not in names)
    # What each step writes into the boxes, by explain's ids; each box has room for the longest of its numbers
    # ("grad -0.5553" on the way to "grad -1.002").
    numbers = _numbers(e, digits)
    longest: dict[str, str] = {}
    for step in numbers:
        for key, text in [*step.values.items(), *step.grads.items()]:
            longest[key] = max(longest.get(key, ""), text, key=len)
    geo = geometry(view, digits, names, {node: longest[key] for node, key in ids.items() if key in longest})
    element = {e_id: f"ad-n{shape.index}" for shape in geo.shapes if (e_id := ids.get(shape.node)) is not None}

    def drawn(texts: dict[str, str]) -> dict[str, str]:
        return {element[key]: text for key, text in texts.items() if key in element}

    steps = [
        {
            "id": node,
            "node": element.get(node),
            "heading": heading,
            "lines": lines,
            "touched": [element[t] for t in touched if t in element],
            "pass": step.name,
            "values": drawn(step.values),
            "grads": drawn(step.grads),
        }
        for (node, heading, lines, touched), step in zip(plain_steps(e, digits), numbers, strict=True)
    ]
    keys = {shape.index: ids[shape.node] for shape in geo.shapes if shape.node in ids}
    picture = svg_document(geo, "the graph of the program", keys, legend=True)
    return _PAGE.format(
        title=html.escape(printable(clip(compiled.source, 80)), quote=True),
        source=html.escape("\n".join(printable(line) for line in compiled.source.split("\n")), quote=True),
        bindings=html.escape(", ".join(f"{name}={format_number(value)}" for name, value in e.bindings.items()) or "no inputs"),
        svg=picture,
        steps=script_json(steps),
        script=_SCRIPT,
        light_bg=PALETTES["light"]["bg"],
        dark_bg=PALETTES["dark"]["bg"],
        light_fg=PALETTES["light"]["name"],
        dark_fg=PALETTES["dark"]["name"],
        focus=PALETTES["light"]["value"],
        dark_focus=PALETTES["dark"]["value"],
    )


class _Numbers(NamedTuple):
    name: str  # the pass: "forward" or "backward"
    values: dict[str, str]  # explain's id -> the value the step computes
    grads: dict[str, str]  # explain's id -> the gradient it has after the step


def _numbers(e: Explanation, digits: int | None) -> list[_Numbers]:
    """What each step writes into the drawing: the values the forward pass computes, the gradients the backward pass adds.

    The page shows the graph as it stands after the step on screen: a value
    not computed yet, or a gradient before the backward pass, reads "–"; a
    gradient the backward pass has not reached yet reads 0 (where it starts).
    """
    digits = table_digits(digits)
    out = [_Numbers("forward", {f.id: format_number(f.value, digits)}, {}) for f in e.forward]
    for b in e.backward:
        grads = {b.id: format_number(b.grad, digits)}
        grads.update((c.child, format_number(c.grad_after, digits)) for c in b.contributions)
        out.append(_Numbers("backward", {}, grads))
    return out


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autodiff explain: {title}</title>
<style>
body{{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;background:{light_bg};color:{light_fg}}}
header,nav,#ad-step{{padding:6px 16px}}
h1{{font-size:1.1em;margin:6px 0}}
pre,code,#ad-lines{{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}}
pre.ad-source{{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;
max-height:8em;overflow:auto}}
nav{{display:flex;gap:6px;align-items:center;flex-wrap:wrap}}
button{{font:inherit;padding:3px 10px;border-radius:5px;border:1px solid currentColor;
background:transparent;color:inherit;cursor:pointer}}
button:focus-visible,#ad-view:focus-visible,a:focus-visible{{outline:3px solid {focus};outline-offset:2px}}
#ad-counter{{margin-left:8px;font-weight:bold}}
#ad-step{{min-height:6.5em}}
#ad-heading{{font-weight:bold;margin:2px 0}}
#ad-lines div{{white-space:pre-wrap;overflow-wrap:anywhere}}
#ad-view{{height:68vh;border-top:1px solid #94a3b8;overflow:hidden;touch-action:none;cursor:grab}}
#ad-view svg{{width:100%;height:100%;display:block}}
.ad-help{{font-size:.9em}}
a{{color:inherit}}
@media (prefers-color-scheme: dark){{
body{{background:{dark_bg};color:{dark_fg}}}
button:focus-visible,#ad-view:focus-visible,a:focus-visible{{outline-color:{dark_focus}}}
}}
</style>
</head>
<body>
<header>
<h1>autodiff explain</h1>
<pre class="ad-source" aria-label="the program">{source}</pre>
<div>at {bindings}</div>
</header>
<nav aria-label="steps">
<button type="button" id="ad-first" aria-label="first step">&#xAB; first</button>
<button type="button" id="ad-prev" aria-label="previous step">&#x2190; previous</button>
<button type="button" id="ad-next" aria-label="next step">next &#x2192;</button>
<button type="button" id="ad-last" aria-label="last step">last &#xBB;</button>
<span id="ad-counter" aria-live="polite"></span>
<a id="ad-link" href="#step=1">link to this step</a>
<span class="ad-help">Keys: &#x2190; &#x2192; step, Home/End, + &#x2212; zoom, 0 fit; drag to pan, wheel to zoom.</span>
<button type="button" id="ad-zoom-in" aria-label="zoom in">+</button>
<button type="button" id="ad-zoom-out" aria-label="zoom out">&#x2212;</button>
<button type="button" id="ad-fit" aria-label="fit the whole graph">fit</button>
</nav>
<section id="ad-step" aria-live="polite" aria-label="the step">
<div id="ad-heading"></div>
<div id="ad-lines"></div>
</section>
<div id="ad-view" tabindex="0" role="group" aria-label="the graph: drag to pan, wheel or + and - to zoom">
{svg}
</div>
<script type="application/json" id="ad-steps">{steps}</script>
<script>
{script}
</script>
</body>
</html>
"""

# Static: no program text is ever formatted into it (the steps come from the JSON above, shown with textContent).
_SCRIPT = r"""(function () {
  "use strict";
  var steps = JSON.parse(document.getElementById("ad-steps").textContent);
  var view = document.getElementById("ad-view");
  var svg = view.querySelector("svg");
  var full = svg.viewBox.baseVal;
  var box = {x: full.x, y: full.y, w: full.width, h: full.height};
  var whole = {x: box.x, y: box.y, w: box.w, h: box.h};
  var current = 0;
  function clamp(n) { return Math.max(0, Math.min(steps.length - 1, n)); }
  // `current` indexes the list from 0; people, the counter and #step=N count from 1, as explain --json's "step" does.
  function fromHash() {
    var m = /(?:^#|&)step=(\d+)/.exec(window.location.hash);
    return m ? clamp(parseInt(m[1], 10) - 1) : 0;
  }
  function apply() { svg.setAttribute("viewBox", box.x + " " + box.y + " " + box.w + " " + box.h); }
  function scale() {
    var r = view.getBoundingClientRect();
    return Math.max(box.w / Math.max(r.width, 1), box.h / Math.max(r.height, 1));
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = box.x + box.w / 2; cy = box.y + box.h / 2; }
    var w = Math.min(Math.max(box.w / f, 20), whole.w * 4), k = w / box.w;
    box = {x: cx - (cx - box.x) * k, y: cy - (cy - box.y) * k, w: w, h: box.h * k};
    apply();
  }
  function fit() { box = {x: whole.x, y: whole.y, w: whole.w, h: whole.h}; apply(); }
  function reveal(el) {
    var b = el.getBBox();
    if (b.x >= box.x && b.y >= box.y && b.x + b.width <= box.x + box.w && b.y + b.height <= box.y + box.h) return;
    box.x = b.x + b.width / 2 - box.w / 2;
    box.y = b.y + b.height / 2 - box.h / 2;
    apply();
  }
  // Each drawn node's value and gradient, rewritten at every step to what they are after it (see _numbers).
  var shown = [];
  svg.querySelectorAll(".ad-node").forEach(function (g) {
    shown.push({id: g.id, value: g.querySelector(".ad-value"), grad: g.querySelector(".ad-grad")});
  });
  function numbers(upto) {
    var backward = steps[upto].pass === "backward", values = {}, grads = {};
    for (var i = 0; i <= upto; i++) {
      Object.assign(values, steps[i].values);
      Object.assign(grads, steps[i].grads);
    }
    shown.forEach(function (n) {
      if (n.value) n.value.textContent = values.hasOwnProperty(n.id) ? values[n.id] : "\u2013";
      if (n.grad) n.grad.textContent = grads.hasOwnProperty(n.id) ? grads[n.id] : (backward ? "0" : "\u2013");
    });
  }
  function show(n) {
    current = clamp(n);
    var s = steps[current];
    numbers(current);
    svg.querySelectorAll(".ad-current, .ad-touched").forEach(function (el) {
      el.classList.remove("ad-current", "ad-touched");
    });
    s.touched.forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.classList.add("ad-touched");
    });
    var node = s.node ? document.getElementById(s.node) : null;
    if (node) { node.classList.add("ad-current"); reveal(node); }
    var number = current + 1;
    document.getElementById("ad-counter").textContent = "Step " + number + " of " + steps.length;
    document.getElementById("ad-heading").textContent = s.heading + (node ? "" : " (not drawn: it does not feed the result)");
    var lines = document.getElementById("ad-lines");
    while (lines.firstChild) lines.removeChild(lines.firstChild);
    s.lines.forEach(function (text) {
      var div = document.createElement("div");
      div.textContent = text;
      lines.appendChild(div);
    });
    var link = document.getElementById("ad-link");
    link.setAttribute("href", "#step=" + number);
    if (window.location.hash !== "#step=" + number) {
      try { window.history.replaceState(null, "", "#step=" + number); } catch (err) { /* a sandboxed page: no link */ }
    }
  }
  document.getElementById("ad-first").addEventListener("click", function () { show(0); });
  document.getElementById("ad-prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("ad-next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("ad-last").addEventListener("click", function () { show(steps.length - 1); });
  document.getElementById("ad-zoom-in").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("ad-zoom-out").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("ad-fit").addEventListener("click", fit);
  window.addEventListener("hashchange", function () { show(fromHash()); });
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var keys = {ArrowRight: 1, ArrowLeft: -1};
    if (ev.key in keys) { show(current + keys[ev.key]); }
    else if (ev.key === "Home") { show(0); }
    else if (ev.key === "End") { show(steps.length - 1); }
    else if (ev.key === "+" || ev.key === "=") { zoom(1.25); }
    else if (ev.key === "-") { zoom(0.8); }
    else if (ev.key === "0") { fit(); }
    else { return; }
    ev.preventDefault();
  });
  view.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = view.getBoundingClientRect(), k = scale();
    var cx = box.x + box.w / 2 + (ev.clientX - r.left - r.width / 2) * k;
    var cy = box.y + box.h / 2 + (ev.clientY - r.top - r.height / 2) * k;
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, cx, cy);
  }, {passive: false});
  var drag = null;
  view.addEventListener("pointerdown", function (ev) {
    drag = {x: ev.clientX, y: ev.clientY, bx: box.x, by: box.y, k: scale()};
    view.setPointerCapture(ev.pointerId);
  });
  view.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    box.x = drag.bx - (ev.clientX - drag.x) * drag.k;
    box.y = drag.by - (ev.clientY - drag.y) * drag.k;
    apply();
  });
  view.addEventListener("pointerup", function () { drag = null; });
  current = fromHash();
  if (scale() > 2) {
    var r = view.getBoundingClientRect();
    box.w = r.width; box.h = r.height;  // a big graph: life size, at the step, rather than too small to read
    apply();
  }
  show(current);
})();"""
