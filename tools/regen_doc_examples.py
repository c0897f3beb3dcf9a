"""Rewrite the output shown under `$ autodiff ...` examples in README.md and docs/guide.md.

    python tools/regen_doc_examples.py                     # every example tests/test_docs_examples.py runs
    python tools/regen_doc_examples.py 'autodiff eval "x^2" x=3'   # just these commands

Each example is run as tests/test_docs_examples.py runs it (80 columns, no
colour) and its shown output replaced. Read `git diff README.md docs` before
committing: the test only checks that the page matches the program, not that
the program prints the right thing.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_docs_examples import PAGES, _examples  # noqa: E402  (the test's own reading of a page)


def output_of(command: str) -> list[str]:
    """What ``command`` prints, as the test compares it: right-stripped lines, no blank ends."""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    args = shlex.split(command)[1:]
    run = subprocess.run([sys.executable, "-m", "autodiff_cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    return "\n".join(line.rstrip() for line in (run.stdout + run.stderr).splitlines()).strip("\n").split("\n")


def rewrite(page: pathlib.Path, commands: set[str]) -> int:
    """Replace the shown output of each runnable example on ``page`` named in ``commands`` (all if empty)."""
    runnable = {command for _, command, _ in _examples(page)}
    lines = page.read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    changed = i = 0
    while i < len(lines):
        out.append(lines[i])
        command = lines[i][6:] if lines[i].startswith("    $ autodiff ") else ""
        i += 1
        if command not in runnable or (commands and command not in commands):
            continue
        end = i
        while end < len(lines) and not lines[end].startswith("    $ ") and (not lines[end] or lines[end].startswith("    ")):
            end += 1
        shown = end
        while shown > i and not lines[shown - 1]:
            shown -= 1  # blank lines after the output stay where they are
        new = [f"    {line}" if line else "" for line in output_of(command)]
        changed += new != lines[i:shown]
        out += new + lines[shown:end]
        i = end
    page.write_text("\n".join(out), encoding="utf-8")
    return changed


if __name__ == "__main__":
    for page in PAGES:
        print(f"{page.name}: {rewrite(page, set(sys.argv[1:]))} examples rewritten")
