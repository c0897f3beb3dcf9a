"""What drawing the DAG costs: ``draw_dag`` on programs of about 10, 40, 200 and 3,000 nodes.

Each program is run once; the time is the picture alone (layout, routing,
labels), the best of a few runs, at 80 and 120 columns. Target: well under a
second even for 3,000 terms, whose picture is cut down to the part nearest
the result.
"""

from __future__ import annotations

import pathlib
import sys

from autodiff_cli.parser import parse
from autodiff_cli.program import Program
from autodiff_cli.render.dag import draw_dag

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import best_of

ROOT = pathlib.Path(__file__).resolve().parent.parent
MLP = {
    "x1": 0.5, "x2": -1.5, "w11": 0.8, "w12": -0.4, "b1": 0.1, "w21": -0.6, "w22": 0.3, "b2": 0.0,
    "w31": 1.2, "w32": 0.7, "b3": 0.5, "v1": 1.5, "v2": -2.0, "v3": 0.5, "c": 0.2, "t": 1.0,
}  # fmt: skip


def _chain(terms: int) -> str:
    """A sum of products of sines: about five nodes a term."""
    return " + ".join(f"sin({k}*x)*y" for k in range(1, terms + 1))


PROGRAMS = {
    "10 nodes (logsumexp)": ("m = max(a, b); s = exp(a - m) + exp(b - m); log(s) + m", {"a": 1.0, "b": 2.0}),
    "40 nodes (mlp.ad)": ((ROOT / "examples" / "mlp.ad").read_text(encoding="utf-8"), MLP),
    "200 nodes (40 terms)": (_chain(40), {"x": 0.5, "y": 2.0}),
    "3,000 terms (15,000 nodes)": (_chain(3000), {"x": 0.5, "y": 2.0}),
}


def main() -> None:
    print(f"{'program':<28} {'nodes':>6} {'80 cols':>10} {'120 cols':>10}  picture at 120")
    for label, (source, bindings) in PROGRAMS.items():
        program = Program(parse(source))
        program.run(bindings)
        times = []
        for width in (80, 120):
            times.append(best_of(3, lambda width=width, program=program: draw_dag(program.graph, width=width)))
        picture = draw_dag(program.graph, width=120)
        kind = "dag top to bottom" if picture.down else picture.kind
        shape = f"{kind}, {len(picture.rows)} rows, {picture.shown:,} of {picture.total:,} nodes"
        print(f"{label:<28} {picture.total:>6,} {times[0] * 1000:>8.1f}ms {times[1] * 1000:>8.1f}ms  {shape}")


if __name__ == "__main__":
    main()
