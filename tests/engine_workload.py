"""One workload for both cores: graphs built through Value's operators and programs run, as plain data.

tests/test_nodes.py runs ``outcomes`` in its own process (the compiled core,
where it is built) and again in a process with AUTODIFF_PURE_RUNTIME=1, and
the two must be equal: every value and gradient to the bit (as float.hex),
every error's kind and message, every topological order.
"""

from __future__ import annotations

import json
import math
import operator
import random
import sys
from typing import Any

from autodiff_cli import AutodiffError, Value
from autodiff_cli.engine import forward, topological_order
from autodiff_cli.ops import FUNCTIONS, INTERNAL
from autodiff_cli.parser import parse
from autodiff_cli.program import Program

# Where float64 and the operations have their edges, and ordinary numbers between them.
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, 1e-310, -1e-310, 5e-324, 1e-8, 1e150, 1.5e154, -1e200, 1e300,
         1.7e308, 709.0, 710.0, -745.0, -746.0, 20.0, 0.999999999, 1.000000001, math.pi / 2, 1e16, -36.0, 40.0]  # fmt: skip
UNARY = sorted(name for name, op in FUNCTIONS.items() if op.arity == 1)
INTERNALS = [op for op in INTERNAL]  # only gradient graphs make these: built here as they do, then run forward


OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def number(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(EDGES)
    if roll < 0.7:
        return rng.uniform(-3.0, 3.0)
    return rng.choice([-1, 1]) * 10 ** rng.uniform(-30, 30)


def hexed(x: Any) -> Any:
    return x.hex() if isinstance(x, float) else repr(x)


def error(err: Exception) -> list[Any]:
    return ["error", type(err).__name__, getattr(err, "kind", None), str(err)]


def one_graph(rng: random.Random) -> list[Any]:
    """A random expression built through operators and methods, numbers on either side; then backward."""
    leaves = [Value(number(rng)) for _ in range(rng.randint(1, 4))]
    pool: list[Any] = list(leaves)
    try:
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            a = rng.choice(pool)
            if kind < 0.35:
                b = rng.choice(pool) if rng.random() < 0.7 else rng.choice([number(rng), rng.randint(-3, 3)])
                symbol = rng.choice(["+", "-", "*", "/", "**"])
                if rng.random() < 0.5:
                    a, b = b, a
                if not isinstance(a, Value) and not isinstance(b, Value):
                    a = Value(float(a))
                out = OPERATORS[symbol](a, b)
            elif kind < 0.45:
                out = -a if isinstance(a, Value) else -Value(float(a))
            elif kind < 0.75:
                out = getattr(a if isinstance(a, Value) else Value(float(a)), rng.choice(UNARY))()
            elif kind < 0.85:
                op = rng.choice(INTERNALS)
                kids = tuple(x if isinstance(x, Value) else Value(float(x)) for x in [a, rng.choice(pool)][: op.arity])
                out = Value(0.0, kids, op.name)
                forward([out])
            else:
                name = rng.choice(["min", "max", "atan2", "pow"])
                other = rng.choice(pool) if rng.random() < 0.7 else number(rng)
                out = getattr(a if isinstance(a, Value) else Value(float(a)), name)(other)
            pool.append(out)
    except AutodiffError as err:
        return error(err)
    root = pool[-1]
    if not isinstance(root, Value):
        return ["number", hexed(root)]
    order = topological_order(root)
    root.backward()
    first = [hexed(v.grad) for v in leaves]
    root.backward()  # again: the same answer
    return [hexed(root.data), first, [hexed(v.grad) for v in leaves], [(v._op, hexed(v.data)) for v in order]]


def one_program(source: str, rng: random.Random) -> list[Any]:
    try:
        program = Program(parse(source))
    except AutodiffError as err:
        return error(err)
    out: list[Any] = []
    for strict in (True, False, True):
        bindings = {name: number(rng) for name in program.inputs}
        try:
            result = program.run(bindings, strict=strict)
            out.append([hexed(result.value), {k: hexed(g) for k, g in result.gradients.items()}])
        except AutodiffError as err:
            out.append([*error(err), err.line, err.column])
    return out


def second_order(rng: random.Random) -> list[Any]:
    x, y = Value(rng.uniform(-2, 2)), Value(rng.uniform(0.1, 2))
    f = (x * y).tanh() * x.exp() + (x / y).atan() + (x * x + y).sqrt()
    f.backward(create_graph=True)
    gx, gy = x.grad, y.grad
    gx.backward()
    return [hexed(gx.data), hexed(gy.data), hexed(x.grad), hexed(y.grad)]


def outcomes(seed: int, count: int, sources: list[str]) -> list[Any]:
    rng = random.Random(seed)
    graphs = [one_graph(rng) for _ in range(count)]
    programs = [one_program(s, rng) for s in sources]
    return [graphs, programs, [second_order(rng) for _ in range(20)]]


if __name__ == "__main__":
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    sources = json.loads(sys.stdin.read())
    print(json.dumps(outcomes(seed, count, sources)))
