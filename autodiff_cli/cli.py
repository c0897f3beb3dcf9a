"""The ``autodiff`` command: the only module that prints or chooses an exit status."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .bindings import parse_bindings
from .errors import DOMAIN, INPUT, LIMIT, NAME, OVERFLOW, SYNTAX, AutodiffError
from .program import compile_program
from .text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from .check import CheckReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# syntax and name errors are the caller's mistake in `eval`, like a bad option.
EXIT_FOR_KIND = {
    SYNTAX: EXIT_USAGE,
    NAME: EXIT_USAGE,
    INPUT: EXIT_USAGE,
    DOMAIN: EXIT_FAILED,
    OVERFLOW: EXIT_FAILED,
    LIMIT: EXIT_FAILED,
}

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
    """A person-readable error on standard error: kind, message, then the caret picture.

    Messages may quote the input, so they are escaped too (``text.printable``).
    """
    _stderr(f"autodiff: {printable(str(error))}")
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
            _input_output_failed(err)
        except Exception as err:
            if ctx.find_root().params.get("debug"):
                raise
            _stderr(f"autodiff: internal error: {type(err).__name__}: {printable(str(err))} (run with --debug for details)")
            sys.exit(EXIT_FAILED)

    return wrapper


def _input_output_failed(err: OSError) -> NoReturn:
    where = f" ({printable(str(err.filename))})" if err.filename else ""
    _stderr(f"autodiff: input/output error: {err.strerror or err}{where}")
    _discard_stdout()
    sys.exit(EXIT_FAILED)


class GuardedGroup(click.Group):
    """The ``autodiff`` group, guarded whole: click writes --help and --version before any command's guard."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if sys.stdout is None:
            _stderr("autodiff: input/output error: standard output is closed: there is nowhere to write")
            sys.exit(EXIT_FAILED)
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a full disk must be reported now, not lost at exit
        except OSError as err:
            _input_output_failed(err)
        except MemoryError:
            fail(AutodiffError(LIMIT, "out of memory"))
        except Exception as err:
            if "--debug" in (kwargs.get("args") or (args[0] if args else None) or sys.argv[1:]):
                raise
            _stderr(f"autodiff: internal error: {type(err).__name__}: {printable(str(err))} (run with --debug for details)")
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


def read_program(ctx: click.Context, program: str) -> str:
    """PROGRAM itself, or standard input when it is ``-``."""
    if program != "-":
        return program
    from .parser import MAX_PROGRAM_CHARS
    from .streaming import standard_input

    limit = 4 * MAX_PROGRAM_CHARS  # bytes: room for the character limit in any UTF-8
    data = standard_input().read(limit + 1)  # never more, however long the input goes on
    if len(data) > limit:
        message = f"standard input has more than {limit:,} bytes; a program has at most {MAX_PROGRAM_CHARS:,} characters"
        raise AutodiffError(LIMIT, message)
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


class ProgramCommand(click.Command):
    """A command whose first argument is a program, which may well start with '-'.

    click would read ``-(tanh(x))`` as a cluster of short options (``-h`` among
    them). Only the command's declared options are options here; every other
    argument is positional, wherever it stands.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        positional: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                positional.extend(args[i + 1 :])
                break
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if name in takes_value:
                options.append(arg)
                if takes_value[name] and "=" not in arg:
                    if i + 1 == len(args):  # else click would take the "--" added below as its value
                        raise click.BadOptionUsage(name, f"Option '{name}' requires an argument.", ctx)
                    options.append(args[i + 1])
                    i += 1
            else:
                positional.append(arg)
            i += 1
        return super().parse_args(ctx, [*options, "--", *positional])


class Commands(GuardedGroup):
    """A group whose --help lists each command's first sentence whole: click cuts it to fit one line."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="autodiff")
@click.option("--debug", is_flag=True, hidden=True, help="Show a traceback for internal errors.")
def main(debug: bool) -> None:
    """autodiff: the value of a formula and its derivatives.

    \b
    Try:
      autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
    """


