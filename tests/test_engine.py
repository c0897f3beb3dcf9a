"""The Value engine: the seeds' examples, Python operators, and the properties that scale."""

from __future__ import annotations

import gc
import math
import sys

import pytest

from autodiff_cli import Value
from autodiff_cli.engine import topological_order
from autodiff_cli.ops import FUNCTIONS

from .conftest import CASES, close

BY_ID = {c["id"]: c for c in CASES}


def test_seed_smart_number() -> None:
    # shared/seeds/000: "With Value objects"
    a = Value(2)
    b = Value(3)
    c = a + b  # c = Value(5), but it REMEMBERS it came from a + b
    assert c.data == 2 + 3
    assert set(c._prev) == {a, b}
    assert c._op == "+"


def test_seed_dag_and_backward() -> None:
    # shared/seeds/000: "The Computational Graph Structure", checked against the corpus.
    a = Value(2)
    b = Value(3)
    c = a + b
    d = c * 4
    d.backward()
    case = BY_ID["seed-dag"]
    assert d.data == case["value"]
    assert a.grad == case["gradients"]["a"] and b.grad == case["gradients"]["b"]
    assert c._prev == (a, b), "children keep their order"
    assert d._prev[0] is c and d._prev[1].data == 4 and d._op == "*"


def test_seed_value_fields() -> None:
    v = Value(5.0, (), "")
    assert (v.data, v.grad, v._prev, v._op) == (5.0, 0.0, (), "")


def test_seed_constructor_builds_graphs_by_hand() -> None:
    # The seed's own __add__ builds ``Value(self.data + other.data, (self, other), '+')``.
    a, b = Value(2.0), Value(5.0)
    out = Value(a.data * b.data, (a, b), "*")
    out.backward()
    assert (a.grad, b.grad) == (5.0, 2.0)


def central_difference(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


OPERATOR_FORMS = [
    (lambda v: 2 + v, lambda x: 2 + x),
    (lambda v: v + 2, lambda x: x + 2),
    (lambda v: 2 - v, lambda x: 2 - x),
    (lambda v: v - 2, lambda x: x - 2),
    (lambda v: 3 * v, lambda x: 3 * x),
    (lambda v: v * 3, lambda x: x * 3),
    (lambda v: 2 / v, lambda x: 2 / x),
    (lambda v: v / 2, lambda x: x / 2),
    (lambda v: v**3, lambda x: x**3),
    (lambda v: 2**v, lambda x: 2**x),
    (lambda v: v**v, lambda x: x**x),
    (lambda v: -v, lambda x: -x),
    (lambda v: +v * v, lambda x: x * x),
    (lambda v: (v * v).tanh().exp(), lambda x: math.exp(math.tanh(x * x))),
    (lambda v: v.max(1.0) + v.min(2.0) + v.atan2(3.0) + v.pow(2), lambda x: max(x, 1) + min(x, 2) + math.atan2(x, 3) + x**2),
]


@pytest.mark.parametrize(("build", "plain"), OPERATOR_FORMS)
@pytest.mark.parametrize("x", [0.7, 1.6, 2.3])
def test_operators_match_python_and_finite_differences(build, plain, x: float) -> None:
    v = Value(x)
    out = build(v)
    out.backward()
    assert close(out.data, plain(x), rel=1e-15, abs_=0)
    assert close(v.grad, central_difference(plain, x), rel=1e-6, abs_=1e-8)


def test_a_method_for_every_function() -> None:
    for name, op in FUNCTIONS.items():
        method = getattr(Value, name)
        out = method(Value(1.5 if name == "acosh" else 0.5)) if op.arity == 1 else method(Value(0.5), Value(0.25))
        assert isinstance(out, Value)


def test_backward_twice_gives_the_same_answer() -> None:
    # micrograd issue #53: gradients piled up on a second backward().
    a, b = Value(1.5), Value(-0.5)
    out = (a * b + a).tanh() * a
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first


def test_shared_node_accumulates() -> None:
    a = Value(3.0)
    out = a * a + a  # the corpus's "shared" case
    out.backward()
    case = BY_ID["shared"]
    assert out.data == case["value"] and a.grad == case["gradients"]["a"]


def test_topological_order_is_deterministic_and_valid() -> None:
    xs = [Value(0.1 * i) for i in range(5)]
    out = xs[0]
    for i in range(200):
        out = out * xs[i % 5] + xs[(i * 3) % 5]
    first = topological_order(out)
    assert [id(v) for v in topological_order(out)] == [id(v) for v in first]
    place = {id(v): i for i, v in enumerate(first)}
    assert all(place[id(c)] < place[id(v)] for v in first for c in v._prev)
    assert first[-1] is out and len(place) == len(first)


@pytest.mark.slow
def test_a_million_operation_chain() -> None:
    # Nothing recurses per node: this would blow any recursion limit.
    a = Value(0.5)
    s = a
    steps = 1_000_000
    for _ in range(steps):
        s = s + a
    s.backward()
    assert a.grad == steps + 1
    assert s.data == pytest.approx(0.5 * (steps + 1))


def test_graphs_have_no_reference_cycles() -> None:
    # Reference counting alone frees a graph: with the collector off, once the root goes, every node that
    # held the leaf is gone, so the leaf's count is back where it was. (Counted through the leaf, not
    # gc.get_objects(): the compiled core's nodes are not tracked by the collector at all.)
    gc.collect()
    gc.disable()
    try:
        a = Value(0.3)
        before = sys.getrefcount(a)
        out = a
        for _ in range(1000):
            out = (out * a).tanh() + a.exp()
        out.backward()
        assert sys.getrefcount(a) - before > 2000  # the graph is there, holding the leaf, while referenced
        del out
        assert sys.getrefcount(a) == before
    finally:
        gc.enable()


def test_a_gradient_graph_that_leads_back_is_collected() -> None:
    # backward(create_graph=True) makes x.grad a graph that uses x: a real cycle, which the collector
    # must see and free (the compiled core tracks exactly such nodes).
    leaf = Value(0.7)
    before = sys.getrefcount(leaf)
    for _ in range(50):
        x = Value(1.5)
        y = (x * x * leaf).tanh() + x * leaf
        y.backward(create_graph=True)
        assert isinstance(x.grad, Value)
        x.grad.backward()
        del x, y
    gc.collect()
    assert sys.getrefcount(leaf) == before


def test_freeing_a_deep_chain_does_not_recurse() -> None:
    # 300,000 nodes, each the child of the next: freeing the root must not take one C frame per node.
    a = Value(0.5)
    s = a
    for _ in range(300_000):
        s = -s
    del s  # a crash here is the failure


def test_numbers_of_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        Value(1.0) + "2"
