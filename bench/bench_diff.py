"""How long `autodiff diff`'s derivatives are next to SymPy's simplified ones, on the textbook corpus.

For each program of tests/data/textbook_derivatives.txt: autodiff's operations
(the printed derivatives parsed back, each statement once) against SymPy's
``count_ops(simplify(diff(e)))``, summed over the inputs. Targets: the total
at most 1.2 times SymPy's, no program above 2 times. Needs SymPy (the test extra).
"""

from __future__ import annotations

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from tests.textbook import measure, programs


def main() -> None:
    ours = sympys = 0
    worst = 0.0
    start = time.perf_counter()
    for program in programs():
        m = measure(program)
        ours, sympys, worst = ours + m.ours, sympys + m.sympys, max(worst, m.ratio)
        print(f"{m.ratio:5.2f}  {m.ours:3d} vs {m.sympys:3d}  {program}")
    print(f"total {ours} vs {sympys}: {ours / sympys:.3f} (target <= 1.2); worst {worst:.2f} (target <= 2)")
    print(f"{time.perf_counter() - start:.1f} s, SymPy's simplify most of it")


if __name__ == "__main__":
    main()
