"""autodiff: the value of a formula and its derivatives, from the command line or Python.

    >>> from autodiff_cli import evaluate
    >>> evaluate("a*b + 1", {"a": 2, "b": 3}).gradients
    {'a': 3.0, 'b': 2.0}

Importing this package loads neither click nor rich.
"""

from typing import TYPE_CHECKING

from .engine import Value
from .errors import AutodiffError
from .program import Program, Result, compile_program, evaluate

if TYPE_CHECKING:
    from .jobs import answer, read_record

__version__ = "0.1.0"

__all__ = [
    "AutodiffError",
    "Program",
    "Result",
    "Value",
    "__version__",
    "answer",
    "compile_program",
    "evaluate",
    "read_record",
]


def __getattr__(name: str) -> object:
    # answer and read_record bring in the batch machinery: loaded on first use,
    # so that `autodiff eval` does not pay for it at start-up.
    if name in ("answer", "read_record"):
        from . import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
