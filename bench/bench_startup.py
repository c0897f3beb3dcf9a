"""Start-up time of ``autodiff eval``, as ratios to importing what it cannot do without.

    python bench/bench_startup.py

Targets (issue 3): ``eval --json`` within 1.25x of ``python -c "import click, lark"``,
the people display within 1.35x of ``python -c "import click, lark, rich.console"``.
Each command runs many times, interleaved so that a busy machine slows all of them
alike; the ratio is of medians. Bytecode is cached first, as an installed package has it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

REPEATS = 21
PROGRAM = ["tanh(a*b+c)", "a=2", "b=3", "c=1"]


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


def measure(cmds: dict[str, list[str]], repeats: int = REPEATS) -> dict[str, float]:
    """Median wall time of each command, in seconds."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("FORCE_COLOR", None)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(2):  # warm the file cache and write bytecode
        for cmd in cmds.values():
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    for _ in range(repeats):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    med = measure(commands())
    for name, t in med.items():
        print(f"  {name:36s} {t * 1000:7.1f} ms (median of {REPEATS})")
    json_ratio = med["eval --json"] / med["import click, lark"]
    display_ratio = med["eval (display)"] / med["import click, lark, rich.console"]
    print(f"  eval --json / import click, lark              {json_ratio:.2f}x (target <= 1.25x)")
    print(f"  display / import click, lark, rich.console    {display_ratio:.2f}x (target <= 1.35x)")


if __name__ == "__main__":
    main()
