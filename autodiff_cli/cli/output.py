"""Everything the command line writes: the two consoles, the exit status, the signals, whole lines.

The only place that prints. One rich Console writes results to standard
output and one draws the progress bar on standard error; both are made by
``render.display.make_console`` from ``terminal_of`` (COLUMNS, NO_COLOR,
FORCE_COLOR, a pipe), the one colour policy, which the display and the plots
follow too. SIGINT and SIGTERM never cut a line in half: while a line is being
written the signal waits for it, otherwise it stops reading and computing at
once; then the output is flushed and the status is 128 + the signal.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TextIO, cast

import click

from ..errors import CLUSTER, DOMAIN, INPUT, LIMIT, NAME, OVERFLOW, SYNTAX, AutodiffError
from ..text import printable
from .encoding import fitting, replaced

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_CLUSTER",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "Interrupted",
    "LineWriter",
    "console",
    "echo_json",
    "error_console",
    "fail",
    "guarded",
    "is_terminal",
    "open_rows",
    "plain_ascii",
    "report_error",
    "say",
    "standard_input",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CLUSTER = 3  # the Dask cluster was lost midway: the output holds whole lines, stderr where to resume
# syntax and name errors are the caller's mistake in `eval`, like a bad option.
EXIT_FOR_KIND = {
    SYNTAX: EXIT_USAGE,
    NAME: EXIT_USAGE,
    INPUT: EXIT_USAGE,
    DOMAIN: EXIT_FAILED,
    OVERFLOW: EXIT_FAILED,
    LIMIT: EXIT_FAILED,
    CLUSTER: EXIT_CLUSTER,
}


def console() -> Console:
    """The one rich Console for results of this run, made by ``render.display.make_console``.

    Kept in the click context, not the process: the environment and the
    terminal are read when a Console is made, and each run (a test's too) has its own.
    """
    return _console("autodiff.console", stderr=False)


def error_console() -> Console:
    """The one rich Console on standard error (the progress bar); diagnostics are plain lines (``say``)."""
    return _console("autodiff.error_console", stderr=True)


def _console(key: str, stderr: bool) -> Console:
    from ..render.display import make_console, terminal_of

    ctx = click.get_current_context(silent=True)
    meta: dict[str, Any] = ctx.find_root().meta if ctx is not None else {}
    made: Console | None = meta.get(key)
    if made is None:
        stream = sys.stderr if stderr else sys.stdout
        terminal = terminal_of(stream, os.environ)
        # A stream that cannot take Unicode (LANG=C, PYTHONIOENCODING=ascii): rich reads its encoding
        # and draws ASCII boxes, and what is left (a name such as θ) is written as '?', never an error.
        file = None if terminal.unicode else cast("TextIO", _Replacing(stream, terminal.encodable))
        made = meta[key] = make_console(terminal, file, stderr=stderr)
    return made


def plain_ascii(asked: bool) -> bool:
    """Draw in ASCII: when asked (--ascii), or when the results' console cannot take Unicode."""
    return asked or console().options.ascii_only


class _Replacing:
    """A text stream that writes what its encoding cannot take as '?' (``Terminal.encodable``), for a Console."""

    def __init__(self, stream: Any, encodable: Callable[[str], str]) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "ascii"
        self.encodable = encodable

    def write(self, text: str) -> int:
        return int(self.stream.write(self.encodable(text)))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(self.stream.isatty())

    def fileno(self) -> int:
        return int(self.stream.fileno())


def say(message: str) -> None:
    """One line of diagnostics on standard error (plain text: no rich needed to say it)."""
    click.echo(message, err=True)


def report_error(error: AutodiffError) -> None:
    """A person-readable error on standard error: kind, message, then the caret picture.

    Messages may quote the input, so they are escaped too (``text.printable``).
    An error in a program read from a file names the file (``options.where_in_program``).
    """
    from .options import where_in_program  # options reads the program, and imports this module

    headline, hint = where_in_program(error)
    say(f"autodiff: {printable(headline)}")
    picture = error.caret()
    if picture:
        say(picture)
    if hint:
        say(f"autodiff: {printable(hint)}")


def fail(error: AutodiffError) -> NoReturn:
    """Report ``error`` and exit with the status its kind calls for."""
    report_error(error)
    sys.exit(EXIT_FOR_KIND.get(error.kind, EXIT_FAILED))


def internal_error(err: Exception) -> NoReturn:
    """An unexpected exception as one line, never a traceback: a person cannot act on one."""
    say(f"autodiff: internal error: {type(err).__name__}: {printable(str(err))} (run with --debug for details)")
    sys.exit(EXIT_FAILED)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn anything unexpected into one line on stderr, never a traceback (unless --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            try:
                return command(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()  # a full disk must be reported now, not lost at exit
        except AutodiffError as err:
            fail(err)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except KeyboardInterrupt:
            sys.exit(130)
        except MemoryError:
            fail(AutodiffError(LIMIT, "out of memory"))
        except OSError as err:
            input_output_failed(err)
        except Exception as err:
            if ctx.find_root().params.get("debug"):
                raise
            internal_error(err)

    return wrapper


def input_output_failed(err: OSError) -> NoReturn:
    """A failed read or write: say which file, and make sure the exit cannot fail again."""
    where = f" ({printable(str(err.filename))})" if err.filename else ""
    say(f"autodiff: input/output error: {err.strerror or err}{where}")
    _discard_stdout()
    sys.exit(EXIT_FAILED)


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so the exit-time flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _quiet_broken_pipe() -> NoReturn:
    """A reader that went away (``| head -1``) is not an error: leave without a word."""
    _discard_stdout()
    sys.exit(EXIT_FAILED)


def standard_input() -> BinaryIO:
    """Standard input as bytes; an input error if the shell closed it (``<&-``)."""
    if sys.stdin is None:
        raise AutodiffError(INPUT, "standard input is closed: there is nothing to read")
    return sys.stdin.buffer


def open_rows(stack: contextlib.ExitStack, rows: str | None) -> BinaryIO | None:
    """The --rows file as bytes (``-``: standard input), closed with ``stack``; None without --rows."""
    if rows is None:
        return None
    return standard_input() if rows == "-" else stack.enter_context(open(rows, "rb"))


# --- whole lines, whatever the signals ---------------------------------------------------


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop, keep the whole lines written so far, exit with ``status``.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on
    the way up can mistake it for a failed job.
    """

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal a person reads (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (OSError, ValueError, AttributeError):
        return False


def _is_regular_file(stream: Any) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return False


def echo_json(text: str) -> None:
    """One JSON answer on standard output, in ASCII where that cannot take any text (as batch and sweeps write it)."""
    fit = fitting(sys.stdout, json=True)
    click.echo(text if fit is None else fit(text))


class LineWriter:
    """Writes whole lines to standard output, flushed at once unless it is a regular file.

    As a context manager it owns SIGINT and SIGTERM: ``status`` is 128 + the
    signal once one arrived. Leaving the context flushes, and from then on a
    signal is only noted, so the way out cannot be cut short either. ``signal``
    is imported here, not at start-up: a one-shot ``eval`` never needs it.

    With ``hold``, lines wait in memory until ``flush()`` (or HOLD_CHARS of
    them): a producer that calls ``flush()`` before every wait of its own (for
    input, for workers) still streams, and a busy one writes in blocks, a
    system call per block instead of three per line.

    Text is made to fit standard output's encoding as it is given (``fitting``;
    ``json``: the lines are JSON), so no line can fail to encode later and take
    the held ones with it.
    """

    HOLD_CHARS = 1 << 16

    def __init__(self, hold: bool = False, json: bool = False) -> None:
        import signal

        self._signal = signal
        self._signals = {signal.SIGINT, signal.SIGTERM}
        self.flush_each = not _is_regular_file(sys.stdout)
        self.status: int | None = None
        self._writing = False
        self._closing = False
        self._previous: dict[int, Any] = {}
        self.hold = hold and not is_terminal(sys.stdout)  # a person sees each line as it comes
        self._held: list[str] = []
        self._held_chars = 0
        self._counts: list[Callable[[], None]] = []
        self._fit = fitting(sys.stdout, json)

    def write(self, text: str, written: Callable[[], None] | None = None) -> None:
        """Write ``text`` (whole lines), then call ``written``; a signal that arrives meanwhile is acted on after.

        ``written`` is where what was written gets counted: a signal cannot
        fall between the write and the count, so a summary counts exactly the
        lines that were written.
        """
        counts = () if written is None else (written,)
        if self._fit is not None:
            text = self._fit(text)
        if not self.hold:
            self._emit(text, counts)
            return
        self._writing = True  # a signal now is only noted: a held line and its count go together
        try:
            self._held.append(text)
            self._held_chars += len(text)
            self._counts += counts
        finally:
            self._writing = False
        if self._held_chars >= self.HOLD_CHARS:
            self.flush()
        elif self.status is not None and not self._closing:
            raise Interrupted(self.status)

    def flush(self) -> None:
        """Write the held lines now, and count them."""
        if not self._held:
            return
        self._writing = True
        text, counts = "".join(self._held), self._counts
        self._held, self._counts, self._held_chars = [], [], 0
        self._emit(text, counts)

    def _emit(self, text: str, counts: Sequence[Callable[[], None]]) -> None:
        signal = self._signal
        # The signals wait in the kernel while the text is written: a write to a
        # full pipe is then never cut short by them, at any level of the I/O stack.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, self._signals) if self._previous else None
        self._writing = True
        try:
            out = sys.stdout  # looked up each time: a progress bar may be routing it
            try:
                out.write(text)  # a text stream encodes all of it before it writes any of it
            except UnicodeEncodeError:  # what ``fitting`` cannot foresee (a file name's lone surrogate): '?', not the block
                out.write(replaced(text, getattr(out, "encoding", None) or "utf-8"))
            if self.flush_each:
                out.flush()
            for count in counts:
                count()
        finally:
            self._writing = False
            if held is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if self.status is not None and not self._closing:
            raise Interrupted(self.status)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.status = 128 + signum
        if not (self._writing or self._closing):
            raise Interrupted(self.status)

    def __enter__(self) -> LineWriter:
        import threading

        if threading.current_thread() is threading.main_thread():
            for signum in self._signals:
                self._previous[signum] = self._signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._closing = True
        try:
            self.flush()
            sys.stdout.flush()
        finally:
            for signum, handler in self._previous.items():
                self._signal.signal(signum, handler)
            self._previous.clear()
