"""The people display, compared with golden pictures made at a fixed width with colour off.

The pictures in data/golden/ were looked at in a terminal before they were
frozen; tools/regen_goldens.py remakes them after a deliberate change.
"""

from __future__ import annotations

import pytest

from autodiff_cli.render.layout import cell_width

from .golden import CASES, expected, render


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden(case: dict) -> None:
    status, output = render(case)
    assert status == 0, output
    assert output == expected(case)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden_fits_its_width(case: dict) -> None:
    width = int(case["args"][case["args"].index("--width") + 1])
    assert all(cell_width(line) <= width for line in expected(case).splitlines())
    assert "\x1b[" not in expected(case)


def test_the_goldens_cover_what_the_issue_lists() -> None:
    names = {case["name"] for case in CASES}
    assert {
        "seed",
        "mission",
        "used_three_times",
        "named_reused",
        "two_argument_functions",
        "unicode_names",
        "forty_nodes",
        "mission_ascii",
        "big_3000_terms",
        "shared_80",
        "logsumexp_80",
        "forty_nodes_80",
        "forty_nodes_120",
        "softmax3_120",
        "used_four_times_120",
    } <= names
    assert expected(next(c for c in CASES if c["name"] == "mission_ascii")).isascii()
    assert len(expected(next(c for c in CASES if c["name"] == "big_3000_terms")).splitlines()) < 400
