"""Rewrite the golden pictures in tests/data/golden/ from the current code.

    python tools/regen_goldens.py            # every case
    python tools/regen_goldens.py seed       # just these

Look at each picture you regenerate (`git diff tests/data/golden`) before committing:
the tests only check that the output has not changed, not that it looks right.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

import golden


def main(names: list[str]) -> None:
    for case in golden.CASES:
        if names and case["name"] not in names:
            continue
        status, output = golden.render(case)
        if status != 0:
            raise SystemExit(f"{case['name']}: exit status {status}\n{output}")
        (golden.GOLDEN / f"{case['name']}.txt").write_text(output, encoding="utf-8")
        print(f"wrote {case['name']}.txt ({output.count(chr(10))} lines)")


if __name__ == "__main__":
    main(sys.argv[1:])
