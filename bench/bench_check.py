"""What ``eval --check`` and ``explain`` cost, in runs of the same program measured in the same process.

The check estimates each derivative from values alone, so its cost is counted
in evaluations of the program: a few dozen per input when the function is
smooth (two extrapolations agree at once), a few hundred where it is not
(every first step down to 1e-13 is tried). ``explain`` is one run plus a
replay of the backward pass that records every step in Python objects.
Targets: the check under 400 runs per input, explain under 100 runs.
"""

from __future__ import annotations

import pathlib
import sys

from autodiff_cli.check import check_gradients
from autodiff_cli.explain import explain
from autodiff_cli.program import compile_program

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import best_of

PROGRAMS = {
    "mission": ("tanh(a*b+c)", {"a": 2.0, "b": 3.0, "c": 1.0}),
    "neuron": ("n = x1*w1 + x2*w2 + b; tanh(n)", {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.881373587}),
    "chain of 1000": ("s = x\n" + "s = tanh(s*1.01 + 0.1*y)\n" * 1000 + "s", {"x": 0.3, "y": -0.2}),
}


def main() -> None:
    for name, (source, bindings) in PROGRAMS.items():
        program = compile_program(source)
        runs = 200 if len(program.nodes) < 100 else 20
        one_run = best_of(5, lambda p=program, b=bindings, n=runs: [p.run(b) for _ in range(n)]) / runs
        checking = best_of(3, lambda p=program, b=bindings: check_gradients(p, b))
        explaining = best_of(3, lambda p=program, b=bindings: explain(p, b))
        inputs = len(program.run(bindings).gradients)
        print(
            f"{name:>14}: one run {one_run * 1e6:8.1f} us; "
            f"--check {checking * 1e3:7.2f} ms = {checking / one_run / inputs:5.0f} runs per input (target < 400); "
            f"explain {explaining / one_run:4.0f} runs (target < 100)"
        )


if __name__ == "__main__":
    main()
