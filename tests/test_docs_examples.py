"""Every `$ ...` example in the README and in docs/ prints what the page shows.

The pages are the first thing a user reads: an example that drifted from the
program would teach the wrong thing. So every indented `$ COMMAND` line of
every page is run (by ``sh``, from the repository's root, at 80 columns
without colour, ``autodiff`` being this checkout) and what it prints, standard
output then standard error, is compared with the lines under it, up to the
next `$` line or the end of the indented block.

* A line `...` (or `…`) alone in the shown output stands for any number of
  lines, so a page can show the part of an output it talks about.
* An example that cannot run here (it needs a cluster, or writes a file) is
  marked by a comment on the line just before its block, which the reader
  does not see: `<!-- docs-test: skip: needs a Dask cluster -->`. The test
  lists it as skipped, with the reason.
* A command that needs a program this machine lacks (``jq``) is skipped, saying which.

``python tools/regen_doc_examples.py`` rewrites the shown outputs from the program.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
from typing import NamedTuple

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip:?\s*(.*?)\s*-->")
ELIDED = ("...", "…")
TOOLS = ("jq",)
"""Programs besides sh and autodiff that examples may pipe into; an example that needs a missing one is skipped."""


class Example(NamedTuple):
    """One `$ COMMAND` of a page: where it is, what runs, the lines shown under it, and why not to run it."""

    id: str
    command: str
    shown: list[str]
    skip: str


def _examples(page: pathlib.Path) -> list[Example]:
    """Every `$ ` example on ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("    $ "):
            i += 1
            continue
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        skipped = SKIP.search(before) if not before.startswith("    ") else None
        while True:  # an example right under another's output shares its block and its mark
            command, out = lines[i][6:], []
            i += 1
            while i < len(lines) and not lines[i].startswith("    $ "):
                if lines[i] and not lines[i].startswith("    "):
                    break
                out.append(lines[i][4:].rstrip())
                i += 1
            while out and not out[-1]:
                out.pop()
            skip = (skipped.group(1) or "marked on the page") if skipped else ""
            found.append(Example(f"{page.name}:{command}", command, out, skip))
            if not (i < len(lines) and lines[i].startswith("    $ ")):
                break
    return found


EXAMPLES = [example for page in PAGES for example in _examples(page)]


def matches(shown: list[str], got: list[str]) -> bool:
    """Whether ``got`` reads as ``shown``, where a `...` line stands for any lines."""
    if not shown:
        return not got
    head, rest = shown[0], shown[1:]
    if head.strip() in ELIDED:
        return any(matches(rest, got[k:]) for k in range(len(got) + 1))
    return bool(got) and got[0] == head and matches(rest, got[1:])


def _shim(directory: pathlib.Path) -> pathlib.Path:
    """An ``autodiff`` on PATH that runs this checkout with this interpreter."""
    script = directory / "autodiff"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m autodiff_cli "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return directory


def output_of(command: str, bin_dir: pathlib.Path) -> list[str]:
    """What ``command`` prints as a page shows it: stdout then stderr, lines right-stripped, no blank ends."""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "PYTHONPATH": str(ROOT)}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    for name in ("FORCE_COLOR", "PAGER", "AUTODIFF_PAGER"):
        env.pop(name, None)
    run = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=50)
    text = "\n".join(line.rstrip() for line in (run.stdout + run.stderr).splitlines()).strip("\n")
    return text.split("\n") if text else []


def missing_tool(command: str) -> str:
    """The first of TOOLS that ``command`` uses and this machine lacks, or ''."""
    return next((t for t in TOOLS if re.search(rf"\b{t}\b", command) and shutil.which(t) is None), "")


def test_the_pages_have_examples_to_check() -> None:
    runnable = [e for e in EXAMPLES if not e.skip]
    assert len(runnable) >= 30
    assert {e.id.split(":")[0] for e in runnable} >= {"README.md", "guide.md"}


def test_a_skip_mark_is_read_with_its_reason(tmp_path: pathlib.Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: skip: needs a cluster -->\n\n    $ autodiff batch x\n    out\n\n    $ autodiff eval x x=1\n")
    one, two = _examples(page)
    assert one.skip == "needs a cluster" and one.shown == ["out"]
    assert two.skip == "needs a cluster"  # the same block
    page.write_text("<!-- docs-test: skip: needs a cluster -->\n\nText.\n\n    $ autodiff eval x x=1\n")
    assert _examples(page)[0].skip == ""


def test_an_elision_stands_for_any_lines_and_nothing_else() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "d"], ["a", "d"])
    assert not matches(["a", "...", "d"], ["a", "b", "c"])
    assert not matches(["a", "b"], ["a", "b", "c"])
    assert matches([], []) and not matches([], ["x"])


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return _shim(tmp_path_factory.mktemp("bin"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_an_example_prints_what_the_page_shows(example: Example, bin_dir: pathlib.Path) -> None:
    if example.skip:
        pytest.skip(example.skip)
    tool = missing_tool(example.command)
    if tool:
        pytest.skip(f"{tool} is not installed")
    got = output_of(example.command, bin_dir)
    assert matches(example.shown, got), "\n".join(got)
