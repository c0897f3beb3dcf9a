"""A mutation run: one plausible bug at a time in the batch, the workers, the Dask engine and the parser's driver.

Each mutant is a one-place edit of the kind a refactor slips in (a flush
dropped, a `return` lost, an off-by-one, a retry made twice). For each, the
tree is copied to a temporary folder, the edit applied there (the checkout is
never touched) and the quick suite run with ``-x``; a mutant is *killed* when
the suite fails, and the time to the first failure is what a developer waits.

    python tools/mutate.py                 # every mutant, the quick suite
    python tools/mutate.py -k retry        # the mutants whose name contains "retry"
    python tools/mutate.py -- tests/test_in_order.py   # another selection of tests

An edit that no longer matches the source is reported as stale: update it with
the code. docs/design.md ("Tests") records the last run's kill rate.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
QUICK = ["-q", "-x", "-m", "not slow", "-p", "no:cacheprovider"]


class Mutant(NamedTuple):
    name: str
    path: str
    old: str
    new: str


MUTANTS = [
    # batch.in_order: the answers in hand reach the reader before every wait.
    Mutant("in_order: no flush before waiting on a chunk", "autodiff_cli/batch.py",
           "        if not done(handle):\n            on_wait()\n", "        if not done(handle):\n            pass\n"),
    Mutant("in_order: no flush when the input runs dry", "autodiff_cli/batch.py",
           "        if idle:\n            on_wait()\n", ""),
    Mutant("in_order: one chunk more in flight than the window", "autodiff_cli/batch.py",
           "len(pending) >= window", "len(pending) > window"),
    Mutant("serial: no flush when the input runs dry", "autodiff_cli/batch.py",
           "        if dry():\n            on_wait()\n", ""),
    Mutant("chunks: a dry input does not end the chunk", "autodiff_cli/batch.py",
           "or size >= CHUNK_BYTES or idle:", "or size >= CHUNK_BYTES:"),
    # The Dask engine's retries.
    Mutant("dask retry: a one-job chunk's real answer thrown away", "autodiff_cli/distributed.py",
           "                return self._answers(chunk, self._submit(chunk, strict), strict, tries - 1)",
           "                self._answers(chunk, self._submit(chunk, strict), strict, tries - 1)"),
    Mutant("dask retry: one-by-one resubmits overlapping pairs", "autodiff_cli/distributed.py",
           "        for item in chunk:\n            out.extend(self._answers([item], self._submit([item], strict), strict))",
           "        for i in range(len(chunk)):\n"
           "            out.extend(self._answers(chunk[i : i + 2], self._submit(chunk[i : i + 2], strict), strict))"),
    Mutant("dask retry: two-job chunks never split", "autodiff_cli/distributed.py",
           "            if len(chunk) > 1:", "            if len(chunk) > 2:"),
    Mutant("dask retry: a lone job judged once", "autodiff_cli/distributed.py",
           "            if tries > 1:", "            if tries > 2:"),
    # The --jobs pool's recovery from a dead worker.
    Mutant("pool retry: a lone job retried forever", "autodiff_cli/workers.py",
           "            unit.retried = True\n            self.submit(unit)", "            self.submit(unit)"),
    Mutant("pool retry: the units a dead worker had not started are dropped", "autodiff_cli/workers.py",
           "        for unit in worker.held:\n            self.submit(unit)", "        pass"),
    Mutant("pool retry: a unit is lost at the first death", "autodiff_cli/workers.py",
           "        if unit.retried:", "        if True:"),
    # The parser's LALR driver.
    Mutant("lalr: a closing bracket does not close", "autodiff_cli/lalr.py",
           "                    depth = max(0, depth - 1)", "                    depth = max(0, depth)"),
    Mutant("lalr: every newline dropped", "autodiff_cli/lalr.py",
           "                elif role & newline and depth:", "                elif role & newline:"),
    Mutant("lalr: the line count skips a line", "autodiff_cli/lalr.py",
           "line += value.count(\"\\n\")", "line += value.count(\"\\n\") + 1"),
    Mutant("lalr: a reduction keeps one state too many", "autodiff_cli/lalr.py",
           "                    del states[-size:]", "                    del states[-size + 1 :]"),
]  # fmt: skip


def copy_tree(into: pathlib.Path) -> None:
    """The checkout's files as they are now (committed or not), without build and tool caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / os.fsdecode(raw)
        if source.is_file():
            target = into / os.fsdecode(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run(mutant: Mutant, pytest_args: list[str], timeout: float) -> tuple[str, float, str]:
    """(verdict, seconds, the first failing test) for one mutant."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        tree = pathlib.Path(tmp)
        copy_tree(tree)
        target = tree / mutant.path
        text = target.read_text(encoding="utf-8")
        if text.count(mutant.old) != 1:
            return "stale", 0.0, f"the edit matches {text.count(mutant.old)} places in {mutant.path}"
        target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
        start = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pytest", *pytest_args], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return "killed (suite timed out)", time.monotonic() - start, ""
        seconds = time.monotonic() - start
        failed = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
        if done.returncode == 0:
            return "SURVIVED", seconds, ""
        return "killed", seconds, failed.group(1) if failed else done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", default="", help="only the mutants whose name contains this")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for one mutant's suite")
    parser.add_argument("pytest_args", nargs="*", help="pytest's arguments (default: the quick suite with -x)")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.k in m.name]
    pytest_args = QUICK + args.pytest_args if args.pytest_args else QUICK
    killed = 0
    for mutant in chosen:
        verdict, seconds, where = run(mutant, pytest_args, args.timeout)
        killed += verdict.startswith("killed")
        print(f"{verdict:<9} {seconds:6.1f} s  {mutant.name}  {where}", flush=True)
    print(f"\n{killed} of {len(chosen)} mutants killed")
    return 0 if killed == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