@main.command("eval", cls=ProgramCommand, help=EVAL_HELP)
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
@click.option("--check", "check", is_flag=True, help="Compare every gradient with finite differences; exit 1 if one disagrees.")
@click.option("--hessian", is_flag=True, help="Also the second derivatives over every pair of inputs.")
@click.option(
    "--allow-nonfinite",
    is_flag=True,
    help='Report inf and nan values and gradients instead of failing (JSON: "inf", "-inf", "nan").',
)
@click.pass_context
@guarded
def eval_command(
    ctx: click.Context,
    program: str,
    bindings: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
    rows: str | None,
    digits: int,
    width: int | None,
    ascii_only: bool,
    no_dag: bool,
    graph_format: str | None,
    check: bool,
    hessian: bool,
    allow_nonfinite: bool,
) -> None:
    check_arguments(ctx, (program, *bindings))
    if rows is not None or fmt in ("csv", "jsonl") or any(":" in b.partition("=")[2] for b in bindings):
        fmt = "jsonl" if as_json or fmt in ("json", "jsonl") else fmt
        sys.exit(_sweep(ctx, program, bindings, rows, fmt, not allow_nonfinite))
    if graph_format and (as_json or fmt == "json"):
        _usage(ctx, "--graph and --json are two different outputs: pick one")
    try:
        values = parse_bindings(bindings)
    except AutodiffError as err:
        _usage(ctx, err.message)
    source = read_program(ctx, program)
    compiled = compile_program(source)
    second = None
    if hessian:
        from .hessian import program_hessian

        result, second = program_hessian(compiled, values)
    else:
        result = compiled.run(values, strict=not allow_nonfinite)
    report = None
    if check:
        from .check import check_gradients

        report = check_gradients(compiled, values)
    if as_json or fmt == "json":
        from .render.machine import dumps, result_record

        record = result_record(source, result)
        if second is not None:
            from .render.hessian import hessian_record

            record["hessian"] = hessian_record(second)
        if report is not None:
            from .render.check import check_record

            record["check"] = check_record(report)
        click.echo(dumps(record))
    elif graph_format:
        from .render.export import to_dot, to_mermaid

        click.echo((to_dot if graph_format == "dot" else to_mermaid)(compiled.graph, digits))
    else:
        from .render.display import for_stream

        text = for_stream(compiled.graph, result, sys.stdout, os.environ, width, digits, ascii_only, not no_dag)
        click.echo(text, color=True)  # colour codes are in the text only when they are wanted
        if second is not None:
            from .render.hessian import render_hessian

            click.echo()
            _console().print(render_hessian(second, digits, ascii_only))
        if report is not None:
            from .render.check import render_check

            click.echo()
            _console().print(render_check(report))
    if report is not None and not report.ok:
        _check_failed(report)


def _console() -> Console:
    """A rich console on standard output; rich itself honours NO_COLOR, FORCE_COLOR and pipes."""
    from rich.console import Console

    return Console(highlight=False)


def _check_failed(report: CheckReport) -> NoReturn:
    sys.stdout.flush()  # the table first, then the verdict, also on a shared terminal
    for c in report.inputs:
        if c.failed:
            _stderr(
                f"autodiff: check failed: d/d{c.name} is {c.autodiff!r} by autodiff but {c.finite_difference!r} "
                f"by finite differences (relative error {c.rel_error:.2g} > tolerance {report.tolerance:g})"
            )
    sys.exit(EXIT_FAILED)


EXPLAIN_HELP = """Show the forward and backward passes of PROGRAM, step by step.

The forward pass lists every node in the order it is computed; the backward
pass starts from the result and shows, for every node, each child's local
derivative (its formula and its value), the product with the node's gradient,
and the child's gradient after adding it: why each input's gradient is what
it is. PROGRAM and BINDINGS are as for `autodiff eval`.

\b
Examples:
  autodiff explain "c = a + b; d = c * 4" a=2 b=3
  autodiff explain "tanh(a*b+c)" a=2 b=3 c=1 --json
"""


