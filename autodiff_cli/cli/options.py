"""The options every command shares, declared once, and the reading of PROGRAM and its arguments.

``--format`` takes its choices from one ``FORMATS`` table, ``--json`` is its
shorthand everywhere, and the display options (``--digits``, ``--width``,
``--ascii``, ``--quiet``) and ``--allow-nonfinite`` mean the same on every
command that declares them. A command gets them all as one ``Shared``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, NoReturn, TypeVar

import click

from ..errors import INPUT, LIMIT, NAME, SYNTAX, AutodiffError
from ..text import MAX_WIDTH, MIN_WIDTH
from .output import standard_input

__all__ = [
    "FORMATS",
    "GRAPHS",
    "ProgramCommand",
    "Shared",
    "program_arguments",
    "read_program",
    "shared_options",
    "spaced_binding",
    "usage",
    "where_in_program",
]

F = TypeVar("F", bound=Callable[..., Any])

# Programs may start with '-' ("--x" is minus minus x), but one that reads as an option is refused as one.
_LOOKS_LIKE_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?")

FORMATS: dict[str, str] = {
    "text": "for people (the default)",
    "json": "one JSON object",
    "jsonl": "JSON Lines, one object a line",
    "csv": "a header line, then one line a row",
}
"""Every output format, and what it means wherever a command offers it."""

GRAPHS: dict[str, str] = {
    "dot": "Graphviz DOT (pipe it to `dot -Tsvg`)",
    "mermaid": "a Mermaid flowchart",
    "svg": "an SVG drawing, every node with its value and gradient (no Graphviz needed)",
    "html": "one self-contained HTML page: the drawing, and explain's steps to walk through on it",
}
"""Every form --graph prints the graph in, and what it is."""


class Shared:
    """The shared options of one run; ``fmt`` is None when neither --format nor --json was given.

    A plain class, not a dataclass: one less code generation at every start.
    """

    __slots__ = ("allow_nonfinite", "ascii", "digits", "fmt", "quiet", "width")

    def __init__(
        self, fmt: str | None, digits: int | None, width: int | None, ascii: bool, quiet: bool, allow_nonfinite: bool
    ) -> None:
        self.fmt, self.digits, self.width = fmt, digits, width
        self.ascii, self.quiet, self.allow_nonfinite = ascii, quiet, allow_nonfinite


def usage(message: str) -> NoReturn:
    """Bad usage (exit 2) with click's own "Try --help" hint."""
    raise click.UsageError(message, click.get_current_context())


