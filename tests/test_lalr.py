"""lalr.Driver against lark's own loop: the same graphs, numbers and errors on every program we have.

lark's loop (``parser.LARK_LOOP = True``) is the reference: the driver runs
lark's tables, so any program on which the two differ is a driver bug.
"""

from __future__ import annotations

import json
import math
import pathlib
import random
from collections.abc import Iterator
from typing import Any

import pytest

from autodiff_cli import AutodiffError, parser
from autodiff_cli.lalr import Driver, Reject
from autodiff_cli.program import Program

from .conftest import DATA

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
ODD = [
    "²",
    "⁻",
    "¹",
    "½",
    "\u00a0",
    "\u2028",
    "é",
    "ＡＢ",
    "\x00",
    "\t",
    "\r",
    "\v",
    "🙂",
    "#",
    "\n",
    "(",
    ")",
    ",",
    "=",
    "+=",
    "^",
    "**",
    ";",
    "e9",
    ".",
]


def corpus() -> list[str]:
    lines = (DATA / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["expr"] for line in lines if line.strip()]


def examples() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.ad"))]


def broken(seed: int, count: int) -> Iterator[str]:
    """Programs from the corpus, cut short, with characters inserted or deleted, odd unicode among them."""
    rng = random.Random(seed)
    sources = corpus() + examples()
    for _ in range(count):
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 3)):
            where = rng.randint(0, len(text))
            mutation = rng.randrange(4)
            if mutation == 0:
                text = text[:where]
            elif mutation == 1:
                text = text[:where] + rng.choice(ODD) + text[where:]
            elif mutation == 2:
                text = text[:where] + text[where + 1 :]
            else:
                text = text[:where] + rng.choice(text or "a") + text[where:]
        yield text


def outcome(source: str, lark_loop: bool) -> tuple[Any, ...]:
    """Everything a caller can see of parsing and running ``source``, as plain data."""
    saved = parser.LARK_LOOP
    parser.LARK_LOOP = lark_loop
    try:
        graph = parser.parse(source)
    except AutodiffError as err:
        return ("error", err.to_dict(), err.caret(), str(err))
    finally:
        parser.LARK_LOOP = saved
    index = {id(v): i for i, v in enumerate([*graph.nodes, *graph.inputs.values(), *graph.constants])}
    shape = [(v._op, [index[id(c)] for c in v._prev]) for v in graph.nodes]
    where = (list(graph.positions), graph.input_positions, {k: index[id(v)] for k, v in graph.names.items()})
    constants = [v.data for v in graph.constants]
    try:
        result = Program(graph).run({name: 0.5 + 0.25 * i for i, name in enumerate(graph.inputs)})
        numbers: Any = (result.value, result.gradients)
    except AutodiffError as err:
        numbers = ("error", err.to_dict())
    return ("graph", shape, where, constants, list(graph.inputs), index[id(graph.result)], repr(numbers))


def driver_accepts(source: str) -> bool:
    """Whether the driver alone, without lark's loop to fall back on, reads ``source`` as a program."""
    with parser._LOCK:
        parser._BUILDER.reset(source)
        try:
            parser._driver().parse(source)
        except Reject:
            return False
        except AutodiffError:
            return True  # read as a program; the builder refused a name or a number in it
        finally:
            parser._BUILDER.reset("")
    return True


def assert_same(sources: list[str]) -> int:
    """Both loops agree on every source; returns how many were errors, so a test can see it tried some.

    The driver falls back on lark's loop when it rejects a text, so agreeing
    outcomes alone would hide a driver that rejects too much: every text lark
    reads as a program must be read by the driver alone too. (A text that
    fails in the builder, such as an unknown function, may also hold a syntax
    error further on, which the driver may meet first: only programs count.)
    """
    errors = 0
    for source in sources:
        ours, theirs = outcome(source, lark_loop=False), outcome(source, lark_loop=True)
        assert ours == theirs, source
        if theirs[0] == "graph":
            assert driver_accepts(source), f"the driver rejects a program lark reads: {source!r}"
        errors += ours[0] == "error"
    return errors


