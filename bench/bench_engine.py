"""Engine speed and memory: autodiff's Value against the seed's design, in one run.

The same 300,000-node graph (a mix of +, *, tanh and exp over a pool of earlier
nodes) is built and backpropagated by each engine, and then released; each
engine is timed from the first node to the memory being free again, because
the seed's closures leave every graph for the garbage collector. Prints the
per-node times, their ratio (target >= 15x) and autodiff's bytes per node
(target <= 141, issue 25). With the compiled core (``_nodes.c``) a node is a C
object; ``AUTODIFF_PURE_RUNTIME=1`` measures the pure-Python one.
"""

from __future__ import annotations

import gc
import pathlib
import random
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.setrecursionlimit(2_000_000)  # the reference sorts recursively

import reference_engine  # noqa: E402

from autodiff_cli.cli import core  # noqa: E402
from autodiff_cli.engine import Value  # noqa: E402
from autodiff_cli.program import compile_program  # noqa: E402

NODES = 300_000
REPEATS = 3


def recipe(n: int, seed: int = 0) -> list[tuple[int, int, float]]:
    """(kind, operand index, constant) triples: the graph, independent of any engine."""
    rnd = random.Random(seed)
    steps = []
    pool = 8
    for i in range(n):
        steps.append((i % 4, rnd.randrange(pool), rnd.uniform(0.1, 0.5)))
        if i % 50 == 49:
            pool += 1
    return steps


def build(value_type: type, steps: list[tuple[int, int, float]]) -> tuple[object, int]:
    """Run the recipe with ``value_type``; return the root and the number of nodes made."""
    pool = [value_type(0.1 * (k + 1)) for k in range(8)]
    cur = pool[0]
    made = len(pool)
    for i, (kind, j, c) in enumerate(steps):
        if kind == 0:
            cur = cur * pool[j]
            made += 1
        elif kind == 1:
            cur = cur + pool[j]
            made += 1
        elif kind == 2:
            cur = (cur * c).tanh()
            made += 3  # the constant, the product, the tanh
        else:
            cur = (cur * c).exp().tanh()
            made += 4
        if i % 50 == 49:
            pool.append(cur)
    return cur, made


def timed(value_type: type, steps: list[tuple[int, int, float]]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    root, made = build(value_type, steps)
    root.backward()
    del root
    gc.collect()  # the reference's graph can only be freed by the collector
    return time.perf_counter() - start, made


def program_source(n_terms: int) -> str:
    """A program of the same flavour for the compiled path."""
    rnd = random.Random(1)
    parts = ["s = x0"]
    for i in range(n_terms):
        j = rnd.randrange(8)
        kind = i % 4
        if kind == 0:
            parts.append(f"s = s * x{j}")
        elif kind == 1:
            parts.append(f"s = s + x{j}")
        elif kind == 2:
            parts.append("s = tanh(s * 0.3)")
        else:
            parts.append("s = tanh(exp(s * 0.2))")
    return "\n".join(parts)


def bytes_per_node(steps: list[tuple[int, int, float]]) -> float:
    gc.collect()
    tracemalloc.start()
    root, made = build(Value, steps)
    root.backward()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del root
    return current / made


def main() -> None:
    steps = recipe(NODES * 4 // 9)  # 2.25 nodes a step on average
    ours, theirs = [], []
    for _ in range(REPEATS):
        t, made = timed(Value, steps)
        ours.append(t / made)
        t, made_ref = timed(reference_engine.Value, steps)
        theirs.append(t / made_ref)
    assert made == made_ref
    o, r = statistics.median(ours), statistics.median(theirs)
    print(f"graph: {made} nodes, {REPEATS} runs each, median; core: {core()} (AUTODIFF_PURE_RUNTIME=1 runs the pure one)")
    print(f"seed design (closures, recursive sort): {r * 1e6:7.2f} us/node build+backward+free")
    print(f"autodiff Value (operators):             {o * 1e6:7.2f} us/node build+backward+free")
    print(f"engine speed-up: {r / o:.1f}x (target >= 15x)")

    program = compile_program(program_source(NODES * 4 // 9))
    xs = {f"x{k}": 0.1 * (k + 1) for k in range(8)}
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        program.run(xs)
        runs.append((time.perf_counter() - start) / len(program.order))
    c = statistics.median(runs)
    print(f"compiled program, re-run in place:      {c * 1e6:7.2f} us/node forward+backward ({len(program.order)} nodes)")
    print(f"re-run speed-up vs seed design: {r / c:.1f}x")
    print(f"memory: {bytes_per_node(steps):.0f} bytes/node (target <= 141)")


if __name__ == "__main__":
    main()
