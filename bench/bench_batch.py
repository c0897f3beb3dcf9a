"""Batch and sweep throughput, as ratios against references measured in the same run.

* batch: jobs per second for 5,000 distinct short programs (so the cache of
  compiled programs never helps), against a SymPy script doing the same work:
  parse_expr, one diff per input, evalf at the bindings. Target: >= 50x.
* sweep: rows per second for one program over 100,000 CSV rows, against the
  floor of reading and writing the same CSV with Python's csv module.
  Target: <= 3x the floor.

Both sides run in this process, on the same files, best of a few runs; the
lark parser is built once before timing (a one-off cost of any process).
The end-to-end `autodiff` commands are timed too, start-up included, for
information.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autodiff_cli.batch import run_batch
from autodiff_cli.program import clear_cache, compile_program
from autodiff_cli.records import jsonl_line
from autodiff_cli.sweep import Sweep

JOBS = 5_000
SYMPY_JOBS = 300  # SymPy's rate is steady; timing all 5,000 would take minutes
ROWS = 100_000
PROGRAM = "tanh(a*b + c)"
FUNCTIONS = ["sin", "cos", "tanh", "exp", "sqrt", "log", "atan", "sigmoid"]


def _jobs(n: int) -> list[dict]:
    """Distinct short programs of three inputs, with bindings where every one is defined."""
    rng = random.Random(4)
    jobs = []
    for i in range(n):
        f, g = rng.choice(FUNCTIONS), rng.choice(FUNCTIONS)
        expr = f"{f}(a*b + {i % 7 + 1}) * {g}(c^2 + 1) + a/{i + 2}"
        bindings = {"a": rng.uniform(0.1, 2), "b": rng.uniform(0.1, 2), "c": rng.uniform(-1, 1)}
        jobs.append({"expr": expr, "vars": bindings})
    return jobs


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _autodiff_batch(data: bytes) -> None:
    clear_cache()
    out = io.StringIO()
    for record in run_batch([("-", io.BytesIO(data))]):
        out.write(jsonl_line(record))


def _sympy_batch(jobs: list[dict]) -> None:
    import sympy

    names = {"sigmoid": sympy.Lambda(sympy.Symbol("x"), 1 / (1 + sympy.exp(-sympy.Symbol("x"))))}
    out = io.StringIO()
    for job in jobs:
        expr = sympy.parsing.sympy_parser.parse_expr(job["expr"].replace("^", "**"), local_dict=dict(names))
        subs = {sympy.Symbol(k): v for k, v in job["vars"].items()}
        value = float(expr.evalf(subs=subs))
        grads = {k: float(sympy.diff(expr, sympy.Symbol(k)).evalf(subs=subs)) for k in job["vars"]}
        out.write(json.dumps({"expr": job["expr"], "value": value, "gradients": grads}) + "\n")


def bench_batch() -> None:
    import sympy.parsing.sympy_parser  # noqa: F401 - imported before timing

    jobs = _jobs(JOBS)
    data = "".join(json.dumps(j) + "\n" for j in jobs).encode()
    compile_program("warm + up")
    ours = _best(lambda: _autodiff_batch(data))
    theirs = _best(lambda: _sympy_batch(jobs[:SYMPY_JOBS]), repeat=1)
    ours_rate, theirs_rate = JOBS / ours, SYMPY_JOBS / theirs
    ratio = ours_rate / theirs_rate
    print(f"batch: {JOBS:,} distinct programs: autodiff {ours_rate:,.0f} jobs/s ({ours:.2f} s)")
    print(f"       sympy parse_expr+diff+evalf {theirs_rate:,.0f} jobs/s ({SYMPY_JOBS} jobs, {theirs:.2f} s)")
    print(f"       ratio {ratio:,.0f}x (target >= 50x) {'ok' if ratio >= 50 else 'MISSED'}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "jobs.jsonl")
        path.write_bytes(data)
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "autodiff_cli", "batch", str(path), "--json", "--quiet"]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
        whole = time.perf_counter() - start
        print(f"       end to end (autodiff batch --json, start-up included): {JOBS / whole:,.0f} jobs/s")


def _rows_file(path: Path) -> None:
    rng = random.Random(7)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c"])
        for _ in range(ROWS):
            writer.writerow([repr(rng.uniform(-2, 2)) for _ in range(3)])


def _csv_floor(src: Path, dst: Path) -> None:
    with open(src, newline="") as f, open(dst, "w", newline="") as g:
        writer = csv.writer(g)
        for row in csv.reader(f):
            writer.writerow(row)


def _autodiff_sweep(src: Path, dst: Path) -> None:
    sweep = Sweep(compile_program(PROGRAM), {}, [], "csv")
    with open(src, "rb") as f, open(dst, "w") as g:
        for text in sweep.run(f):
            g.write(text)


def bench_sweep() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "rows.csv"), Path(tmp, "out.csv")
        _rows_file(src)
        compile_program("warm + up")
        # Interleaved, best of 7 each: a busy machine slows both sides alike.
        floor = ours = math.inf
        for _ in range(7):
            floor = min(floor, _best(lambda: _csv_floor(src, dst), repeat=1))
            ours = min(ours, _best(lambda: _autodiff_sweep(src, dst), repeat=1))
        ratio = ours / floor
        print(f"sweep: {PROGRAM} over {ROWS:,} CSV rows: autodiff {ROWS / ours:,.0f} rows/s ({ours:.3f} s)")
        print(f"       csv module read + write floor {ROWS / floor:,.0f} rows/s ({floor:.3f} s)")
        print(f"       ratio {ratio:.2f}x the floor (target <= 3x) {'ok' if ratio <= 3 else 'MISSED'}")
        cmd = [sys.executable, "-m", "autodiff_cli", "eval", PROGRAM, "--rows", str(src)]
        copy = f"import csv, sys; csv.writer(sys.stdout).writerows(csv.reader(open({str(src)!r})))"
        floor_cmd = [sys.executable, "-c", copy]
        whole = _best(lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False), repeat=3)
        floor_whole = _best(lambda: subprocess.run(floor_cmd, stdout=subprocess.DEVNULL, check=False), repeat=3)
        print(
            f"       end to end (start-up included): autodiff eval --rows {whole:.3f} s, "
            f"python -c csv copy {floor_whole:.3f} s, {whole / floor_whole:.2f}x"
        )


def main() -> None:
    os.environ.setdefault("NO_COLOR", "1")
    bench_sweep()
    bench_batch()


if __name__ == "__main__":
    main()
