"""The compiled core (``_speedups.c``) against the pure-Python loop: the same answers, the same rejections.

``lalr.Driver`` runs its loop in C when the extension was built and loads
(``lalr.COMPILED``), else in Python; ``compiled=False`` gives the Python loop
whichever is installed, so where the C loop runs both parse the same programs
(and reject the same texts) and every graph, position, number and error is
compared. tests/test_lalr.py compares whichever loop runs with lark's own.
CI sets ``AUTODIFF_REQUIRE=compiled`` (or ``pure``) where it built or chose
that core on purpose, so that a build that fell back silently fails here.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import random
import re
import subprocess
import sys
import threading
from typing import Any

import pytest

from autodiff_cli import AutodiffError, engine, lalr, parser
from autodiff_cli.cli import core
from autodiff_cli.program import Program

from .test_lalr import broken, corpus, examples

FUNCTIONS = ["sin", "cos", "exp", "tanh", "atan", "log", "sqrt", "atan2", "sinh", "nosuch"]
needs_c = pytest.mark.skipif(not lalr.COMPILED, reason="the pure core runs: there is no compiled loop to compare")


def random_programs(seed: int, count: int) -> list[str]:
    """Programs shaped like the bench's and beyond: operators, calls of any arity, powers, signs, statements, comments."""
    rng = random.Random(seed)

    def expr(depth: int) -> str:
        kind = rng.randrange(7) if depth else 0
        if kind == 0:
            return rng.choice(["a", "b", "c", "x1", "pi", "é", str(rng.randint(1, 99)), f"{rng.random():.3g}", "1e400"])
        if kind == 1:
            return f"{expr(depth - 1)} {rng.choice(['+', '-', '*', '/', '^', '**'])} {expr(depth - 1)}"
        if kind == 2:
            args = ", ".join(expr(depth - 1) for _ in range(rng.randrange(3)))
            return f"{rng.choice(FUNCTIONS)}({args})"
        if kind == 3:
            return f"({expr(depth - 1)})^{rng.choice(['2', '-0.5', 'a', '+a^2'])}"
        if kind == 4:
            return f"({rng.choice(['', chr(10)])}{expr(depth - 1)}{rng.choice(['', chr(10)])})"
        return f"{rng.choice('-+')}{expr(depth - 1)}"

    out = []
    for _ in range(count):
        statements = [f"{rng.choice(['p', 'q', 'a'])} {rng.choice(['=', '+=', '*='])} {expr(3)}" for _ in range(rng.randrange(3))]
        comment = rng.choice(["", "  # a comment", "\n# a line\n"])
        out.append(rng.choice([";", "\n", " ; \n"]).join([*statements, expr(rng.randint(1, 5))]) + comment)
    return out


def outcome(driver: lalr.Driver, source: str) -> tuple[Any, ...]:
    """What ``driver`` makes of ``source`` alone (no lark loop to fall back on), as plain data."""
    with parser._LOCK:
        parser._BUILDER.reset(source)
        try:
            graph = driver.parse(source)
        except lalr.Reject:
            return ("reject",)
        except AutodiffError as err:
            return ("error", err.to_dict(), err.caret())
        finally:
            parser._BUILDER.reset("")
    index = {id(v): i for i, v in enumerate([*graph.nodes, *graph.inputs.values(), *graph.constants])}
    shape = [(v._op, [index[id(c)] for c in v._prev]) for v in graph.nodes]
    where = (list(graph.positions), graph.input_positions, {k: index[id(v)] for k, v in graph.names.items()})
    try:
        result = Program(graph).run({name: 0.5 + 0.25 * i for i, name in enumerate(graph.inputs)})
        numbers: Any = (result.value.hex(), {k: g.hex() for k, g in result.gradients.items()})
    except AutodiffError as err:
        numbers = ("error", err.to_dict())
    return ("graph", shape, where, [v.data for v in graph.constants], index[id(graph.result)], numbers)


def drivers() -> tuple[lalr.Driver, lalr.Driver]:
    """The C loop and the Python loop, over the same tables and the same builder."""
    callbacks = {name: getattr(parser._BUILDER, name) for name in vars(parser._CALLBACKS)}
    return lalr.Driver(parser._parser(), callbacks), lalr.Driver(parser._parser(), callbacks, compiled=False)


def test_the_core_is_the_one_asked_for() -> None:
    required = {"compiled", "pure"} & set(os.environ.get("AUTODIFF_REQUIRE", "").split(","))
    if "compiled" in required:
        assert lalr.COMPILED, "AUTODIFF_REQUIRE=compiled, but the compiled core did not load"
    if "pure" in required:
        assert not lalr.COMPILED, "AUTODIFF_REQUIRE=pure, but the compiled core loaded"
    assert core() == ("compiled" if lalr.COMPILED else "pure Python")
    assert engine.COMPILED == lalr.COMPILED  # one module, one switch: the loop and the nodes come together


