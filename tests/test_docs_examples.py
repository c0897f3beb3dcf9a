"""Every `$ autodiff ...` example in the README and the guide prints what the page shows.

The pages are the first thing a user reads: an example that drifted from the
program would teach the wrong thing. Examples with a pipe, an elided output
(`...`) or no output shown are left to the reader.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "docs" / "guide.md"]


def _examples(page: pathlib.Path) -> list[tuple[str, str, str]]:
    """(id, command, shown output) for each runnable example on ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("    $ autodiff "):
            command = line[6:]
            out: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("    $ "):
                if lines[i] and not lines[i].startswith("    "):
                    break
                out.append(lines[i][4:])
                i += 1
            while out and not out[-1]:
                out.pop()
            shown = "\n".join(out)
            runnable = "|" not in command and out and not any(o.strip() in ("...", "…") for o in out)
            if runnable:
                found.append((f"{page.name}:{command}", command, shown))
            continue
        i += 1
    return found


EXAMPLES = [example for page in PAGES for example in _examples(page)]


def test_the_pages_have_examples_to_check() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("command", "shown"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES])
def test_an_example_prints_what_the_page_shows(command: str, shown: str) -> None:
    args = shlex.split(command)
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    run = subprocess.run(
        [sys.executable, "-m", "autodiff_cli", *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=50
    )
    got = "\n".join(line.rstrip() for line in (run.stdout + run.stderr).splitlines()).strip("\n")
    assert got == "\n".join(line.rstrip() for line in shown.splitlines()).strip("\n")
