"""The compiled graph of a program, and where in the source each part of it sits.

``parser.parse`` builds a ``Graph``; everything that later fails at a node
(running it, folding its derivative's constants, an input left unbound) asks
the graph where that node was written, so that every error points into the
source the same way.
"""

from __future__ import annotations

from array import array

from .engine import Value
from .errors import AutodiffError

__all__ = ["Graph"]


class Graph:
    """A parsed program: its nodes in creation order, which is a topological order.

    A plain class, not a dataclass: one less code generation at every start.
    """

    __slots__ = ("constants", "input_positions", "inputs", "names", "nodes", "positions", "result", "source")

    def __init__(
        self,
        source: str,
        nodes: list[Value],  # operations, children before parents
        positions: array[int],  # line, column of nodes[i] at 2*i, 2*i + 1
        inputs: dict[str, Value],  # names read before assignment, in order of first use
        input_positions: dict[str, tuple[int, int]],
        constants: list[Value],  # number literals
        names: dict[str, Value],  # every name assigned, bound to its last value
        result: Value,
    ) -> None:
        self.source = source
        self.nodes = nodes
        self.positions = positions
        self.inputs = inputs
        self.input_positions = input_positions
        self.constants = constants
        self.names = names
        self.result = result

    def position(self, node: Value) -> tuple[int, int] | None:
        """Where ``node`` was written, if it is an operation of this program."""
        for i, v in enumerate(self.nodes):
            if v is node:
                return self.positions[2 * i], self.positions[2 * i + 1]
        return None

    def locate(self, err: AutodiffError, node: Value | None) -> AutodiffError:
        """``err``, pointing where ``node`` was written unless it points somewhere already.

        ``node`` is the one that failed (``err.node`` from ``engine.forward``),
        or None when nobody knows; a node this program never wrote (a
        derivative's) leaves ``err`` as it is.
        """
        position = self.position(node) if node is not None else None
        if position is not None:
            err.located(position[0], position[1], self.source)
        return err

    def input_error(self, kind: str, message: str, name: str) -> AutodiffError:
        """An error about input ``name``, pointing where the program first reads it."""
        line, column = self.input_positions[name]
        return AutodiffError(kind, message, line, column, self.source)
