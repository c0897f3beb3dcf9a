"""The driver's plan (lalr_plan.py, shipped as grammar_driver.json): valid programs parse without lark.

The plan is lark's table for grammar.lark as plain data. It must be current
(a fresh export gives the same file), sealed (a damaged or foreign plan is
never used: the driver is then built from lark's parser, as before), and a
driver run from it must read every program as lark's loop does.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import lark
import pytest

from autodiff_cli import lalr, lalr_plan, parser, parser_tables
from autodiff_cli.program import Program

from .test_core import random_programs
from .test_lalr import broken, corpus

pytestmark = pytest.mark.timeout(120)
PLAN = pathlib.Path(parser_tables.SHIPPED_PLAN)


def fresh_plan() -> str:
    """The plan of the parser parser.py runs (from the shipped tables, whose state numbers are canonical)."""
    return parser_tables.dumps(parser_tables.driver_plan(parser._parser(), parser_tables.read_grammar()))


def test_the_shipped_plan_is_current() -> None:
    assert fresh_plan() == fresh_plan()
    tables = json.loads(pathlib.Path(parser_tables.SHIPPED).read_text(encoding="utf-8"))
    if tables["lark"] != lark.__version__:
        pytest.skip(f"made with lark {tables['lark']}, installed {lark.__version__}: another lark may number states otherwise")
    assert PLAN.read_text(encoding="utf-8") == fresh_plan(), "run tools/build_parser_tables.py"
    assert parser_tables.shipped_plan() is not None


def callbacks() -> dict[str, Any]:
    return {name: getattr(parser._BUILDER, name) for name in vars(parser._CALLBACKS)}


def outcome(driver: lalr.Driver, source: str) -> Any:
    with parser._LOCK:
        parser._BUILDER.reset(source)
        try:
            graph = driver.parse(source)
        except lalr.Reject:
            return "reject"
        except Exception as err:  # the builder's own errors (names, arity) come out of either driver alike
            return repr(err)
        finally:
            parser._BUILDER.reset("")
    index = {id(v): i for i, v in enumerate([*graph.nodes, *graph.inputs.values(), *graph.constants])}
    shape = [(v._op, [index[id(c)] for c in v._prev]) for v in graph.nodes]
    value = Program(graph).run({name: 0.25 + 0.5 * i for i, name in enumerate(graph.inputs)}, strict=False).value
    return shape, list(graph.positions), value.hex()


@pytest.mark.parametrize("compiled", sorted({False, lalr.COMPILED}))
def test_a_driver_from_the_plan_reads_what_a_driver_from_lark_reads(compiled: bool) -> None:
    plan = parser_tables.shipped_plan()
    assert plan is not None
    from_plan = lalr.Driver(plan, callbacks(), compiled=compiled)
    from_lark = lalr.Driver(parser._parser(), callbacks(), compiled=compiled)
    # parser._callbacks(): with the compiled core, binary, number and name are C shortcuts (_nodes.c)
    shortcuts = lalr.Driver(plan, parser._callbacks(), compiled=compiled)
    sources = corpus()[:200] + random_programs(41, 400) + list(broken(42, 400))
    sources += ["x = 1e400", "é + é*2", "a = 2; b = a^a + a", "pi*e + tau", "1 + sin", "ｘ + 1"]
    got = [outcome(from_plan, s) for s in sources]
    assert got == [outcome(from_lark, s) for s in sources]
    assert got == [outcome(shortcuts, s) for s in sources]
    assert 100 < got.count("reject") < 700


def damaged(text: str) -> list[str]:
    """The plan's text changed in ways a seal or the loader must catch."""
    return [
        text[:-200],  # torn
        text.replace('"start":', '"start": ', 1),  # edited: the seal breaks
        "",
        "{}",
    ]


def resealed(mutate: Any) -> str:
    """The shipped plan with ``mutate`` applied to its data, sealed again: only the loader's checks stand in the way."""
    stored = json.loads(PLAN.read_text(encoding="utf-8"))
    del stored["sha256"]
    mutate(stored["plan"])
    return parser_tables.dumps(stored)


BROKEN_PLANS = {
    "a state that does not exist": lambda p: p["states"][0].__setitem__(0, [p["states"][0][0][0], 10_000]),
    "a rule that does not exist": lambda p: p["states"][0].__setitem__(0, [p["states"][0][0][0], -10_000]),
    "no pattern": lambda p: p.pop("pattern"),
    "a pattern that does not compile": lambda p: p.__setitem__("pattern", "(unclosed"),
    "another format": lambda p: p.__setitem__("format", 99),
    "a start outside the table": lambda p: p.__setitem__("start", -1),
}


@pytest.mark.parametrize("name", sorted(BROKEN_PLANS))
def test_a_plan_that_does_not_hang_together_is_refused(name: str) -> None:
    text = resealed(BROKEN_PLANS[name])
    plan = parser_tables.read_plan(text.encode("utf-8"), parser_tables.read_grammar())
    assert plan is not None  # the seal holds: the loader must refuse it
    with pytest.raises(ValueError):
        lalr_plan.load(plan)


def run_with_plan(text: str | None, tmp: pathlib.Path, program: str) -> subprocess.CompletedProcess[str]:
    """``evaluate(program)`` in a fresh process whose package reads ``text`` as its plan (None: no plan file)."""
    path = tmp / "plan.json"
    path.unlink(missing_ok=True)
    if text is not None:
        path.write_text(text, encoding="utf-8")
    code = (
        "import sys\n"
        "from autodiff_cli import parser_tables\n"
        f"parser_tables.SHIPPED_PLAN = {str(path)!r}\n"
        "from autodiff_cli import evaluate, AutodiffError\n"
        "try:\n"
        f"    r = evaluate({program!r}, {{'a': 2.0, 'b': 3.0}})\n"
        "    print(r.value, r.gradients)\n"
        "except AutodiffError as err:\n"
        "    print(err)\n"
        "print('lark' in sys.modules)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_without_a_usable_plan_the_driver_comes_from_lark_and_answers_the_same(tmp_path: pathlib.Path) -> None:
    good = PLAN.read_text(encoding="utf-8")
    expected = run_with_plan(good, tmp_path, "tanh(a*b) + a/b")
    assert expected.returncode == 0 and expected.stdout.splitlines()[-1] == "False", expected  # no lark needed
    for text in [None, *damaged(good), resealed(BROKEN_PLANS["a state that does not exist"])]:
        got = run_with_plan(text, tmp_path, "tanh(a*b) + a/b")
        assert got.returncode == 0, got.stderr
        assert got.stdout.splitlines()[0] == expected.stdout.splitlines()[0]
        assert got.stdout.splitlines()[-1] == "True"  # lark's parser stood in
    error = run_with_plan(good, tmp_path, "a + * b")
    assert error.stdout.splitlines() == ["syntax error at line 1, column 5: unexpected '*'", "True"]