@main.command("explain", cls=ProgramCommand, help=EXPLAIN_HELP)
@click.argument("program")
@click.argument("bindings", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with forward and backward steps.")
@click.pass_context
@guarded
def explain_command(ctx: click.Context, program: str, bindings: tuple[str, ...], as_json: bool) -> None:
    from .explain import explain

    check_arguments(ctx, (program, *bindings))
    try:
        values = parse_bindings(bindings)
    except AutodiffError as err:
        _usage(ctx, err.message)
    source = read_program(ctx, program)
    explanation = explain(compile_program(source), values)
    if as_json:
        from .render.explain import explanation_record
        from .render.machine import dumps

        click.echo(dumps(explanation_record(explanation)))
    else:
        from .render.explain import render_explanation

        _console().print(render_explanation(explanation))


DIFF_HELP = """Print the derivatives of PROGRAM as programs in the same language.

Each derivative comes under a `# d/dNAME` header and is a program of its
own: `autodiff eval` on it, with the same bindings, gives that derivative.
Statements name the subexpressions it uses more than once.

\b
Examples:
  autodiff diff "tanh(a*b+c)"
  autodiff diff "x^3*y" --wrt x --order 2
  autodiff diff "log(x)/x" --json

Exit status: 0 on success, 2 for bad usage or a syntax or name error (a
--wrt that is not an input), 1 if a part of the program that reads no input
cannot be evaluated.
"""


@main.command("diff", cls=ProgramCommand, help=DIFF_HELP)
@click.argument("program")
@click.option("--wrt", multiple=True, metavar="NAME", help="An input to differentiate for (repeatable; default: all).")
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True, help="1 for d/dx, 2 for d2/dx dy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the machine format).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default=None, help="Output format.")
@click.pass_context
@guarded
def diff_command(ctx: click.Context, program: str, wrt: tuple[str, ...], order: int, as_json: bool, fmt: str | None) -> None:
    from .symbolic import derivatives

    check_arguments(ctx, (program,))
    source = read_program(ctx, program)
    found = derivatives(source, list(wrt), order)
    if as_json or fmt == "json":
        from .render.derivatives import derivatives_record
        from .render.machine import dumps

        click.echo(dumps(derivatives_record(found)))
    else:
        from .render.derivatives import render_derivatives

        click.echo(render_derivatives(found))


PLOT_HELP = """Draw PROGRAM and its derivative along one input, in the terminal.

NAME=START:STOP[:STEP] sweeps one input (without STEP, two points per dot
column of the picture); NAME=VALUE binds the others. With --rows FILE the
points are the rows of a CSV or JSON-lines file, along --x (default: the
first input of the program the rows give). Points where the program fails
are gaps, counted in a note, never drawn; kinks (where the slope jumps, as
relu's at 0) are marked.

\b
Examples:
  autodiff plot "tanh(x)" x=-3:3
  autodiff plot "x^3 - 2*x" x=-2:2 --second
  autodiff plot "a*log(x)" x=-1:3 a=2 --wrt a
  autodiff plot "sin(x)/x" x=-10:10 --save sinc.svg

Exit status: 0 when there is a plot, 1 if the program fails at every point,
2 for bad usage. --save needs matplotlib (else exit status 2), the plot extra:

\b
  pip install 'autodiff-cli[plot]'
"""


@main.command("plot", cls=ProgramCommand, help=PLOT_HELP)
@click.argument("program")
@click.argument("bindings", nargs=-1)
@click.option("--wrt", multiple=True, metavar="NAME", help="Also the derivative for this input (repeatable).")
@click.option("--second", is_flag=True, help="Also the second derivative along the swept input.")
@click.option(
    "--rows",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Plot the rows of this CSV or JSON-lines file (- for standard input).",
)
@click.option("--x", "x_name", metavar="NAME", help="With --rows: the input along the horizontal axis.")
@click.option("--width", type=click.IntRange(30, 1000), help="Columns of the picture (default: COLUMNS, or the terminal's).")
@click.option("--height", type=click.IntRange(10, 1000), help="Lines of the picture (default: LINES, or to fit the terminal).")
@click.option("--ascii", "ascii_only", is_flag=True, help="Draw with ASCII marks, no braille.")
@click.option("--ylim", metavar="LOW:HIGH", help="The range of the vertical axis (default: the numbers, but a pole's few).")
@click.option("--save", type=click.Path(dir_okay=False), metavar="FILE", help="Write an image instead: FILE.svg or FILE.png.")
@click.option("--size", default="960x600", show_default=True, metavar="WxH", help="Pixels of the --save image.")
@click.pass_context
@guarded
def plot_command(ctx: click.Context, program: str, bindings: tuple[str, ...], **options: Any) -> None:
    import contextlib

    from .plot import plot_arguments, plot_data, require_points
    from .render.display import terminal_of, to_text
    from .render.plot import default_height, default_points, plot_options, render_plot

    check_arguments(ctx, (program, *bindings))
    terminal = terminal_of(sys.stdout, os.environ, options["width"], "┤└◆⣿")
    save, rows = options["save"], options["rows"]
    try:
        constants, axes = plot_arguments(bindings, 1001 if save else default_points(terminal.width))
        height = options["height"] or default_height(sys.stdout, os.environ, terminal.width)
        settings = plot_options(terminal, height, options["ascii_only"], options["ylim"])
        if save:
            from .render.plot_image import image_size

            size = image_size(save, options["size"])
    except AutodiffError as err:
        _usage(ctx, err.message)
    if bool(axes) == (rows is not None):
        _usage(ctx, "give one range to sweep, NAME=START:STOP, or --rows FILE (not both)")
    if program == "-" and rows == "-":
        _usage(ctx, "PROGRAM and --rows cannot both come from standard input")
    compiled = compile_program(read_program(ctx, program))
    with contextlib.ExitStack() as stack:
        from .streaming import standard_input

        stream = None if rows is None else standard_input() if rows == "-" else stack.enter_context(open(rows, "rb"))
        data = plot_data(compiled, constants, axes, stream, options["x_name"], options["wrt"], options["second"])
    require_points(data)
    if save:
        from .render.plot_image import save_image

        save_image(data, save, size, settings.ylim)
        _stderr(f"autodiff: wrote {save}")
        return
    click.echo(terminal.encodable(to_text(render_plot(data, settings), terminal.width, terminal.color)), color=True)


def _sweep(ctx: click.Context, program: str, bindings: tuple[str, ...], rows: str | None, fmt: str | None, strict: bool) -> int:
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
    return write_sweep(compile_program(read_program(ctx, program)), constants, axes, rows, fmt or "csv", strict)


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
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Worker processes (0: one per core; at most 4 per core), started as jobs arrive.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run the jobs on a Dask cluster (tcp://HOST:8786), or on local[:N] worker processes it starts here.",
)
@click.option(
    "--first-line",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of the first line, for a block cut from a larger input (GNU parallel --pipe).",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary and no progress bar on standard error.")
@click.option(
    "--allow-nonfinite",
    is_flag=True,
    help='Report inf and nan values and gradients instead of failing (JSON: "inf", "-inf", "nan").',
)
@click.pass_context
@guarded
def batch_command(
    ctx: click.Context,
    files: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
    jobs: int,
    scheduler: str | None,
    first_line: int,
    quiet: bool,
    allow_nonfinite: bool,
) -> None:
    import gc

    from .streaming import write_batch

    # A batch is one long run: what start-up built is never garbage, so the collector need not walk it
    # again and again, and jobs make no cycles to collect (about 10% of a batch of short jobs: bench_frontend).
    if as_json or fmt == "json":
        fmt = "jsonl"
    if scheduler is not None:
        _check_scheduler(ctx, scheduler, jobs)
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        code = write_batch(files or ("-",), fmt or "text", jobs, quiet, not allow_nonfinite, first_line, scheduler)
    finally:  # as it was for whoever runs the command in-process (tests, CliRunner)
        gc.unfreeze()
        gc.set_threshold(*threshold)
    sys.exit(code)


def _check_scheduler(ctx: click.Context, scheduler: str, jobs: int) -> None:
    from .distributed import local_workers, missing

    try:
        local_workers(scheduler)
    except ValueError as err:
        _usage(ctx, str(err))
    if jobs != 1:
        _usage(ctx, "--jobs and --scheduler are two ways to run jobs in parallel: pick one")
    why = missing()
    if why:
        _usage(ctx, why)
