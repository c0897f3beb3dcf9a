"""The compiled nodes (``_nodes.c``) against the pure engine: the same numbers to the bit, the same errors.

engine.Value's base is ``_speedups.Node`` when the compiled core loads, and a
Python class with slots otherwise; forward, backpropagate and the topological
sort run in C then, handing back to engine.py every case that is not plain and
finite. Here one workload (tests/engine_workload.py: graphs through operators
and methods at float64's edges, internal operations, programs run strictly and
under --allow-nonfinite, second derivatives) runs in this process and in one
with AUTODIFF_PURE_RUNTIME=1, and each C kernel is held to its row of ops.OPS.
"""

from __future__ import annotations

import gc
import json
import math
import os
import pickle
import random
import subprocess
import sys
import threading
from typing import Any

import pytest

from autodiff_cli import AutodiffError, Value, engine
from autodiff_cli.ops import OPS

from . import engine_workload
from .test_core import random_programs

needs_c = pytest.mark.skipif(not engine.COMPILED, reason="the pure core runs: there are no C nodes to compare")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pure_outcomes(seed: int, count: int, sources: list[str]) -> Any:
    env = {**os.environ, "AUTODIFF_PURE_RUNTIME": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "tests.engine_workload", str(seed), str(count)],
        input=json.dumps(sources), capture_output=True, text=True, timeout=240, env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def here(seed: int, count: int, sources: list[str]) -> Any:
    return json.loads(json.dumps(engine_workload.outcomes(seed, count, sources)))  # tuples as lists, as the other side's


@needs_c
@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [1, 2])
def test_the_c_nodes_give_what_the_pure_engine_gives(seed: int) -> None:
    sources = random_programs(100 + seed, 250)
    ours, theirs = here(seed, 1500, sources), pure_outcomes(seed, 1500, sources)
    for kind, a, b in zip(("graphs", "programs", "second order"), ours, theirs, strict=True):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x == y, (kind, i, sources[i] if kind == "programs" else None)
    errors = sum(1 for g in ours[0] if g[0] == "error")
    assert 50 < errors < 1400, errors  # both the plain cases and the failing ones were met


@needs_c
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_c_nodes_agree_on_a_large_sample() -> None:
    sources = random_programs(7, 2000)
    assert here(9, 20_000, sources) == pure_outcomes(9, 20_000, sources)


KERNEL_POINTS = [*engine_workload.EDGES, math.inf, -math.inf, math.nan, 1e-300, -1e-300, 0.75, -2.5, 1e154, 1e151]


@needs_c
@pytest.mark.parametrize("name", sorted(getattr(engine._speedups, "KERNELS", ())))
def test_each_kernel_is_its_row_bit_for_bit(name: str) -> None:
    # Where a kernel answers, the row of ops.OPS gives that very float and raises nothing.
    op = OPS[name]
    rng = random.Random(name)
    points = [*KERNEL_POINTS, *(rng.uniform(-5, 5) for _ in range(300))]
    points += [rng.choice([-1, 1]) * 10 ** rng.uniform(-300, 300) for _ in range(300)]
    answered = 0
    for x in points:
        for y in points[::7] if op.arity == 2 else [0.0]:
            args = (x, y)[: op.arity]
            value = engine._speedups.kernel(name, x, y, 0.0)[0]
            if value is not None:
                want = op.forward(*args)
                assert value == want or (math.isnan(value) and math.isnan(want)), (name, args)
                assert math.copysign(1.0, value) == math.copysign(1.0, want) and math.isfinite(value)
                answered += 1
                out = value
            else:
                out = 1.5
            got = engine._speedups.kernel(name, x, y, out)
            if got[1] is None:
                continue
            try:
                want_d = op.derivative(*args, out)
            except (OverflowError, ValueError, ZeroDivisionError):
                pytest.fail(f"the kernel answered where the row raises: {name}{args}")
            want_d = want_d if isinstance(want_d, tuple) else (want_d,)
            for mine, theirs in zip(got[1 : 1 + op.arity], want_d, strict=True):
                assert mine == theirs or (math.isnan(mine) and math.isnan(theirs)), (name, args, out)
                assert math.copysign(1.0, mine) == math.copysign(1.0, theirs), (name, args, out)
    assert answered > 200


