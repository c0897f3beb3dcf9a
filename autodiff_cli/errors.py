"""The one exception autodiff raises for bad programs, and its kinds."""

from __future__ import annotations

from .text import caret_picture

SYNTAX = "syntax"
NAME = "name"
DOMAIN = "domain"
OVERFLOW = "overflow"
LIMIT = "limit"
INPUT = "input"
# The Dask cluster a batch ran on was lost midway (its scheduler, or every worker): never a job's record,
# the batch stops with its own exit status, saying how far it got.
CLUSTER = "cluster"

KINDS = (SYNTAX, NAME, DOMAIN, OVERFLOW, LIMIT, INPUT, CLUSTER)


class AutodiffError(Exception):
    """A failure a user can act on: a kind, a one-line message, and where in the source.

    The kind decides the exit status and lets scripts branch without parsing
    prose; the position lets a person find the spot without counting characters.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.source = source

    def __reduce__(self) -> tuple[type[AutodiffError], tuple[str, str, int | None, int | None, str | None]]:
        # Exception's default pickling passes only ``args`` back to __init__;
        # errors cross process boundaries (--jobs, Dask), so all of it travels.
        return (type(self), (self.kind, self.message, self.line, self.column, self.source))

    def __str__(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line else ""
        return f"{self.kind} error{where}: {self.message}"

    def located(self, line: int, column: int, source: str) -> AutodiffError:
        """Attach a source position unless one is already known."""
        if self.line is None:
            self.line, self.column, self.source = line, column, source
        return self

    def caret(self) -> str:
        """The offending source line with a caret under the column, or ''.

        Escaped and cut to a window around the column (``text.caret_picture``):
        the line may hold terminal escapes or be megabytes long.
        """
        if self.line is None or self.source is None:
            return ""
        # Lines as the parser counts them: only \n ends one (not \v, \f or U+2028).
        lines = self.source.split("\n")
        text = lines[self.line - 1].removesuffix("\r") if self.line <= len(lines) else ""
        return caret_picture(text, self.column or 1)

    def to_dict(self) -> dict[str, object]:
        """The machine form the CLI contract promises for an error."""
        out: dict[str, object] = {"kind": self.kind, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        return out
