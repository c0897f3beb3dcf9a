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

A sweep evaluates the program, parsed once, at many bindings: at every row
of --rows FILE (a CSV file whose header names the inputs, or JSON lines of
objects; `-` is standard input), or at every point of NAME=START:STOP:STEP
ranges (STOP included; several ranges give their cartesian product). Plain
NAME=VALUE bindings are shared by all rows. A sweep writes CSV (the default)
or JSON lines: each row's inputs, `value`, and one `d/dNAME` per input.

\b
Examples:
  autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
  autodiff eval "z = a*b; y = tanh(z + c); y*z" a=0.5 b=-1 c=2 --json
  echo "log(x)/x" | autodiff eval - x=2
  autodiff eval "x^2 * y" x=0:1:0.25 y=2
  autodiff eval "tanh(a*b+c)" --rows points.csv c=1 > out.csv

Exit status: 0 on success, 1 if the program cannot be evaluated (domain,
overflow) or a row of a sweep failed, 2 for bad usage or a syntax or name error.
"""

BATCH_HELP = """Run every job of FILE (standard input if none, or `-`), in order.

A job is one line: a JSON object {"expr": "...", "vars": {"a": 2}} (an "id"
member is echoed back), or the arguments of `autodiff eval`, quoted as a shell
quotes them: "tanh(a*b+c)" a=2 b=3 c=1. Blank lines and # comments are skipped.
Each answer is written as soon as its job is done, with the job's line number;
a job that fails gets an error record and the others go on.

\b
Examples:
  autodiff batch jobs.jsonl --json
  tail -f jobs.txt | autodiff batch --json | jq .value
  autodiff batch big.jsonl --jobs 0 --format csv > answers.csv

Exit status: 0 if every job succeeded, 1 if any failed, 2 for bad usage;
130 or 143 if stopped by SIGINT or SIGTERM (the output then holds whole lines).
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
    type=click.Choice(["text", "json", "csv", "jsonl"]),
    default=None,
    help="Output format: text for people (the default), json for scripts; csv or jsonl for a sweep.",
)
@click.option(
    "--rows",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    default=None,
    help="Sweep: evaluate at every row of this CSV or JSON-lines file (- for standard input).",
)
@click.pass_context
@guarded
def eval_command(
    ctx: click.Context, program: str, bindings: tuple[str, ...], as_json: bool, fmt: str | None, rows: str | None
) -> None:
    check_arguments(ctx, (program, *bindings))
    if rows is not None or fmt in ("csv", "jsonl") or any(":" in b.partition("=")[2] for b in bindings):
        sys.exit(_sweep(ctx, program, bindings, rows, "jsonl" if as_json or fmt in ("json", "jsonl") else fmt))
    try:
        values = parse_bindings(bindings)
    except AutodiffError as err:
        _usage(ctx, err.message)
    source = read_program(ctx, program)
    result = compile_program(source).run(values)
    if as_json or fmt == "json":
        from .render.machine import dumps, result_record

        click.echo(dumps(result_record(source, result)))
    else:
        from .render.plain import render_plain

        click.echo(render_plain(source, result))


def _sweep(ctx: click.Context, program: str, bindings: tuple[str, ...], rows: str | None, fmt: str | None) -> int:
    from .streaming import write_sweep
    from .sweep import split_arguments

    if fmt == "text":
        _usage(ctx, "a sweep writes csv or jsonl: use --format csv or --format jsonl")
    if program == "-" and rows == "-":
        _usage(ctx, "PROGRAM and --rows cannot both come from standard input")
    try:
        constants, axes = split_arguments(bindings)
    except AutodiffError as err:
        _usage(ctx, err.message)
    if axes and rows is not None:
        _usage(ctx, "give --rows or NAME=START:STOP:STEP ranges, not both")
    return write_sweep(compile_program(read_program(ctx, program)), constants, axes, rows, fmt or "csv")


@main.command("batch", help=BATCH_HELP)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Write JSON lines, one object per job (the machine format).")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl", "csv"]),
    default=None,
    help="Output format: text, a table for people (the default); jsonl (or json) or csv for scripts.",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True, help="Worker processes; 0: one per core."
)
@click.option("-q", "--quiet", is_flag=True, help="No summary and no progress bar on standard error.")
@guarded
def batch_command(files: tuple[str, ...], as_json: bool, fmt: str | None, jobs: int, quiet: bool) -> None:
    from .streaming import write_batch

    if as_json or fmt == "json":
        fmt = "jsonl"
    sys.exit(write_batch(files or ("-",), fmt or "text", jobs, quiet))
