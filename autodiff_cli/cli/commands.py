"""The commands: each reads its arguments, refuses what cannot combine, and hands over to one writer.

A command's docstring is its ``--help``. The writers are in ``run.py``
(one answer) and ``streams.py`` (rows and jobs as they come).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import AutodiffError
from ..ranges import Axis, is_range, split_arguments
from ..text import MIN_PLOT_WIDTH
from . import run
from .options import GRAPHS, ProgramCommand, Shared, program_arguments, read_program, shared_options, spaced_binding, usage
from .output import guarded

__all__ = ["batch_command", "diff_command", "eval_command", "explain_command", "plot_command"]

_ROWS_FILE = click.Path(exists=True, dir_okay=False, allow_dash=True)
_NO_PAGER = click.option(
    "--no-pager",
    is_flag=True,
    help="Never page: on a terminal, output longer than the screen goes through AUTODIFF_PAGER or PAGER (less -FRX).",
)


def bindings_and_ranges(bindings: tuple[str, ...]) -> tuple[dict[str, float], list[Axis]]:
    """The one look at the arguments that tells a one-shot from a sweep; a bad one is bad usage."""
    try:
        return split_arguments(bindings)
    except AutodiffError as err:
        usage(err.message + spaced_binding(bindings))


@click.command("eval", cls=ProgramCommand)
@program_arguments()
@click.option(
    "--rows", type=_ROWS_FILE, help="Sweep: evaluate at every row of this CSV or JSON-lines file (- for standard input)."
)
@click.option(
    "--keep",
    multiple=True,
    metavar="COLUMN",
    help="With --rows (CSV): pass this column through to every output row, e.g. a label (repeatable).",
)
@click.option("--no-dag", is_flag=True, help="Leave the graph out of the display.")
@click.option(
    "--dag",
    "dag_mode",
    type=click.Choice(["auto", "ops", "names"]),
    default="auto",
    show_default=True,
    help="The graph of every operation (ops), or of the inputs, named statements and result (names); "
    "auto: ops when it fits the width and about a screen.",
)
@click.option(
    "--graph",
    "graph_format",
    type=click.Choice(list(GRAPHS)),
    help="Print the graph instead of the answer, as " + "; ".join(f"{name}: {what}" for name, what in GRAPHS.items()) + ".",
)
@click.option("--check", is_flag=True, help="Compare every gradient with finite differences; exit 1 if one disagrees.")
@click.option("--hessian", is_flag=True, help="Also the second derivatives over every pair of inputs.")
@_NO_PAGER
@shared_options(("text", "json", "csv", "jsonl"), notes=" csv or jsonl make a sweep; in a sweep json means jsonl.")
@guarded
def eval_command(
    program: str,
    bindings: tuple[str, ...],
    rows: str | None,
    keep: tuple[str, ...],
    no_dag: bool,
    dag_mode: str,
    graph_format: str | None,
    check: bool,
    hessian: bool,
    no_pager: bool,
    shared: Shared,
) -> None:
    """Evaluate PROGRAM and its gradient with respect to every input.

    PROGRAM is a program in the autodiff language; `-` reads it from standard
    input and `@FILE` from FILE. Each BINDING gives an input a value, as
    NAME=VALUE. After `--` every argument is PROGRAM or a BINDING, even one
    that starts with `-`.

    A sweep evaluates the program, parsed once, at many bindings: at every row
    of --rows FILE (a CSV file whose header names the inputs, or JSON lines of
    objects; `-` is standard input), or at every point of NAME=START:STOP:STEP
    ranges (each point exact in decimal: 0:1:0.1 gives 0.3; STOP included when
    a step lands on it, never passed; several ranges give their cartesian
    product). Plain NAME=VALUE bindings are
    shared by all rows. On a terminal (or with --format text) a sweep is a
    table; otherwise it writes CSV (or JSON lines with --json): each row's
    inputs, `value`, and one `d/dNAME` per input; --keep COLUMN passes a
    column of CSV --rows through (first in CSV, under "kept" in JSON). --check, --hessian and --graph are for one point: a
    sweep refuses them.

    \b
    Examples:
      autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
      autodiff eval "z = a*b; y = tanh(z + c); y*z" a=0.5 b=-1 c=2 --json
      echo "log(x)/x" | autodiff eval - x=2
      autodiff eval @examples/neuron.ad x1=2 x2=0 w1=-3 w2=1 b=6.88
      autodiff eval "x^2 * y" x=0:1:0.25 y=2
      autodiff eval "tanh(a*b+c)" --rows points.csv c=1 > out.csv

    Exit status: 0 on success, 1 if the program cannot be evaluated (domain,
    overflow) or a row of a sweep failed, 2 for bad usage or a syntax or name error.
    """
    constants, axes = bindings_and_ranges(bindings)
    if keep and rows is None:
        usage(f"--keep {keep[0]} passes a column of --rows through: give --rows FILE")
    extras = {"--check": check, "--hessian": hessian, "--graph": graph_format is not None}
    if rows is not None or axes or shared.fmt in ("csv", "jsonl"):
        run.refuse_with_sweep(extras, rows, next(filter(is_range, bindings), None), shared.fmt)
        sys.exit(run.sweep(program, constants, axes, rows, keep, shared))
    run.refuse_with_one_shot(extras, shared)
    sys.exit(
        run.one_shot(
            read_program(program), constants, shared, graph_format, check, hessian, "" if no_dag else dag_mode, not no_pager
        )
    )


@click.command("explain", cls=ProgramCommand)
@program_arguments()
@_NO_PAGER
@shared_options(("text", "json"))
@guarded
def explain_command(program: str, bindings: tuple[str, ...], no_pager: bool, shared: Shared) -> None:
    """Show the forward and backward passes of PROGRAM, step by step.

    The forward pass lists every node in the order it is computed; the backward
    pass starts from the result and shows, for every node, each child's local
    derivative (its formula and its value), the product with the node's gradient,
    and the child's gradient after adding it: why each input's gradient is what
    it is. PROGRAM (`-`, `@FILE` too) and BINDINGS are as for `autodiff eval`,
    without ranges.

    Every step is shown, as many as --json lists; a program whose statements
    take several steps each is shown statement by statement. On a terminal,
    an explanation longer than the screen goes through the pager, as git's
    does: AUTODIFF_PAGER, else PAGER, else less (with LESS=FRX if LESS is
    unset); an empty pager or `cat`, or --no-pager, prints it directly. A pipe
    or a file gets it all, never paged.

    \b
    Examples:
      autodiff explain "c = a + b; d = c * 4" a=2 b=3
      autodiff explain "tanh(a*b+c)" a=2 b=3 c=1 --json
    """
    constants, axes = bindings_and_ranges(bindings)
    if axes:
        usage(f"explain shows one point: the range {axes[0].name}=... cannot be explained; give {axes[0].name}=VALUE")
    run.explain(read_program(program), constants, shared, not no_pager)


@click.command("diff", cls=ProgramCommand, takes_bindings=False)
@program_arguments(bindings=False)
@click.option("--wrt", multiple=True, metavar="NAME", help="An input to differentiate for (repeatable; default: all).")
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True, help="1 for d/dx, 2 for d2/dx dy.")
@shared_options(("text", "json"), display=False, nonfinite=False)
@guarded
def diff_command(program: str, wrt: tuple[str, ...], order: int, shared: Shared) -> None:
    """Print the derivatives of PROGRAM as programs in the same language.

    Each derivative comes under a `# d/dNAME` header and is a program of its
    own: `autodiff eval` on it, with the same bindings, gives that derivative.
    Statements name the subexpressions it uses more than once. diff takes no
    bindings: its answer holds for every value of the inputs. PROGRAM may be
    `-` (standard input) or `@FILE`, as for `autodiff eval`.

    \b
    Examples:
      autodiff diff "tanh(a*b+c)"
      autodiff diff "x^3*y" --wrt x --order 2
      autodiff diff "log(x)/x" --json

    Exit status: 0 on success, 2 for bad usage or a syntax or name error (a
    --wrt that is not an input), 1 if a part of the program that reads no input
    cannot be evaluated.
    """
    run.diff(read_program(program), list(wrt), order, shared)


@click.command("plot", cls=ProgramCommand)
@program_arguments()
@click.option("--wrt", multiple=True, metavar="NAME", help="Also the derivative for this input (repeatable).")
@click.option("--second", is_flag=True, help="Also the second derivative along the swept input.")
@click.option("--rows", type=_ROWS_FILE, help="Plot the rows of this CSV or JSON-lines file (- for standard input).")
@click.option("--x", "x_name", metavar="NAME", help="With --rows: the input along the horizontal axis.")
@click.option("--height", type=click.IntRange(10, 1000), help="Lines of the picture (default: LINES, or to fit the terminal).")
@click.option("--ylim", metavar="LOW:HIGH", help="The range of the vertical axis (default: the numbers, but a pole's few).")
@click.option("--save", type=click.Path(dir_okay=False), metavar="FILE", help="Write an image instead: FILE.svg or FILE.png.")
@click.option("--size", default="960x600", show_default=True, metavar="WxH", help="Pixels of the --save image.")
@shared_options(min_width=MIN_PLOT_WIDTH, nonfinite=False)
@guarded
def plot_command(program: str, bindings: tuple[str, ...], shared: Shared, **options: Any) -> None:
    """Draw PROGRAM and its derivative along one input, in the terminal.

    PROGRAM may be `-` (standard input) or `@FILE`, as for `autodiff eval`.
    NAME=START:STOP[:STEP] sweeps one input (without STEP, up to two points per
    dot column, each exact); NAME=VALUE binds the others. With --rows FILE the
    points are the rows of a CSV or JSON-lines file, along --x (default: the
    first input of the program the rows give). Points where the program fails
    are gaps, counted in a note, never drawn; kinks (where the slope jumps, as
    relu's at 0) are marked. Each curve has its own panel and y axis (--ylim
    sets them all), over the one x axis they share.

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
    run.plot(program, bindings, shared, options)


