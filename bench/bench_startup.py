"""Start-up time of ``autodiff eval``, as ratios to importing what it cannot do without.

    python bench/bench_startup.py

Targets (issue 3): ``eval --json`` within 1.25x of ``python -c "import click, lark"``,
the people display within 1.35x of ``python -c "import click, lark, rich.console"``.
Each round runs every command once, back to back, and takes each ratio within the
round, so that a machine busy with other work slows both sides of a ratio alike;
the result is the median over the rounds. Bytecode is written first, as an
installed package has it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

ROUNDS = 31
PROGRAM = ["tanh(a*b+c)", "a=2", "b=3", "c=1"]
PAIRS = {
    "eval --json / import click, lark": ("eval --json", "import click, lark", 1.25),
    "display / import click, lark, rich.console": ("eval (display)", "import click, lark, rich.console", 1.35),
}


def _autodiff() -> list[str]:
    script = shutil.which("autodiff", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "autodiff_cli"]


def commands() -> dict[str, list[str]]:
    autodiff = _autodiff()
    return {
        "import click, lark": [sys.executable, "-c", "import click, lark"],
        "eval --json": [*autodiff, "eval", *PROGRAM, "--json"],
        "import click, lark, rich.console": [sys.executable, "-c", "import click, lark, rich.console"],
        "eval (display)": [*autodiff, "eval", *PROGRAM, "--width", "80"],
    }


def measure(cmds: dict[str, list[str]], rounds: int = ROUNDS) -> dict[str, list[float]]:
    """Wall time of each command in each round, in seconds."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "FORCE_COLOR")}
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(2):  # write bytecode, warm the file cache
        for cmd in cmds.values():
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    for _ in range(rounds):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    times = measure(commands())
    for name, t in times.items():
        print(f"  {name:36s} {statistics.median(t) * 1000:7.1f} ms (median of {len(t)})")
    for label, (ours, reference, target) in PAIRS.items():
        ratio = statistics.median(a / b for a, b in zip(times[ours], times[reference], strict=True))
        verdict = "ok" if ratio <= target else "OVER"
        print(f"  {label:44s} {ratio:.2f}x (target <= {target:.2f}x: {verdict})")


if __name__ == "__main__":
    main()
