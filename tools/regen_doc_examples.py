"""Rewrite the output shown under the `$ ...` examples of README.md and docs/*.md.

    python tools/regen_doc_examples.py                     # every example tests/test_docs_examples.py runs
    python tools/regen_doc_examples.py 'autodiff eval "x^2" x=3'   # just these commands

Each example is run as tests/test_docs_examples.py runs it (by sh, 80 columns,
no colour) and its shown output replaced. An example whose output starts with
a `...` line keeps it, followed by the output from the first line the page
showed after it (or as many last lines as it showed); one marked
`<!-- docs-test: skip: ... -->`, or needing a missing tool, is left alone.
Read `git diff README.md docs` before committing: the test only checks that
the page matches the program, not that the program prints the right thing.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_docs_examples import ELIDED, PAGES, Example, _examples, _shim, missing_tool, output_of  # noqa: E402


def new_output(example: Example, bin_dir: pathlib.Path) -> list[str]:
    """The lines to show under ``example``: its output, elided as the page elides it."""
    got = output_of(example.command, bin_dir)
    shown = example.shown
    if not shown or shown[0].strip() not in ELIDED:
        return got
    after = [line for line in shown[1:] if line.strip() not in ELIDED]
    start = got.index(after[0]) if after and after[0] in got else max(0, len(got) - len(after))
    return [shown[0], *got[start:]]


def rewrite(page: pathlib.Path, commands: set[str], bin_dir: pathlib.Path) -> int:
    """Replace the shown output of each runnable example on ``page`` named in ``commands`` (all if empty)."""
    examples = iter(_examples(page))
    lines = page.read_text(encoding="utf-8").split("\n")
    out: list[str] = []
    changed = i = 0
    while i < len(lines):
        out.append(lines[i])
        i += 1
        if not lines[i - 1].startswith("    $ "):
            continue
        example = next(examples)
        end = i
        while end < len(lines) and not lines[end].startswith("    $ ") and (not lines[end] or lines[end].startswith("    ")):
            end += 1
        wanted = not commands or example.command in commands
        if example.skip or missing_tool(example.command) or not wanted:
            continue
        shown = end
        while shown > i and not lines[shown - 1]:
            shown -= 1  # blank lines after the output stay where they are
        new = [f"    {line}" if line else "" for line in new_output(example, bin_dir)]
        changed += new != lines[i:shown]
        out += new + lines[shown:end]
        i = end
    page.write_text("\n".join(out), encoding="utf-8")
    return changed


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        shim = _shim(pathlib.Path(directory))
        for page in PAGES:
            print(f"{page.relative_to(ROOT)}: {rewrite(page, set(sys.argv[1:]), shim)} examples rewritten")
