"""The front end (issue 15): autodiff against SymEngine, SymPy and ast.parse, in one run.

    python bench/run.py frontend      # needs the bench extra: pip install -e '.[bench]'

* batch: 5,000 distinct random programs (median ~89 characters; + - * / ^,
  sin cos exp tanh atan log sqrt over a, b, c), each a separate process with
  its start-up: a SymEngine script (parse, value, one derivative per input,
  JSON out) against ``autodiff batch --json --quiet`` with ``--jobs 1`` and
  ``--jobs 2``, and a SymPy script on the first SYMPY_JOBS jobs (its rate is
  steady). Every answer is checked against SymEngine's.
  Targets: --jobs 1 <= 1.8x SymEngine's time, >= 50x SymPy's rate; --jobs 2
  >= 1.7x the one-process rate and faster than SymEngine.
* a 1,000-term program: parse, build, forward, backward, against CPython's
  ``ast.parse`` of the same text. Target <= 3x.
* start-up: ``eval --json`` against ``python -c "import click, lark"``. Target <= 1.25x.

The machine may be busy: each timing is the best of REPEAT runs, interleaved.
"""

from __future__ import annotations

import ast
import compileall
import json
import math
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import commands, measure

from autodiff_cli.cli import core
from autodiff_cli.parser import parse
from autodiff_cli.program import Program

JOBS = 5_000
SYMPY_JOBS = 400
REPEAT = 3
NAMES = ("a", "b", "c")
ANYWHERE = ("sin", "cos", "tanh", "atan")  # defined on every real number

SYMENGINE = """
import json, sys
import symengine as se
out = []
for line in open(sys.argv[1]):
    job = json.loads(line)
    expr = se.sympify(job["expr"].replace("^", "**"))
    subs = {se.Symbol(k): v for k, v in job["vars"].items()}
    grads = {k: float(expr.diff(se.Symbol(k)).subs(subs)) for k in job["vars"]}
    out.append(json.dumps({"value": float(expr.subs(subs)), "gradients": grads}))
sys.stdout.write("\\n".join(out) + "\\n")
"""
SYMPY = SYMENGINE.replace("import symengine as se", "import sympy as se").replace(
    "open(sys.argv[1])", "list(open(sys.argv[1]))[:int(sys.argv[2])]"
)


def _positive(rng: random.Random, depth: int) -> str:
    """A random expression that is > 0 wherever a, b, c are: safe under log, sqrt and a division."""
    kind = rng.randrange(6) if depth else 0
    if kind == 0:
        return rng.choice(NAMES) if rng.random() < 0.7 else str(rng.randint(1, 9))
    if kind == 1:
        return f"({_positive(rng, depth - 1)} + {_positive(rng, depth - 1)})"
    if kind == 2:
        return f"{_positive(rng, depth - 1)}*{_positive(rng, depth - 1)}"
    if kind == 3:
        return f"exp({rng.choice(ANYWHERE)}({_any(rng, depth - 1)}))"
    if kind == 4:
        return f"sqrt({_positive(rng, depth - 1)})"
    return f"(({_any(rng, depth - 1)})^2 + {rng.randint(1, 3)})"


def _any(rng: random.Random, depth: int) -> str:
    kind = rng.randrange(7) if depth else 0
    if kind == 0:
        return _positive(rng, 0)
    if kind in (1, 2):
        return f"{_any(rng, depth - 1)} {rng.choice('+-*')} {_any(rng, depth - 1)}"
    if kind == 3:
        return f"{_any(rng, depth - 1)}/{_positive(rng, depth - 1)}"
    if kind == 4:
        return f"log({_positive(rng, depth - 1)})"
    if kind == 5:
        return f"{rng.choice(ANYWHERE)}({_any(rng, depth - 1)})"
    return f"{_positive(rng, depth - 1)}^{rng.choice(['2', '3', '0.5', 'a'])}"


