"""Shared fixtures: the conformance corpus and tolerances."""

from __future__ import annotations

import inspect
import json
import os
import pathlib
import resource
from collections.abc import Callable, Iterator
from typing import Any

import click.testing
import pytest
from hypothesis import settings

DATA = pathlib.Path(__file__).parent / "data"

# CI runs the same examples every time, so its verdict is about the change, not
# the draw; local runs stay random and keep exploring (the fuzzer stays random too).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# A reference computation that runs away (SymPy on a power of a huge power) must
# fail as a MemoryError the tests can handle, not take the machine down with it.
_, _hard = resource.getrlimit(resource.RLIMIT_AS)
_cap = 12 * 1024**3
if _hard == resource.RLIM_INFINITY or _hard > _cap:
    resource.setrlimit(resource.RLIMIT_AS, (_cap, _hard))


# click before 8.2 (the oldest the package allows is 8.1, and CI runs tests on it)
# mixes standard error into the output unless told not to; 8.2 keeps them apart.
if "mix_stderr" in inspect.signature(click.testing.CliRunner.__init__).parameters:
    _runner_init = click.testing.CliRunner.__init__

    def _stderr_apart(self: click.testing.CliRunner, *args: Any, mix_stderr: bool = False, **kwargs: Any) -> None:
        _runner_init(self, *args, mix_stderr=mix_stderr, **kwargs)

    click.testing.CliRunner.__init__ = _stderr_apart  # type: ignore[method-assign]


def load_cases() -> list[dict]:
    with open(DATA / "cases.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


CASES = load_cases()


def close(got: float, want: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    """The conformance corpus's tolerance: 1e-9 relative plus 1e-12 absolute."""
    return abs(got - want) <= rel * abs(want) + abs_


@pytest.fixture(scope="session")
def cases() -> list[dict]:
    return CASES


@pytest.fixture
def plant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Any], None]]:
    """``plant(name, op)`` puts ``op`` in ops.OPS for one test: a planted bug that either core runs.

    The compiled core reads the table at import (engine.refresh_ops), so the
    row is put in and taken out through it.
    """
    from autodiff_cli import engine, ops

    def put(name: str, op: Any) -> None:
        monkeypatch.setitem(ops.OPS, name, op)
        engine.refresh_ops()

    yield put
    monkeypatch.undo()
    engine.refresh_ops()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``contract`` run first: a broken contract fails the run in seconds, not at its end.

    They are the fast unit tests of the code that others change most (the batch's
    in-order loop, the Dask engine's retries, the parser's driver). The order among
    the rest is untouched, and the suite passes in any order (`-p randomly`).
    """
    items.sort(key=lambda item: item.get_closest_marker("contract") is None)