@pytest.mark.timeout(60)
@pytest.mark.parametrize("pure", [False, True])
def test_version_names_the_core_that_runs(pure: bool) -> None:
    env = {**os.environ, "AUTODIFF_PURE_RUNTIME": "1" if pure else "0"}
    out = subprocess.run([sys.executable, "-m", "autodiff_cli", "--version"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0 and out.stderr == ""
    built = importlib.util.find_spec("autodiff_cli._speedups") is not None  # installed, whether this process ignores it or not
    which = "pure Python" if pure or not built else "compiled"
    assert out.stdout.endswith(f"({which} core)\n"), out.stdout


def test_the_pure_loop_can_always_be_asked_for() -> None:
    _, pure = drivers()
    assert pure.loop is None
    if not lalr.COMPILED:
        callbacks = {name: getattr(parser._BUILDER, name) for name in vars(parser._CALLBACKS)}
        with pytest.raises(ValueError, match="compiled core is not loaded"):
            lalr.Driver(parser._parser(), callbacks, compiled=True)


@needs_c
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_c_loop_does_what_the_python_loop_does() -> None:
    c_loop, python_loop = drivers()
    assert c_loop.loop is not None
    sources = corpus() + examples() + random_programs(25, 2500) + list(broken(26, 2500))
    kinds = {"graph": 0, "error": 0, "reject": 0}
    for source in sources:
        ours = outcome(c_loop, source)
        assert ours == outcome(python_loop, source), source
        kinds[ours[0]] += 1
    assert min(kinds.values()) > 50, kinds  # every outcome was met, many times


@needs_c
@pytest.mark.timeout(60)
def test_the_c_loop_agrees_on_a_quick_sample() -> None:
    c_loop, python_loop = drivers()
    sources = corpus()[:150] + random_programs(7, 300) + list(broken(8, 300))
    assert [outcome(c_loop, s) for s in sources] == [outcome(python_loop, s) for s in sources]


@needs_c
@pytest.mark.timeout(120)
@pytest.mark.parametrize("depth", [1, 63, 64, 65, 1000, 100_000])
def test_deep_nesting_grows_the_c_stacks(depth: int) -> None:
    c_loop, python_loop = drivers()
    for source in ["(" * depth + "a" + ")" * depth, "-" * depth + "a", "2^" * depth + "a", "(" * depth + "a" + ")" * (depth - 1)]:
        ours = outcome(c_loop, source)
        assert ours == outcome(python_loop, source)
        assert ours[0] == ("reject" if source.count("(") != source.count(")") else "graph")


@needs_c
@pytest.mark.timeout(60)
def test_an_error_raised_by_a_callback_comes_out_of_the_c_loop_and_leaks_nothing() -> None:
    c_loop, _ = drivers()
    source = "a = 1\nb = sin(a, a) + " + " + ".join(["c"] * 50)
    refs = sys.getrefcount(source)
    for _ in range(200):
        got = outcome(c_loop, source)
        assert got[0] == "error" and got[1]["message"] == "sin takes 1 argument, got 2" and got[1]["line"] == 2
    assert sys.getrefcount(source) == refs


@needs_c
def test_the_c_loop_refuses_tables_it_cannot_run() -> None:
    from autodiff_cli import _speedups  # type: ignore[attr-defined]

    good: dict[str, Any] = dict(
        n_states=2, n_kinds=2, n_origins=1, start=0, end=1, action=[0, 2, 0, 0], go=[1, -1], size=[1], origin=[0],
        picks=[(0,)], methods=(None,), gathers=(None,), roles=[-1, 1], token=lalr.Token, reject=lalr.Reject,
    )  # fmt: skip
    _speedups.Loop(**good)
    bad_tables = [
        {"action": [0, 9, 0, 0]}, {"action": [0, -5, 0, 0]}, {"go": [7, -1]}, {"action": [0, 1]}, {"origin": [3]},
        {"picks": [(0, 1)]}, {"picks": [None]}, {"picks": [(1,)]}, {"start": 2}, {"token": int}, {"methods": (None, None)},
    ]  # fmt: skip
    for bad in bad_tables:
        with pytest.raises((ValueError, TypeError)):
            _speedups.Loop(**{**good, **bad})
    # A table whose first action reduces by a rule of two children would pop below the start: refused as it runs.
    popping = _speedups.Loop(**{**good, "action": [0, -1, 0, 0], "size": [2], "picks": [(0,)]})
    with pytest.raises(ValueError, match="larger than the stack"):
        popping.run("x", iter([re.match("(x)", "x")]))
    with pytest.raises(TypeError, match=r"re\.Match"):
        _speedups.Loop(**good).run("x", iter(["x"]))


@pytest.mark.timeout(120)
def test_threads_parse_through_whichever_core_runs() -> None:
    sources = random_programs(31, 60)
    expected = [outcome_of_parse(s) for s in sources]
    results: list[list[Any]] = []

    def work() -> None:
        results.append([outcome_of_parse(s) for s in sources])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def outcome_of_parse(source: str) -> Any:
    try:
        graph = parser.parse(source)
    except AutodiffError as err:
        return err.to_dict()
    return [(v._op, len(v._prev)) for v in graph.nodes], list(graph.positions)


def test_errors_and_values_pickle_whichever_core_runs() -> None:
    from autodiff_cli import Value, evaluate

    parser.parse("a + b")  # the first parse goes through lark's loop; the rest through the driver
    result = evaluate("tanh(a*b + c)\n", {"a": 2.0, "b": 3.0, "c": 1.0})
    assert pickle.loads(pickle.dumps(result)) == result
    with pytest.raises(AutodiffError) as caught:
        parser.parse("a + * b")
    again = pickle.loads(pickle.dumps(caught.value))
    assert (again.kind, str(again), again.caret()) == (caught.value.kind, str(caught.value), caught.value.caret())
    v = pickle.loads(pickle.dumps(Value(2.5) * 2))
    assert v.data == 5.0 and v._op == "*"
