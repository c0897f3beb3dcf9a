"""What second derivatives cost, in runs of the same program measured in the same process.

``eval --hessian`` builds the gradient once as a graph (the ops table's
``graph`` derivatives), then backpropagates it once per input: its cost is
counted in first-order runs (forward + backward) of the program, per input.
``diff`` builds and prints that graph without numbers; it is counted the same
way. Targets: the Hessian under 30 runs per input, diff under 100 runs per input.
"""

from __future__ import annotations

import pathlib
import random
import sys

from autodiff_cli.derivatives import derivatives
from autodiff_cli.hessian import program_hessian
from autodiff_cli.program import compile_program

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import best_of


def network(inputs: int, hidden: int, seed: int = 0) -> tuple[str, dict[str, float]]:
    """A one-layer tanh network with literal weights: a program with many nodes and a few inputs."""
    rnd = random.Random(seed)
    lines = []
    for h in range(hidden):
        terms = " + ".join(f"{rnd.uniform(-1, 1):.3f}*x{i}" for i in range(inputs))
        lines.append(f"h{h} = tanh({terms} + {rnd.uniform(-1, 1):.3f})")
    lines.append(" + ".join(f"{rnd.uniform(-1, 1):.3f}*h{h}" for h in range(hidden)))
    return "\n".join(lines), {f"x{i}": rnd.uniform(-1, 1) for i in range(inputs)}


PROGRAMS = {
    "mission": ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0}),
    "softplus chain": ("s = x\n" + "s = softplus(s*0.9 + y*s)\n" * 300 + "s", {"x": 0.3, "y": -0.2}),
    "network 8x50": network(8, 50),
}


def main() -> None:
    for name, (source, bindings) in PROGRAMS.items():
        program = compile_program(source)
        runs = 200 if len(program.nodes) < 100 else 10
        one_run = best_of(5, lambda p=program, b=bindings, n=runs: [p.run(b) for _ in range(n)]) / runs
        inputs = len(program.run(bindings).gradients)
        second = best_of(3, lambda p=program, b=bindings: program_hessian(p, b))
        printing = best_of(3, lambda s=source: derivatives(s))
        print(
            f"{name:>14}: {len(program.nodes):5d} nodes, {inputs} inputs; one run {one_run * 1e6:8.1f} us; "
            f"--hessian {second * 1e3:7.2f} ms = {second / one_run / inputs:5.1f} runs per input (target < 30); "
            f"diff {printing * 1e3:7.2f} ms = {printing / one_run / inputs:5.1f} runs per input (target < 100)"
        )


if __name__ == "__main__":
    main()
