"""Run every benchmark in this folder (bench_*.py, each with a main()) in one go.

python bench/run.py            # all of them
python bench/run.py engine     # only bench_engine.py
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str]) -> None:
    wanted = set(argv)
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        print(f"== {name}", flush=True)
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
