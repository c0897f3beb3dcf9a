"""autodiff: the value of a formula and its derivatives, from the command line or Python.

    >>> from autodiff_cli import evaluate
    >>> evaluate("a*b + 1", {"a": 2, "b": 3}).gradients
    {'a': 3.0, 'b': 2.0}

Importing this package loads neither click nor rich.
"""

from .engine import Value
from .errors import AutodiffError
from .program import Program, Result, compile_program, evaluate

__version__ = "0.1.0"

__all__ = ["AutodiffError", "Program", "Result", "Value", "__version__", "compile_program", "evaluate"]
