"""Many threads and many processes: every answer right, or an error of a declared kind."""

from __future__ import annotations

import json
import math
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from autodiff_cli import AutodiffError, Result, compile_program, evaluate
from autodiff_cli.check import check_gradients
from autodiff_cli.explain import explain
from autodiff_cli.hessian import program_hessian

SOURCE = "tanh(a*b+c) + a^2"


def _want(a: float) -> tuple[float, float]:
    """Value and d/da of SOURCE at b=3, c=1, written out by hand."""
    t = math.tanh(3 * a + 1)
    return t + a * a, 3 * (1 - t * t) + 2 * a


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads swap every few bytecodes: races show at once
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _hammer(work: Callable[[int, int], None], threads: int = 8, calls: int = 300) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for i in range(calls):
                work(k, i)
        except BaseException as err:  # collected, so the test names the first
            errors.append(err)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


@pytest.mark.timeout(120)
def test_evaluate_from_many_threads_answers_each_its_own(tiny_switch_interval: None) -> None:
    wrong: list[tuple[float, float]] = []

    def work(k: int, i: int) -> None:
        a = k + i / 1000
        got = evaluate(SOURCE, {"a": a, "b": 3, "c": 1})
        value, slope = _want(a)
        if not (math.isclose(got.value, value, rel_tol=1e-12) and math.isclose(got.gradients["a"], slope, rel_tol=1e-9)):
            wrong.append((a, got.value))

    assert _hammer(work) == []
    assert wrong == []


@pytest.mark.timeout(120)
def test_one_compiled_program_shared_by_threads(tiny_switch_interval: None) -> None:
    program = compile_program("x*x*x - y")
    wrong: list[float] = []

    def work(k: int, i: int) -> None:
        x = k * 10 + i / 7
        got = program.run({"x": x, "y": -x})
        if got.value != x * x * x + x or not math.isclose(got.gradients["x"], 3 * x * x, rel_tol=1e-12):
            wrong.append(x)

    assert _hammer(work) == []
    assert wrong == []


@pytest.mark.timeout(120)
def test_explain_check_and_hessian_hold_the_program_while_they_read_it(tiny_switch_interval: None) -> None:
    program = compile_program("sin(x)*y")
    wrong: list[str] = []

    def work(k: int, i: int) -> None:
        x, y = 0.1 * k + 0.001 * i, 1.0 + k
        kind = (k + i) % 3
        if kind == 0:
            steps = explain(program, {"x": x, "y": y})
            if steps.value != math.sin(x) * y or steps.gradients["x"] != math.cos(x) * y:
                wrong.append("explain")
        elif kind == 1:
            report = check_gradients(program, {"x": x, "y": y})
            if not report.ok or report.inputs[0].autodiff != math.cos(x) * y:
                wrong.append("check")
        else:
            _, second = program_hessian(program, {"x": x, "y": y})
            if not math.isclose(second["x"]["x"], -math.sin(x) * y, rel_tol=1e-12, abs_tol=1e-15):
                wrong.append("hessian")

    assert _hammer(work, threads=6, calls=40) == []
    assert wrong == []


def test_errors_from_threads_keep_their_own_positions(tiny_switch_interval: None) -> None:
    def work(k: int, i: int) -> None:
        x = -1.0 - k - i
        try:
            evaluate("1 + log(x)", {"x": x})
        except AutodiffError as err:
            assert (err.kind, err.line, err.column) == ("domain", 1, 5)
            assert f"{x:g}" in err.message
        else:
            raise AssertionError("log of a negative number must fail")

    assert _hammer(work, calls=100) == []


@pytest.mark.parametrize(
    ("program", "bindings"),
    [("log(x)", {"x": -1}), ("a +* b", {}), ("1 + q", {}), ("exp(x)", {"x": 1000})],
)
def test_errors_round_trip_through_pickle(program: str, bindings: dict[str, float]) -> None:
    with pytest.raises(AutodiffError) as caught:
        evaluate(program, bindings)
    err = caught.value
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is AutodiffError
    assert (again.kind, again.message, again.line, again.column, again.source) == (
        err.kind,
        err.message,
        err.line,
        err.column,
        err.source,
    )
    assert str(again) == str(err)
    assert again.caret() == err.caret()


def test_results_round_trip_through_pickle() -> None:
    result = evaluate("a*b + 1", {"a": 2, "b": 3})
    again = pickle.loads(pickle.dumps(result))
    assert again == Result(7.0, {"a": 3.0, "b": 2.0})


def _evaluate_or_error(x: float) -> float | AutodiffError:
    try:
        return evaluate("log(x)", {"x": x}).value
    except AutodiffError as err:
        return err


@pytest.mark.timeout(120)
def test_a_process_pool_sends_errors_back_as_errors() -> None:
    with ProcessPoolExecutor(2) as pool:
        answers = list(pool.map(_evaluate_or_error, [1.0, -1.0, math.e]))
    assert answers[0] == 0.0
    assert isinstance(answers[1], AutodiffError) and answers[1].kind == "domain"
    assert answers[2] == 1.0

    with ProcessPoolExecutor(1) as pool, pytest.raises(AutodiffError) as caught:
        pool.submit(evaluate, "sqrt(x)", {"x": -4}).result()
    assert caught.value.kind == "domain" and caught.value.column == 1


def test_json_lines_stay_one_line_for_every_line_reader() -> None:
    from autodiff_cli.records import dumps

    record = {"id": "a\x85b\u2028c\u2029d", "value": 1.0}
    line = dumps(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line) == record
