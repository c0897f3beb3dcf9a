"""Every case of the conformance corpus, through the Python API and through the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from autodiff_cli import AutodiffError, evaluate
from autodiff_cli.cli import main

from .conftest import CASES, close

IDS = [c["id"] for c in CASES]


def check_result(case: dict, value: float, gradients: dict[str, float]) -> None:
    assert close(value, case["value"]), (case["expr"], value, case["value"])
    assert list(gradients) == list(case["gradients"]), "gradient names must be the inputs, in order of first use"
    for name, want in case["gradients"].items():
        assert close(gradients[name], want), (case["expr"], name, gradients[name], want)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_evaluate(case: dict) -> None:
    if "error" in case:
        with pytest.raises(AutodiffError) as info:
            evaluate(case["expr"], case["vars"])
        assert info.value.kind == case["error"]
        assert info.value.message
    else:
        result = evaluate(case["expr"], case["vars"])
        check_result(case, result.value, result.gradients)


EXIT_FOR_KIND = {"syntax": 2, "name": 2, "domain": 1, "overflow": 1}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_json(case: dict) -> None:
    args = ["eval", case["expr"], *(f"{k}={v!r}" for k, v in case["vars"].items()), "--json"]
    result = CliRunner().invoke(main, args)
    if "error" in case:
        assert result.exit_code == EXIT_FOR_KIND[case["error"]], result.output
        assert f"{case['error']} error" in result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.output
    else:
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)
        assert record["expr"] == case["expr"]
        check_result(case, record["value"], record["gradients"])
