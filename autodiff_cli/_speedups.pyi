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
