# The compiled core's declarations (_speedups.c); lalr.py builds a Loop from lark's tables.
from collections.abc import Iterator, Sequence
from re import Match
from typing import Any

class Loop:
    def __init__(
        self,
        n_states: int,
        n_kinds: int,
        n_origins: int,
        start: int,
        end: int,
        action: Sequence[int],
        go: Sequence[int],
        size: Sequence[int],
        origin: Sequence[int],
        picks: Sequence[Sequence[int] | None],
        methods: tuple[Any, ...],
        gathers: tuple[Any, ...],
        roles: Sequence[int],
        token: type,
        reject: type,
    ) -> None: ...
    def run(self, text: str, matches: Iterator[Match[str]], /) -> Any: ...

# engine.Value's nodes (_nodes.c): engine.py is the only caller; see its docstrings for what each does.
KERNELS: tuple[str, ...]

class Node:
    data: float
    grad: Any
    @property
    def _op(self) -> str: ...
    @property
    def _prev(self) -> tuple[Node, ...]: ...
    def __init__(self, data: float, _children: Sequence[Node] = (), _op: str = "") -> None: ...
    def __setstate__(self, grad: Any, /) -> None: ...

def setup(
    cls: type, rows: Sequence[tuple[Any, ...]], compute: Any, as_value: Any, as_number: Any, forward: Any, pass_back: Any, /
) -> None: ...
def method(name: str, /) -> Any: ...
def forward(nodes: Sequence[Node], /) -> None: ...
def backpropagate(order: Sequence[Node], root: Node | None, /) -> None: ...
def topological_order(root: Node, /) -> list[Any]: ...
def kernel(name: str, x: float, y: float, out: float, /) -> tuple[float | None, float | None, float | None] | None: ...
def node(children: tuple[Node, ...], op: str, /) -> Any: ...
def leaf(x: float, /) -> Any: ...
def _rebuild(cls: type, data: float, children: tuple[Node, ...], op: str, /) -> Node: ...