def shared_options(
    formats: Sequence[str] = (),
    json_means: str = "json",
    display: bool = True,
    ascii: bool = True,
    min_width: int = MIN_WIDTH,
    nonfinite: bool = True,
    notes: str = "",
) -> Callable[[F], F]:
    """Declare the shared options on a command and hand them to it as ``shared``.

    ``formats`` are the keys of FORMATS it writes (none: no --format, no --json);
    ``--json`` means ``json_means`` (jsonl for the commands that stream records).
    A command declares only what it honours: one that cannot draw in ASCII
    yet has no --ascii, so asking for it is a usage error, not ignored.
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json, fmt = kwargs.pop("as_json", False), kwargs.pop("fmt", None)
            if as_json and fmt not in (None, "json", json_means):
                usage(f"--json and --format {fmt} are two different outputs: pick one")
            shared = Shared(
                json_means if as_json else fmt,
                kwargs.pop("digits", None),
                kwargs.pop("width", None),
                kwargs.pop("ascii_only", False),
                kwargs.pop("quiet", False),
                kwargs.pop("allow_nonfinite", False),
            )
            return command(*args, shared=shared, **kwargs)

        for option in reversed(_options(formats, json_means, display, ascii, min_width, nonfinite, notes)):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _options(
    formats: Sequence[str], json_means: str, display: bool, ascii: bool, min_width: int, nonfinite: bool, notes: str
) -> list[Callable[[Any], Any]]:
    options: list[Callable[[Any], Any]] = []
    if formats:
        choices = "; ".join(f"{name}: {FORMATS[name]}" for name in formats)
        options += [
            click.option("--json", "as_json", is_flag=True, help=f"Short for --format {json_means}."),
            click.option("-f", "--format", "fmt", type=click.Choice(list(formats)), help=f"Output format: {choices}.{notes}"),
        ]
    if display:
        options += [
            click.option("--digits", type=click.IntRange(1, 17), help="Significant digits shown (default: 4 in tables)."),
            click.option(
                "--width", type=click.IntRange(min_width, MAX_WIDTH), help="Columns to fit (default: COLUMNS, or the terminal's)."
            ),
            *([click.option("--ascii", "ascii_only", is_flag=True, help="Draw with plain ASCII, no Unicode.")] if ascii else []),
            click.option("-q", "--quiet", is_flag=True, help="Nothing on standard error but errors: no summary, no progress."),
        ]
    if nonfinite:
        help_text = 'Report inf and nan values and gradients instead of failing (JSON: "inf", "-inf", "nan").'
        options.append(click.option("--allow-nonfinite", is_flag=True, help=help_text))
    return options


# --- PROGRAM and its arguments -------------------------------------------------------


def program_arguments(bindings: bool = True) -> Callable[[F], F]:
    """PROGRAM, then the BINDINGS (NAME=VALUE or ranges) unless the command takes none."""

    def decorate(command: F) -> F:
        if bindings:
            command = click.argument("bindings", nargs=-1)(command)
        return click.argument("program")(command)

    return decorate


def read_program(program: str) -> str:
    """PROGRAM itself; standard input for ``-`` (or ``@-``); the file FILE for ``@FILE``, as curl reads one.

    The language has no ``@``, so a PROGRAM that starts with one always names
    a file: ``@@x`` reads the file ``@x``. Either way the read is bounded by
    the program limit, and where the program came from is kept for the error
    messages (``where_in_program``).
    """
    if program in ("-", "@-"):
        text, origin = _decoded(_bounded(standard_input(), "standard input"), "standard input"), None
    elif program.startswith("@"):
        text, origin = _read_file(program[1:]), program[1:]
    else:
        text, origin = program, ""
    meta = _meta()
    meta[_ORIGIN] = (origin, program, text)
    return text


_ORIGIN = "autodiff.program_origin"  # (file name, None for standard input, "" for the argument; PROGRAM; its text)


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta if ctx is not None else {}


def _read_file(path: str) -> str:
    """The program in file ``path``: an input error (exit 2) naming the file if it cannot be read."""
    if not path:
        raise AutodiffError(INPUT, "@ needs a file name: @FILE reads the program from FILE, @- from standard input")
    what = f"the program file {path}"
    try:
        with open(path, "rb") as stream:  # a named pipe (@<(cmd), @/dev/stdin) is read as it is written
            data = _bounded(stream, what)
    except FileNotFoundError:
        raise AutodiffError(INPUT, f"cannot read {what}: there is no such file") from None
    except IsADirectoryError:
        raise AutodiffError(INPUT, f"cannot read {what}: it is a directory") from None
    except OSError as err:
        raise AutodiffError(INPUT, f"cannot read {what}: {err.strerror or err}") from None
    return _decoded(data, what)


def _bounded(stream: BinaryIO, what: str) -> bytes:
    from ..parser import MAX_PROGRAM_CHARS

    limit = 4 * MAX_PROGRAM_CHARS  # bytes: room for the character limit in any UTF-8
    data = stream.read(limit + 1)  # never more, however long the input goes on (/dev/zero)
    if len(data) > limit:
        message = f"{what} has more than {limit:,} bytes; a program has at most {MAX_PROGRAM_CHARS:,} characters"
        raise AutodiffError(LIMIT, message)
    return data


def _decoded(data: bytes, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AutodiffError(INPUT, f"{what} is not valid UTF-8 (byte {err.start})") from None
    text = text.removeprefix("\ufeff")  # the byte order mark some editors write first is no part of the program
    # The newline a shell pipe or an editor adds is not part of the program people wrote.
    return text[:-1] if text.endswith("\n") else text


def where_in_program(error: AutodiffError) -> tuple[str, str]:
    """How to report ``error`` to a person: its first line, and a hint (or "").

    An error in a program read from a file is placed as compilers place one,
    ``FILE:LINE:COLUMN: syntax error: ...``; a PROGRAM that fails to parse and
    reads like a file name (``model.ad``, ``examples/neuron.ad``), or names
    an existing file (``models/a`` parses, then has no input bound), gets a
    hint to write ``@`` before it.
    """
    origin, program, text = _meta().get(_ORIGIN, (None, "", None))
    if error.line is None or error.source != text:
        return str(error), ""
    if origin:
        return f"{origin}:{error.line}:{error.column}: {error.kind} error: {error.message}", ""
    hint = ""
    if origin == "" and error.kind in (SYNTAX, NAME) and _LOOKS_LIKE_PATH.fullmatch(program):
        import os.path

        if os.path.isfile(program):
            hint = f"hint: {program} is a file: write @{program} to read the program from it"
        elif error.kind == SYNTAX:  # a/b that names no file is a fine program: only a parse error hints
            hint = f"hint: to read the program from a file, write @{program}"
    return str(error), hint


# No space, and a '/' or '.ad' at the end: more likely a file name than a program.
_LOOKS_LIKE_PATH = re.compile(r"\S*(/\S*|\.ad)")


def spaced_binding(bindings: Sequence[str]) -> str:
    """A hint for a binding the shell split at spaces around '=' (``x = 3``, ``x= 3``, ``x =3``), or ""."""
    for i, arg in enumerate(bindings):
        before, after = bindings[i - 1] if i else "", bindings[i + 1] if i + 1 < len(bindings) else ""
        if arg == "=" and before and after:
            joined = f"{before}={after}"
        elif arg != "=" and arg.endswith("=") and arg.count("=") == 1 and after and "=" not in after:
            joined = f"{arg}{after}"
        elif arg.startswith("=") and before and "=" not in before:
            joined = f"{before}{arg}"
        elif arg == "=":
            return "; a binding has no spaces around '=': write NAME=VALUE"
        else:
            continue
        return f"; a binding has no spaces around '=': write {joined}"
    return ""


class ProgramCommand(click.Command):
    """A command whose first argument is a program, which may well start with '-'.

    click would read ``-(tanh(x))`` as a cluster of short options (``-h`` among
    them). Only the command's declared options are options here (``-fjson``
    too, when ``json`` is one of -f's choices); every other argument is
    positional, wherever it stands, and everything after ``--`` is. An
    unknown ``--name`` before ``--`` is refused, with click's "Did you mean".
    """

    def __init__(self, *args: Any, takes_bindings: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.takes_bindings = takes_bindings

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        params = {name: p for p in self.get_params(ctx) if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}
        options: list[str] = []
        positional: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                positional.extend(args[i + 1 :])
                break
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg
            param = params.get(name)
            if param is None and _attached_value(params.get(arg[:2]), arg[2:]):
                options += [arg[:2], arg[2:]]
            elif param is None:
                if _LOOKS_LIKE_OPTION.fullmatch(arg):
                    import difflib  # only on the way out: it costs start-up time

                    raise click.NoSuchOption(name, possibilities=difflib.get_close_matches(name, params), ctx=ctx)
                positional.append(arg)
            else:
                options.append(arg)
                if not (param.is_flag or param.count) and "=" not in arg:
                    if i + 1 == len(args):  # else click would take the "--" added below as its value
                        raise click.BadOptionUsage(name, f"Option '{name}' requires an argument.", ctx)
                    options.append(args[i + 1])
                    i += 1
            i += 1
        if not self.takes_bindings and len(positional) > 1:
            extra = " ".join(positional[1:])
            raise click.UsageError(f"{self.name} takes no bindings ({extra}): it works for every value of the inputs", ctx)
        return super().parse_args(ctx, [*options, "--", *positional])


def _attached_value(param: click.Option | None, value: str) -> bool:
    """Whether ``-fVALUE`` is the option -f with VALUE: only for a choice, so that ``-fx`` stays a program."""
    return param is not None and isinstance(param.type, click.Choice) and value in param.type.choices