@click.command("batch")
@click.argument("files", nargs=-1, type=_ROWS_FILE)
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
    help="Run the jobs on a Dask cluster (tcp://HOST:8786; dask: Dask's configured scheduler-address), or on"
    " local[:N] worker processes it starts here.",
)
@click.option(
    "--scheduler-file",
    metavar="PATH",
    help="Run the jobs on the Dask cluster whose scheduler wrote PATH (dask scheduler --scheduler-file).",
)
@click.option(
    "--first-line",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of the first line, for a block cut from a larger input (GNU parallel --pipe).",
)
@shared_options(("text", "json", "jsonl", "csv"), json_means="jsonl", notes=" json is the older spelling of jsonl here.")
@guarded
def batch_command(
    files: tuple[str, ...], jobs: int, scheduler: str | None, scheduler_file: str | None, first_line: int, shared: Shared
) -> None:
    """Run every job of FILE (standard input if none, or `-`), in order.

    A job is one line: a JSON object {"expr": "...", "vars": {"a": 2}} (an "id"
    member is echoed back), or the arguments of `autodiff eval`, quoted as a shell
    quotes them: "tanh(a*b+c)" a=2 b=3 c=1. Blank lines and # comments are skipped.
    Answers come in input order, each with its job's line number: in blocks while
    input keeps coming, and at once whenever autodiff would wait for more, so no
    answer waits on a job not yet read. A job that fails gets an error record and
    the others go on.

    \b
    Examples:
      autodiff batch jobs.jsonl --json
      tail -f jobs.txt | autodiff batch --json | jq .value
      autodiff batch big.jsonl --jobs 0 --format csv > answers.csv

    Exit status: 0 if every job succeeded, 1 if any failed, 2 for bad usage;
    3 if the Dask cluster was lost midway (the output then holds whole lines,
    and standard error the line to resume from); 130 or 143 if stopped by
    SIGINT or SIGTERM (the output then holds whole lines).
    """
    sys.exit(run.batch(files or ("-",), jobs, scheduler, first_line, shared, scheduler_file))
