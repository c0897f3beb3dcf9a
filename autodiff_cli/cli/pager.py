"""People output longer than the screen goes through a pager, as git's does; machine output never.

On a terminal, what a command writes for people is held until it outgrows
the screen; then the pager starts (``AUTODIFF_PAGER``, else ``PAGER``, else
``less``, with ``LESS=FRX`` when LESS is unset) and gets it all, the rest
streamed as it is made. Output that fits is written as it is. An empty pager
or ``cat`` means none; a pipe, a file or ``--no-pager`` never pages; a pager
that cannot start or fails (a non-zero status) leaves the text printed
directly, so nothing is ever lost and nothing is ever cut.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..text import printable
from .output import console, is_terminal, say

if TYPE_CHECKING:
    import subprocess

    from rich.console import RenderableType

__all__ = ["Paged", "pager_command"]

DEFAULT_PAGER = "less"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def pager_command(environ: Mapping[str, str]) -> str | None:
    """The pager to run, as git picks it: AUTODIFF_PAGER, then PAGER, then less; None for none ("" or cat)."""
    for name in ("AUTODIFF_PAGER", "PAGER"):
        if name in environ:
            command = environ[name].strip()
            return None if command in ("", "cat") else command
    return DEFAULT_PAGER


def _screen(stream: Any, environ: Mapping[str, str]) -> tuple[int, int]:
    """Rows and columns of the terminal: its own size, else LINES and COLUMNS, else 24 by 80 (as less assumes)."""
    try:
        size = os.get_terminal_size(stream.fileno())
        rows, columns = size.lines, size.columns
    except (OSError, ValueError, AttributeError):
        rows = columns = 0
    lines, cols = environ.get("LINES", ""), environ.get("COLUMNS", "")
    rows = rows or (int(lines) if lines.isdigit() else 0) or 24
    columns = columns or (int(cols) if cols.isdigit() else 0) or 80
    return rows, columns


def _screen_lines(text: str, columns: int) -> int:
    """Lines ``text`` takes on a screen ``columns`` wide, a long line wrapping (colour codes take none)."""
    from rich.cells import cell_len

    lines = _ANSI.sub("", text).split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no new one
    return sum(max(1, -(-cell_len(line) // columns)) for line in lines)


KEEP = 8 << 20
"""Characters sent to a pager that are kept to print again if it fails: past this, --no-pager is suggested instead."""


class Paged:
    """A context in which people output is written: through the pager when it outgrows the terminal.

    ``print`` takes a rich renderable (drawn by the results' console, as it
    would be drawn on the terminal), ``write`` text with its newlines. Off a
    terminal, or when paging is off, both write straight away, so a pipe
    streams. On leaving, what is held is written, or the pager is closed and
    waited for (Ctrl-C then belongs to the pager, as in git).
    """

    def __init__(self, enabled: bool = True, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.environ = environ
        self.console = console()
        on_terminal = enabled and is_terminal(sys.stdout)
        self.command = pager_command(environ) if on_terminal else None
        self.rows, self.columns = _screen(sys.stdout, environ) if self.command else (0, 0)
        self.held: list[str] = []  # what is written while it may still fit, and what is sent to the pager
        self.kept = 0  # characters held, bounded by KEEP once the pager has them
        self.lines = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.gone = False  # the pager was quit before the end: nothing more to make

    def print(self, renderable: RenderableType, width: int | None = None) -> None:
        """Draw ``renderable`` as the results' console draws it."""
        if self.gone:
            return
        if self.command is None:
            self.console.print(renderable, width=width)
            return
        with self.console.capture() as captured:
            self.console.print(renderable, width=width)
        self.write(captured.get())

    def write(self, text: str) -> None:
        """Write ``text`` (whole lines, with their newlines)."""
        if self.gone:
            return
        if self.command is None:
            out = self.console.file  # the stream, writing what its encoding cannot take as '?'
            out.write(text)
            return
        if self.process is None:
            self.held.append(text)
            self.lines += _screen_lines(text, self.columns)
            if self.lines >= self.rows:  # less -F: a pager only for what does not fit (a line is the prompt's)
                self._start()
            return
        self._send(text)
        self.kept += len(text)
        if self.kept <= KEEP:  # to print it again if the pager fails; past KEEP memory matters more
            self.held.append(text)
        else:
            self.held = []

    def _start(self) -> None:
        import shlex  # only when a pager is needed: an eval that fits never pays for them
        import shutil
        import subprocess

        command = self.command or DEFAULT_PAGER
        try:
            program = shlex.split(command)[:1]
        except ValueError:
            program = []
        if not program or shutil.which(program[0]) is None:
            if command != DEFAULT_PAGER:
                say(f"autodiff: the pager {printable(command)!r} was not found: printing directly")
            self._print_directly()
            return
        env = dict(self.environ)
        env.setdefault("LESS", "FRX")  # git's: quit if one screen, colours as they are, no clearing
        env.setdefault("LV", "-c")
        try:
            self.process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        except OSError as err:
            say(f"autodiff: the pager {printable(command)!r} could not start ({err.strerror}): printing directly")
            self._print_directly()
            return
        self._send("".join(self.held))
        self.kept = sum(map(len, self.held))

    def _send(self, text: str) -> None:
        stdin = self.process.stdin if self.process else None
        if stdin is None:
            return
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        try:
            stdin.write(text.encode(encoding, "replace"))
        except (BrokenPipeError, ValueError):  # the reader quit (q in less) before the end
            self.gone = True

    def _print_directly(self) -> None:
        self.command, self.gone = None, False
        text, self.held = "".join(self.held), []
        self.write(text)

    def __enter__(self) -> Paged:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is None:
            if self.command is not None and exc[0] is None:
                self._print_directly()  # it fit on the screen
            return
        status = self._close()
        if status != 0 and exc[0] is None:
            command = printable(self.command or "")
            if self.kept > KEEP:
                say(f"autodiff: the pager {command!r} failed (status {status}); to print directly: --no-pager")
                return
            say(f"autodiff: the pager {command!r} failed (status {status}): printing directly")
            self._print_directly()

    def _close(self) -> int:
        """Close the pager's input and wait for it, with Ctrl-C left to it; its exit status."""
        import signal

        process = self.process
        assert process is not None and process.stdin is not None
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _in_main_thread() else None
        try:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
            return process.wait()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
