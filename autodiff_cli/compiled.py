"""The compiled core, if this installation has it: ``_speedups``, or None for the pure-Python core.

``pip install .`` builds ``_speedups`` (``_speedups.c`` and ``_nodes.c``) where
a C compiler is; lalr.py runs its parse loop with it and engine.py makes its
nodes with it. Both ask here, so that one switch, ``AUTODIFF_PURE_RUNTIME=1``,
puts the whole package on the pure-Python core where the compiled one is
installed (that is how CI tests the pure core beside the compiled one).
"""

from __future__ import annotations

import functools
import importlib
import os
from types import ModuleType

__all__ = ["speedups"]


@functools.cache  # one answer for the process: lalr, engine, passes and parser must agree on the core
def speedups() -> ModuleType | None:
    """The compiled module, or None when it was not built or AUTODIFF_PURE_RUNTIME=1 sets it aside."""
    if os.environ.get("AUTODIFF_PURE_RUNTIME") == "1":
        return None
    try:  # by name: an extension module is no layer of the package's imports (tests/test_layers.py)
        return importlib.import_module(f"{__package__}._speedups")
    except ImportError:
        return None