def test_values_keep_the_pure_engines_rules() -> None:
    a, b = Value(2), Value(0.5)
    assert type(a.data) is float and a.data == 2.0
    with pytest.raises(AutodiffError, match="not a number"):
        Value(True)
    with pytest.raises(AutodiffError, match="not a finite float64"):
        Value(math.inf)
    with pytest.raises(AutodiffError, match="not a number"):
        a + True
    with pytest.raises(TypeError):
        a + "2"  # type: ignore[operator]
    with pytest.raises(AutodiffError, match="division by zero"):
        a / 0
    with pytest.raises(AutodiffError, match="overflows"):
        Value(800.0).exp()
    assert ((3 - a) * b)._op == "*" and (3 - a).data == 1.0 and (2**b).data == 2**0.5 and (-a).data == -2.0
    assert a.min(b).data == 0.5 and a.atan2(1).data == math.atan2(2.0, 1.0)
    assert a.tanh()._prev == (a,) and (a * b)._prev == (a, b) and a._prev == () and a._op == ""


@needs_c
def test_a_c_node_refuses_what_no_operation_is() -> None:
    a = Value(1.0)
    with pytest.raises(ValueError, match="at most two children"):
        Value(0.0, (a, a, a), "+")
    with pytest.raises(ValueError, match="must name an operation"):
        Value(0.0, (a,), "nosuch")
    with pytest.raises(ValueError, match="takes 2"):
        Value(0.0, (a,), "+")
    with pytest.raises(TypeError, match="are Values"):
        Value(0.0, (1.0,), "neg")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.tanh(a)  # type: ignore[call-arg]


def test_nonfinite_values_and_gradient_graphs_survive_pickling() -> None:
    x = Value(0.0)
    y = Value(1.0)
    z = Value(0.0, (x, y), "/")
    engine.forward([z], strict=False)
    assert math.isnan(z.data) is False and z.data == 0.0
    w = Value(0.0, (y, x), "/")
    engine.forward([w], strict=False)
    assert w.data == math.inf
    again = pickle.loads(pickle.dumps(w))
    assert again.data == math.inf and again._op == "/" and [c.data for c in again._prev] == [1.0, 0.0]
    f = (x * y).tanh() + y * y
    f.backward(create_graph=True)
    g = pickle.loads(pickle.dumps(y))
    assert isinstance(g.grad, Value) and g.grad.data == y.grad.data == 2.0


@pytest.mark.timeout(120)
def test_threads_sort_and_backpropagate_shared_graphs() -> None:
    # The C sort counts parents in the nodes themselves; threads sharing nodes must still each get the whole answer.
    leaves = [Value(0.1 * (k + 1)) for k in range(6)]
    shared = sum(((a * b).tanh() for a in leaves for b in leaves), Value(0.0))
    expected = [v._op for v in engine.topological_order(shared)]
    failures: list[str] = []

    def work(k: int) -> None:
        for _ in range(200):
            root = (shared * leaves[k % 6]).exp()
            order = engine.topological_order(root)
            if [v._op for v in order[:-2]] != expected:
                failures.append("order")
            root.backward()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_node_that_reaches_itself_through_its_gradient_is_collected() -> None:
    gc.collect()
    leaf = Value(0.25)
    before = sys.getrefcount(leaf)
    x = Value(1.0)
    (x * x * leaf).backward(create_graph=True)
    x.grad.backward(create_graph=True)  # x.grad's graph holds x, and x holds it
    del x
    leaf.grad = 0.0  # the leaf's own gradient graph holds the leaf too
    gc.collect()
    assert sys.getrefcount(leaf) == before


def test_a_cycle_through_a_node_tracked_before_is_collected() -> None:
    # y is given a gradient first; later x's gradient leads through y and y2 back to x. Every node on that
    # cycle must be seen by the collector, y2 too, though the walk from x's gradient meets y first.
    gc.collect()
    leaf = Value(0.5)
    before = sys.getrefcount(leaf)
    for _ in range(20):
        x = Value(1.0)
        y2 = x * leaf
        y = y2 * 1.0
        y.grad = Value(0.0)
        x.grad = y + 1.0
        del x, y, y2
    gc.collect()
    assert sys.getrefcount(leaf) == before