@pytest.mark.contract
@pytest.mark.timeout(120)
def test_corpus_and_examples_parse_the_same() -> None:
    sources = corpus() + examples()
    assert len(sources) > 400
    assert assert_same(sources) < len(sources) // 2


@pytest.mark.timeout(300)
def test_3000_broken_programs_fail_or_parse_the_same() -> None:
    errors = assert_same(list(broken(seed=15, count=3000)))
    assert 500 < errors < 3000  # the mutations make both kinds


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "source",
    [
        "",
        "\n\n",
        "# only a comment",
        "a\n+b",
        "(a\n+\nb)",
        "f(a,\n b)",
        "atan2(a,\n b)\n",
        "x = 1; y = 2\nx*y # done",
        "a;;b",
        "pow(a,)",
        "sin()",
        "sin(a, b)",
        "a b",
        "2a",
        "x²",
        "x⁻¹",
        "a +",
        "(a",
        "a)",
        "1 = a",
        "a +=",
        "1e999",
        "sin = 2",
        "exp",
        "ln(a)",
        "a\r\n+ b",
        "a\x00",
        "a   ",
        " \t\f\r\v",
        "a \v\n b",
        "a  $",
        "(a \n\t) # x\n",
        "x=1 \t",
    ],
)
def test_edges_parse_the_same(source: str) -> None:
    assert outcome(source, lark_loop=False) == outcome(source, lark_loop=True)


# A newline ends a statement once every bracket before it is closed, whatever follows it;
# each program with the value it has at a = 0.5, b = 2, computed here with math.
STATEMENT_ENDS = [
    ("t1 = sin(a)\n-t1", -math.sin(0.5)),
    ("t1 = sin(a)\n\n-t1\n", -math.sin(0.5)),
    ("y = (a)\n-y", -0.5),
    ("y = (a + b)\n+y", 2.5),
    ("f = exp(a)\n(f)", math.exp(0.5)),
    ("g = pow(a, 2)\n-g", -0.25),
    ("h = ((a))\n-(h)*b", -1.0),
    ("u = atan2(a,\n b)\n-u", -math.atan2(0.5, 2)),
    ("v = max(a, b) # top\n-v", -2.0),
    ("w = (a\n)\n-w", -0.5),
    ("x = log(b); z = (x)\n-z", -math.log(2)),
    ("p = a\n-(p)\n", -0.5),
    ("q = a*(b\n-a)\n-q", -0.5 * 1.5),
]


@pytest.mark.contract
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("source", "value"), STATEMENT_ENDS)
def test_a_newline_after_a_closing_bracket_ends_the_statement(source: str, value: float) -> None:
    assert driver_accepts(source)
    for lark_loop in (False, True):
        got = outcome(source, lark_loop)
        assert got[0] == "graph", (source, got)
    parser._PARSED_ONE = True  # the next parse goes through the driver, not lark's loop
    result = Program(parser.parse(source)).run({"a": 0.5, "b": 2.0})
    assert math.isclose(result.value, value, rel_tol=1e-15), source


@pytest.mark.timeout(60)
def test_driver_rejects_what_lark_rejects_and_nothing_else() -> None:
    driver = parser._driver()
    parser._BUILDER.reset("a +")
    with pytest.raises(Reject):
        driver.parse("a +")
    parser._BUILDER.reset("a + b")
    assert driver.parse("a + b").result._op == "+"


@pytest.mark.timeout(60)
def test_a_grammar_the_driver_does_not_know_is_refused_not_misread() -> None:
    # A rule with no callback and no leading underscore would be a parse tree node: the driver refuses it.
    callbacks = {name: getattr(parser._BUILDER, name) for name in vars(parser._CALLBACKS) if name != "binary"}
    with pytest.raises(ValueError, match="binary"):
        Driver(parser._parser(), callbacks)


@pytest.mark.timeout(120)
def test_deep_and_long_programs_need_no_recursion() -> None:
    long = "+".join(f"a{i % 7}*{i}" for i in range(20_000))
    deep = "(" * 5_000 + "a" + ")" * 5_000
    for source in (long, deep):
        assert outcome(source, lark_loop=False) == outcome(source, lark_loop=True)
