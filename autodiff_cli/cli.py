"""The ``autodiff`` command: the only module that prints or chooses an exit status."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from . import __version__
from .bindings import parse_bindings
from .errors import DOMAIN, INPUT, LIMIT, NAME, OVERFLOW, SYNTAX, AutodiffError
from .program import compile_program

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# syntax and name errors are the caller's mistake in `eval`, like a bad option.
EXIT_FOR_KIND = {SYNTAX: EXIT_USAGE, NAME: EXIT_USAGE, INPUT: EXIT_USAGE, DOMAIN: EXIT_FAILED, OVERFLOW: EXIT_FAILED, LIMIT: EXIT_FAILED}

_LOOKS_LIKE_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?")

EVAL_HELP = """Evaluate PROGRAM and its gradient with respect to every input.

PROGRAM is a program in the autodiff language (`-` reads it from standard
input); each BINDING gives an input a value, as NAME=VALUE.

\b
Examples:
  autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
  autodiff eval "z = a*b; y = tanh(z + c); y*z" a=0.5 b=-1 c=2 --json
  echo "log(x)/x" | autodiff eval - x=2

Exit status: 0 on success, 1 if the program cannot be evaluated (domain,
overflow), 2 for bad usage or a syntax or name error.
"""


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def report_error(error: AutodiffError) -> None:
    """A person-readable error on standard error: kind, message, then the caret picture."""
    _stderr(f"autodiff: {error}")
    picture = error.caret()
    if picture:
        _stderr(picture)


def fail(error: AutodiffError) -> NoReturn:
    """Report ``error`` and exit with the status its kind calls for."""
    report_error(error)
    sys.exit(EXIT_FOR_KIND.get(error.kind, EXIT_FAILED))


def _usage(ctx: click.Context, message: str) -> NoReturn:
    raise click.UsageError(message, ctx)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn anything unexpected into one line on stderr, never a traceback (unless --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return command(*args, **kwargs)
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
        except Exception as err:  # noqa: BLE001 - the last line of defence
            if ctx.find_root().params.get("debug"):
                raise
            _stderr(f"autodiff: internal error: {type(err).__name__}: {err} (run with --debug for details)")
            sys.exit(EXIT_FAILED)

    return wrapper


def _quiet_broken_pipe() -> NoReturn:
    """A reader that went away (``| head -1``) is not an error: leave without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    sys.exit(EXIT_FAILED)


def read_program(ctx: click.Context, program: str) -> str:
    """PROGRAM itself, or standard input when it is ``-``."""
    if program != "-":
        return program
    data = click.get_binary_stream("stdin").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AutodiffError(INPUT, f"standard input is not valid UTF-8 (byte {err.start})") from None
    # The newline a shell pipe adds is not part of the program people wrote.
    return text[:-1] if text.endswith("\n") else text


def check_arguments(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Programs may start with '-', so unknown options arrive as arguments: refuse them here."""
    for arg in args:
        if _LOOKS_LIKE_OPTION.fullmatch(arg):
            _usage(ctx, f"No such option: {arg.split('=')[0]}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="autodiff")
@click.option("--debug", is_flag=True, hidden=True, help="Show a traceback for internal errors.")
def main(debug: bool) -> None:
    """autodiff: the value of a formula and its derivatives.

    \b
    Try:
      autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
    """


@main.command("eval", help=EVAL_HELP, context_settings={"ignore_unknown_options": True})
@click.argument("program")
@click.argument("bindings", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the machine format).")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Output format: text for people (the default), json for scripts.",
)
@click.option("--digits", type=click.IntRange(1, 17), default=4, show_default=True, help="Significant digits shown.")
@click.option("--width", type=click.IntRange(20, 1000), help="Columns to fit (default: COLUMNS, or the terminal's).")
@click.option("--ascii", "ascii_only", is_flag=True, help="Draw with plain ASCII (+ - | >), no Unicode.")
@click.option("--no-dag", is_flag=True, help="Leave the graph out of the display.")
@click.option(
    "--graph",
    "graph_format",
    type=click.Choice(["dot", "mermaid"]),
    default=None,
    help="Print the graph as Graphviz DOT (pipe it to `dot -Tsvg`) or a Mermaid flowchart instead.",
)
@click.pass_context
@guarded
def eval_command(
    ctx: click.Context,
    program: str,
    bindings: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
    digits: int,
    width: int | None,
    ascii_only: bool,
    no_dag: bool,
    graph_format: str | None,
) -> None:
    check_arguments(ctx, (program, *bindings))
    if graph_format and (as_json or fmt == "json"):
        _usage(ctx, "--graph and --json are two different outputs: pick one")
    try:
        values = parse_bindings(bindings)
    except AutodiffError as err:
        _usage(ctx, err.message)
    source = read_program(ctx, program)
    compiled = compile_program(source)
    result = compiled.run(values)
    if as_json or fmt == "json":
        from .render.machine import dumps, result_record

        click.echo(dumps(result_record(source, result)))
    elif graph_format:
        from .render.export import to_dot, to_mermaid

        click.echo((to_dot if graph_format == "dot" else to_mermaid)(compiled.graph, digits))
    else:
        from .render.display import for_stream

        text = for_stream(compiled.graph, result, sys.stdout, os.environ, width, digits, ascii_only, not no_dag)
        click.echo(text, color=True)  # colour codes are in the text only when they are wanted
