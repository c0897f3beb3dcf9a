"""What each command does once its arguments are read: compute, then write through ``output``.

The refusals are here too, decided once per run: flags that cannot combine
are bad usage (exit 2) naming both, never one of them silently dropped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from ..errors import DOMAIN, OVERFLOW, AutodiffError
from ..program import compile_program
from ..ranges import Axis
from .options import Shared, read_program, usage
from .output import EXIT_FAILED, echo_json, is_terminal, open_rows, plain_ascii, say

if TYPE_CHECKING:
    from ..check import CheckReport
    from ..program import Program, Result

__all__ = ["batch", "diff", "explain", "one_shot", "plot", "refuse_with_one_shot", "refuse_with_sweep", "sweep"]


def _given(extras: Mapping[str, bool]) -> list[str]:
    return [flag for flag, on in extras.items() if on]


def refuse_with_sweep(extras: Mapping[str, bool], rows: str | None, first_range: str | None, fmt: str | None) -> None:
    """A sweep writes one record a row: the one-point extras (--check, --hessian, --graph) cannot join it."""
    why = "--rows" if rows is not None else f"the range {first_range}" if first_range else f"--format {fmt}"
    for flag in _given(extras):
        usage(f"{flag} and {why} cannot be combined: {flag} is for one point, {why} makes a sweep")
    if first_range and rows is not None:
        usage(f"--rows and the range {first_range} cannot be combined: give --rows or ranges, not both")


def refuse_with_one_shot(extras: Mapping[str, bool], shared: Shared) -> None:
    """--graph is an output of its own; --hessian cannot report inf and nan yet."""
    if extras["--graph"]:
        if shared.fmt == "json":
            usage("--graph and --json are two different outputs: pick one")
        for flag in _given({"--check": extras["--check"], "--hessian": extras["--hessian"]}):
            usage(f"--graph and {flag} cannot be combined: --graph prints the graph alone")
    if extras["--hessian"] and shared.allow_nonfinite:
        usage("--hessian and --allow-nonfinite cannot be combined: second derivatives need finite values")


def sweep(
    program: str, constants: dict[str, float], axes: Sequence[Axis], rows: str | None, keep: Sequence[str], shared: Shared
) -> int:
    """Run and write a sweep; return the exit status."""
    from .streams import write_sweep

    _one_standard_input(program, rows)
    fmt = "jsonl" if shared.fmt in ("json", "jsonl") else shared.fmt or ("text" if is_terminal(sys.stdout) else "csv")
    compiled = compile_program(read_program(program))
    table = _sweep_table(shared) if fmt == "text" else None
    return write_sweep(compiled, constants, axes, rows, fmt, not shared.allow_nonfinite, shared.quiet, keep, table)


def _sweep_table(shared: Shared) -> Any:
    """What makes the people table of a sweep, for the inputs that get columns: sized and coloured for stdout."""
    import functools

    from ..render.display import terminal_of
    from ..render.sweep_table import SweepTable

    terminal = terminal_of(sys.stdout, os.environ, shared.width)
    ascii = plain_ascii(shared.ascii)
    return functools.partial(SweepTable, digits=shared.digits, width=terminal.width, ascii=ascii, color=terminal.color)


def _one_standard_input(program: str, rows: str | None) -> None:
    if program in ("-", "@-") and rows == "-":
        usage("PROGRAM and --rows cannot both come from standard input")


def one_shot(
    source: str,
    values: dict[str, float],
    shared: Shared,
    graph: str | None,
    check: bool,
    hessian: bool,
    dag: str,
    pager: bool = True,
) -> int:
    """Evaluate once and write the answer, with the extras asked for; return the exit status."""
    compiled = compile_program(source)
    second = None
    if hessian:
        from ..hessian import program_hessian
        from ..render.hessian import MAX_INPUTS

        # A table shows the first MAX_INPUTS rows: only --json needs them all.
        result, second = program_hessian(compiled, values, None if shared.fmt == "json" else MAX_INPUTS)
    else:
        with _nonfinite_hint(compiled, values, shared):
            result = compiled.run(values, strict=not shared.allow_nonfinite)
    report = None
    if check:
        from ..check import check_gradients

        report = check_gradients(compiled, values)
    if shared.fmt == "json":
        _write_json(source, result, second, report)
    elif graph:
        click.echo(_graph_text(compiled, values, graph, shared, dag))
    else:
        _write_display(compiled, result, shared, dag, second, report, pager)
    if report is not None and not report.ok:
        _check_failed(report)
        return EXIT_FAILED
    return 0


def _graph_text(compiled: Program, values: dict[str, float], graph: str, shared: Shared, dag: str) -> str:
    """The graph after the run, in the form --graph names (cli/options.py GRAPHS).

    The SVG draws the graph the display would draw (render.pictures.choose, at
    the same width and --dag): the operations (with their constants as nodes:
    a vector picture has room for them), or the named values.
    """
    if graph == "html":
        from ..render.html_page import explorer_page

        return explorer_page(compiled, values, shared.digits, strict=not shared.allow_nonfinite)
    if graph == "svg":
        from ..render.display import terminal_of
        from ..render.pictures import choose, whole_names
        from ..render.svg import to_svg

        width = terminal_of(sys.stdout, os.environ, shared.width).width
        mode, _, _ = choose(compiled.graph, dag or "auto", width, shared.digits, plain_ascii(shared.ascii))
        return to_svg(compiled.graph if mode == "ops" else whole_names(compiled.graph, shared.digits), shared.digits)
    from ..render.export import to_dot, to_mermaid

    return (to_dot if graph == "dot" else to_mermaid)(compiled.graph, shared.digits)


@contextlib.contextmanager
def _nonfinite_hint(compiled: Program, values: dict[str, float], shared: Shared) -> Iterator[None]:
    """A domain or overflow error names --allow-nonfinite when that flag would give an answer (inf or nan) instead."""
    try:
        yield
    except AutodiffError as err:
        if shared.allow_nonfinite or err.kind not in (DOMAIN, OVERFLOW):
            raise
        try:
            compiled.run(values, strict=False)
        except AutodiffError:
            raise err from None
        message = f"{err.message} (--allow-nonfinite answers with inf and nan instead)"
        raise AutodiffError(err.kind, message, err.line, err.column, err.source) from None


def _write_json(source: str, result: Result, second: dict[str, dict[str, float]] | None, report: CheckReport | None) -> None:
    from ..records import check_record, dumps, hessian_record, result_record

    record = result_record(source, result)
    if second is not None:
        record["hessian"] = hessian_record(second)
    if report is not None:
        record["check"] = check_record(report)
    echo_json(dumps(record))


def _write_display(
    compiled: Program,
    result: Result,
    shared: Shared,
    dag: str,
    second: dict[str, dict[str, float]] | None,
    report: CheckReport | None,
    pager: bool,
) -> None:
    from ..render.display import for_stream
    from .pager import Paged

    digits = shared.digits  # None: the result line as the JSON shows it, tables to TABLE_DIGITS
    text = for_stream(compiled.graph, result, sys.stdout, os.environ, shared.width, digits, shared.ascii, dag)
    with Paged(pager) as out:  # long (a big --hessian, a tall DAG): paged on a terminal, as explain is
        out.write(text + "\n")  # colour codes are in the text only when they are wanted
        if second is not None:
            from ..render.hessian import render_hessian

            out.write("\n")
            out.print(render_hessian(second, digits, plain_ascii(shared.ascii), len(result.gradients)))
        if report is not None:
            from ..render.check import render_check

            out.write("\n")
            out.print(render_check(report, digits, plain_ascii(shared.ascii)))


def _check_failed(report: CheckReport) -> None:
    sys.stdout.flush()  # the table first, then the verdict, also on a shared terminal
    for c in report.inputs:
        if c.failed:
            say(
                f"autodiff: check failed: d/d{c.name} is {c.autodiff!r} by autodiff but {c.finite_difference!r} "
                f"by finite differences (relative error {c.rel_error:.2g} > tolerance {report.tolerance:g})"
            )


def explain(source: str, values: dict[str, float], shared: Shared, pager: bool = True) -> None:
    """Write the forward and backward passes of one point; for people, every step, paged on a terminal when long."""
    from ..explain import explain as explain_program

    compiled = compile_program(source)
    with _nonfinite_hint(compiled, values, shared):
        explanation = explain_program(compiled, values, strict=not shared.allow_nonfinite)
    if shared.fmt == "json":
        from ..records import dumps, explanation_record

        echo_json(dumps(explanation_record(explanation)))
    else:
        from ..render.explain import explanation_parts
        from .pager import Paged

        with Paged(pager) as out:
            for part in explanation_parts(explanation, shared.digits, plain_ascii(shared.ascii)):
                out.print(part, shared.width)


def diff(source: str, wrt: list[str], order: int, shared: Shared) -> None:
    """Write the derivatives as programs."""
    from ..derivatives import derivatives

    found = derivatives(source, wrt, order)
    if shared.fmt == "json":
        from ..records import derivatives_record, dumps

        echo_json(dumps(derivatives_record(found)))
    else:
        from ..render.derivatives import render_derivatives

        click.echo(render_derivatives(found))


def batch(
    files: Sequence[str],
    jobs: int,
    scheduler: str | None,
    first_line: int,
    shared: Shared,
    scheduler_file: str | None = None,
) -> int:
    """Run a batch (here, or on Dask); return the exit status."""
    from ..batch import few_collections
    from .streams import write_batch

    if scheduler is not None and scheduler_file is not None:
        usage("--scheduler and --scheduler-file both name a scheduler: pick one")
    if scheduler is not None or scheduler_file is not None:
        _check_scheduler(scheduler, jobs, shared.quiet)
    elif not shared.quiet and os.environ.get("DASK_SCHEDULER_ADDRESS"):
        from ..distributed_connect import configured_note

        note = configured_note(os.environ)
        if note:
            say(note)
    fmt = "jsonl" if shared.fmt == "json" else shared.fmt or "text"
    strict = not shared.allow_nonfinite
    with few_collections(freeze=True):
        return write_batch(
            files, fmt, jobs, shared.quiet, strict, first_line, scheduler, shared.width, shared.digits, scheduler_file
        )


def _check_scheduler(scheduler: str | None, jobs: int, quiet: bool) -> None:
    from ..batch import WORKERS_PER_CORE
    from ..distributed_connect import local_workers, missing

    local = None
    try:
        if scheduler is not None:
            local = local_workers(scheduler)
    except ValueError as err:
        usage(str(err))
    if jobs != 1:
        usage("--jobs and --scheduler are two ways to run jobs in parallel: pick one")
    why = missing()
    if why:
        usage(why)
    if local is not None and local[0] > local[1] and not quiet:
        say(f"autodiff: --scheduler {scheduler} is more than {WORKERS_PER_CORE} per core: starting at most {local[1]} workers")


def plot(program: str, bindings: tuple[str, ...], shared: Shared, options: dict[str, Any]) -> None:
    """Draw the plot on the terminal, or save it as an image."""
    from ..plot import plot_arguments, plot_data, require_points
    from ..render.display import terminal_of, to_text
    from ..render.plot import default_height, default_points, plot_options, render_plot
    from ..text import MIN_PLOT_WIDTH

    terminal = terminal_of(sys.stdout, os.environ, shared.width, "┤└◆⣿", MIN_PLOT_WIDTH)
    save, rows = options["save"], options["rows"]
    try:
        constants, axes = plot_arguments(bindings, 1001 if save else default_points(terminal.width))
        height = options["height"] or default_height(sys.stdout, os.environ, terminal.width)
        settings = plot_options(terminal, height, shared.ascii, options["ylim"], shared.digits)
        if save:
            from ..render.plot_image import image_size

            size = image_size(save, options["size"])
    except AutodiffError as err:
        usage(err.message)
    if bool(axes) == (rows is not None):
        usage("give one range to sweep, NAME=START:STOP, or --rows FILE (not both)")
    _one_standard_input(program, rows)
    compiled = compile_program(read_program(program))
    with contextlib.ExitStack() as stack:
        data = plot_data(compiled, constants, axes, open_rows(stack, rows), options["x_name"], options["wrt"], options["second"])
    require_points(data)
    if save:
        from ..render.plot_image import save_image

        save_image(data, save, size, settings.ylim)
        if not shared.quiet:
            say(f"autodiff: wrote {save}")
        return
    click.echo(terminal.encodable(to_text(render_plot(data, settings), terminal.width, terminal.color)), color=True)
