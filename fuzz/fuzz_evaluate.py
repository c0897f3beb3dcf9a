"""Coverage-guided fuzzing of the parser and evaluator with atheris (libFuzzer).

Every input must give finite numbers or an AutodiffError of a declared kind
with a one-line message; anything else (another exception, a non-finite
number, a hang) is a crash that libFuzzer reports with the input that caused it.

    python fuzz/fuzz_evaluate.py -max_total_time=60          # what the tests run (AUTODIFF_FUZZ_SECONDS)
    python fuzz/fuzz_evaluate.py -max_total_time=3600 -jobs=2 corpus/   # longer, keeping a corpus
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from autodiff_cli import AutodiffError, compile_program
    from autodiff_cli.errors import KINDS

NAMES = ("a", "b", "c", "x", "θ")


def check_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    bindings = {name: fdp.ConsumeFloatInRange(-1e6, 1e6) for name in NAMES}
    source = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    try:
        result = compile_program(source).run(bindings)
    except AutodiffError as err:
        if err.kind not in KINDS or not err.message or "\n" in err.message:
            raise AssertionError(f"bad error {err.kind!r}: {err.message!r}") from err
        return
    numbers = [result.value, *result.gradients.values()]
    if not all(math.isfinite(x) for x in numbers):
        raise AssertionError(f"non-finite result {result!r} for {source!r}")


def seed_corpus() -> str:
    """The conformance programs, as starting points for mutation."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="autodiff-fuzz-"))
    cases = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "cases.jsonl"
    for i, line in enumerate(cases.read_text(encoding="utf-8").splitlines()):
        expr = json.loads(line)["expr"]
        (folder / f"case{i}").write_bytes(b"\x00" * 8 * len(NAMES) + expr.encode("utf-8"))
    return str(folder)


if __name__ == "__main__":
    args = sys.argv
    if not any(not a.startswith("-") for a in args[1:]):
        args = [*args, seed_corpus()]
    atheris.Setup(args, check_one_input)
    atheris.Fuzz()