def jobs(count: int = JOBS, seed: int = 15) -> list[dict[str, object]]:
    """Distinct programs over a, b, c, each defined at its bindings (every input in [0.5, 2])."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, object]] = []
    while len(out) < count:
        expr, length = _any(rng, 3), rng.randint(50, 115)
        while len(expr) < length:
            expr += f" {rng.choice('+-')} {_any(rng, 2)}"
        if expr in seen or len(expr) > 200:
            continue
        seen.add(expr)
        used = [n for n in NAMES if re.search(rf"\b{n}\b", expr)]
        out.append({"expr": expr, "vars": {n: round(rng.uniform(0.5, 2), 3) for n in used or ["a"]}})
    return out


def _run(cmd: list[str]) -> tuple[float, list[dict[str, object]]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{cmd[:4]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, [json.loads(line) for line in done.stdout.splitlines()]


def _agree(ours: list[dict[str, object]], theirs: list[dict[str, object]]) -> int:
    """How many answers differ (value or any gradient, beyond 1e-9 relative)."""

    def same(x: object, y: object) -> bool:
        return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]

    differ = 0
    for a, b in zip(ours, theirs, strict=True):
        ga, gb = a.get("gradients", {}), b["gradients"]
        ok = "value" in a and same(a["value"], b["value"]) and ga.keys() == gb.keys()  # type: ignore[union-attr]
        differ += not (ok and all(same(ga[k], gb[k]) for k in gb))  # type: ignore[index, union-attr]
    return differ


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench_batch(tmp: Path) -> None:
    work = jobs()
    path = tmp / "jobs.jsonl"
    path.write_text("".join(json.dumps(j) + "\n" for j in work), encoding="utf-8")
    lengths = sorted(len(str(j["expr"])) for j in work)
    print(f"batch: {JOBS:,} distinct programs, median {statistics.median(lengths):.0f} characters, best of {REPEAT}")
    print(f"  core: {core()} (autodiff --version; AUTODIFF_PURE_RUNTIME=1 runs the pure one)")
    autodiff = [sys.executable, "-m", "autodiff_cli", "batch", str(path), "--json", "--quiet"]
    cmds = {
        "symengine script": [sys.executable, "-c", SYMENGINE, str(path)],
        "autodiff --jobs 1": [*autodiff, "--jobs", "1"],
        "autodiff --jobs 2": [*autodiff, "--jobs", "2"],
    }
    best = dict.fromkeys(cmds, math.inf)
    answers: dict[str, list[dict[str, object]]] = {}
    for _ in range(REPEAT):
        for name, cmd in cmds.items():
            elapsed, answers[name] = _run(cmd)
            best[name] = min(best[name], elapsed)
    sympy_time, sympy_answers = _run([sys.executable, "-c", SYMPY, str(path), str(SYMPY_JOBS)])
    reference = answers["symengine script"]
    for name in cmds:
        differ = _agree(answers[name], reference)
        print(f"  {name:20s} {best[name]:6.2f} s  {JOBS / best[name]:7,.0f} jobs/s  differ from symengine: {differ}")
    print(f"  {'sympy script':20s} {sympy_time:6.2f} s  {SYMPY_JOBS / sympy_time:7,.0f} jobs/s  ({SYMPY_JOBS} jobs)", end="")
    print(f"  differ: {_agree(sympy_answers, reference[:SYMPY_JOBS])}")
    one, two, engine = best["autodiff --jobs 1"], best["autodiff --jobs 2"], best["symengine script"]
    over_sympy = (JOBS / one) / (SYMPY_JOBS / sympy_time)
    print(f"  --jobs 1 / symengine: {one / engine:.2f}x the time (target <= 1.8x) {_verdict(one / engine <= 1.8)}")
    print(f"  --jobs 1 / sympy: {over_sympy:.0f}x the rate (target >= 50x) {_verdict(over_sympy >= 50)}")
    print(f"  --jobs 2 / --jobs 1: {one / two:.2f}x the rate (target >= 1.7x) {_verdict(one / two >= 1.7)}")
    print(f"  --jobs 2 / symengine: {two / engine:.2f}x the time (target < 1x) {_verdict(two < engine)}")
    if core() == "compiled":  # issue 25's targets for the compiled core
        print(f"  compiled core: --jobs 1 / symengine {one / engine:.2f}x (target <= 1.0x) {_verdict(one <= engine)}")
        print(f"  compiled core: --jobs 2 / symengine {two / engine:.2f}x (target <= 0.65x) {_verdict(two <= 0.65 * engine)}")


def long_program(terms: int = 1_000, seed: int = 3) -> str:
    rng = random.Random(seed)
    parts = [f"{rng.choice(ANYWHERE)}({rng.choice(NAMES)}*{i + 1}) * {rng.choice(NAMES)}" for i in range(terms)]
    return " + ".join(parts)


def _best_of(work: object, repeat: int = 7) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def bench_long_program() -> None:
    text = long_program()
    python_text = text.replace("^", "**")
    bindings = {"a": 0.5, "b": 1.5, "c": 2.0}
    ours = _best_of(lambda: Program(parse(text)).run(bindings))
    theirs = _best_of(lambda: ast.parse(python_text))
    ratio = ours / theirs
    print(f"1,000-term program ({len(text):,} characters): parse + build + forward + backward {ours * 1e3:.1f} ms,")
    target = 1.5 if core() == "compiled" else 3.0  # issue 25 for the compiled core, issue 15 for the pure one
    print(f"  ast.parse {theirs * 1e3:.1f} ms: {ratio:.2f}x (target <= {target:g}x) {_verdict(ratio <= target)}")


def bench_startup() -> None:
    cmds = {name: cmd for name, cmd in commands().items() if name in ("eval --json", "import click, lark")}
    times = measure(cmds, rounds=11)
    ratio = statistics.median(a / b for a, b in zip(times["eval --json"], times["import click, lark"], strict=True))
    ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    print(f"start-up: eval --json {ms['eval --json']:.0f} ms, import click, lark {ms['import click, lark']:.0f} ms")
    print(f"  {ratio:.2f}x (median of 11 rounds; target <= 1.25x) {_verdict(ratio <= 1.25)}")


def main() -> None:
    # As an installed package is: compiled to bytecode once (PYTHONDONTWRITEBYTECODE would
    # otherwise have every run compile the changed modules again, as no user's run does).
    import autodiff_cli

    compileall.compile_dir(Path(autodiff_cli.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        bench_batch(Path(tmp))
    bench_long_program()
    bench_startup()


if __name__ == "__main__":
    main()
