"""The optional compiled core: ``pip install .`` builds autodiff_cli/_speedups.c and _nodes.c where a C compiler is.

Everything else about the package is in pyproject.toml. The extension is
optional: without a compiler or Python's headers (or with ``AUTODIFF_PURE=1``
at build time) the build prints one line and installs the pure-Python package,
which is complete: lalr.py runs the same loop in Python (docs/performance.md,
"The compiled core").
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def notice(why: str) -> None:
    print(f"autodiff-cli: {why}; installing the pure-Python core", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into one line on stderr and the pure package, never a failed install."""

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as err:  # any compiler failure: the pure package is complete
            notice(f"the compiled core was not built ({type(err).__name__})")


PURE = os.environ.get("AUTODIFF_PURE") == "1"
if PURE and {"bdist_wheel", "build_ext", "editable_wheel", "install", "develop"} & set(sys.argv):  # once, when building
    notice("AUTODIFF_PURE=1")
# No fused multiply-add: the engine's C kernels must round as Python's float arithmetic does (engine.py).
STRICT_FLOATS = [] if sys.platform == "win32" else ["-ffp-contract=off"]
SOURCES = ["autodiff_cli/_speedups.c", "autodiff_cli/_nodes.c"]
PARTS = [f"autodiff_cli/_nodes_{part}.h" for part in ("kernels", "attributes", "methods", "shortcuts", "walks")]  # in _nodes.c
EXTENSIONS = (
    [] if PURE else [Extension("autodiff_cli._speedups", SOURCES, depends=PARTS, extra_compile_args=STRICT_FLOATS, optional=True)]
)
setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": OptionalBuildExt})
