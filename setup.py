"""The optional compiled core: ``pip install .`` builds autodiff_cli/_speedups.c where a C compiler is.

Everything else about the package is in pyproject.toml. The extension is
optional: without a compiler (or with ``AUTODIFF_PURE=1`` at build time) the
build prints one line and installs the pure-Python package, which is complete
(lalr.py runs the same loop in Python; docs/performance.md, "The compiled core").
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into one line on stderr and the pure package."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as err:  # noqa: BLE001 - no compiler, no headers: the pure package is complete
            print(f"autodiff-cli: the compiled core was not built ({type(err).__name__}); installing the pure-Python core", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as err:  # noqa: BLE001 - as above
            print(f"autodiff-cli: the compiled core was not built ({type(err).__name__}); installing the pure-Python core", file=sys.stderr)


if os.environ.get("AUTODIFF_PURE") == "1":
    print("autodiff-cli: AUTODIFF_PURE=1: installing the pure-Python core", file=sys.stderr)
    EXTENSIONS: list[Extension] = []
else:
    EXTENSIONS = [Extension("autodiff_cli._speedups", ["autodiff_cli/_speedups.c"], optional=True)]

setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": OptionalBuildExt})
