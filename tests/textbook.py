"""A corpus of textbook derivatives, and how long autodiff's printed ones are next to SymPy's.

Each program of ``data/textbook_derivatives.txt`` is differentiated by
``autodiff diff`` and by SymPy (``simplify(diff(e))``); the size of a printed
derivative is its operations as autodiff parses them back (each statement
counted once), SymPy's is ``count_ops``. sigmoid and softplus are SymPy
functions with their textbook derivatives, so each side counts one call for
them. Shared by tests/test_diff.py and bench/bench_diff.py.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import sympy as sp

from autodiff_cli.derivatives import derivatives
from autodiff_cli.program import compile_program

CORPUS = pathlib.Path(__file__).parent / "data" / "textbook_derivatives.txt"


class sigmoid(sp.Function):
    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))


class softplus(sp.Function):
    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])


def programs() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def twin(program: str) -> tuple[sp.Expr, dict[str, sp.Symbol]]:
    """The program in SymPy, and its inputs as real symbols."""
    names = [n for n in compile_program(program).graph.inputs if n != "pi"]
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    local = {**symbols, "sigmoid": sigmoid, "softplus": softplus, "pi": sp.pi, "abs": sp.Abs}
    return sp.sympify(program.replace("^", "**"), locals=local), symbols


def operations(text: str) -> int:
    """Operations of a printed derivative, as autodiff parses it: each statement's once."""
    return len(compile_program(text).nodes)


@dataclass(frozen=True)
class Measured:
    program: str
    ours: int
    sympys: int
    printed: dict[str, str]

    @property
    def ratio(self) -> float:
        return self.ours / max(self.sympys, 1)


def measure(program: str) -> Measured:
    expr, symbols = twin(program)
    found = derivatives(program)
    printed = {name: p.text() for name, p in found.first.items()}
    ours = sum(operations(text) for text in printed.values())
    sympys = sum(int(sp.count_ops(sp.simplify(sp.diff(expr, symbols[name])))) for name in printed)
    return Measured(program, ours, sympys, printed)
