"""The ``autodiff`` command: the group, guarded whole, and its commands.

``main`` is the console-script entry point (``autodiff_cli.cli:main``). The
package is the only part of autodiff that prints or chooses an exit status:
``options`` declares what the commands share, ``commands`` reads each
command's arguments, ``run`` and ``streams`` compute and write, and
``output`` owns the consoles, the signals and the exit status.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import LIMIT, AutodiffError
from .commands import batch_command, diff_command, eval_command, explain_command, plot_command
from .output import fail, input_output_failed, internal_error, report_error, say

__all__ = ["core", "main", "report_error"]


def core() -> str:
    """Which core runs: "compiled" when _speedups loads (lalr's loop and engine's nodes in C), else "pure Python"."""
    from ..lalr import COMPILED  # light: lalr imports lark only when a driver is built

    return "compiled" if COMPILED else "pure Python"


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """click's --version, naming the core that runs (found only when asked: start-up is unchanged)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"autodiff, version {__version__} ({core()} core)")
        ctx.exit()


def _utf8_arguments(argv: list[str]) -> list[str]:
    """The arguments as the UTF-8 they are: under LC_ALL=C Python reads each byte past ASCII as a lone surrogate.

    So ``autodiff eval 'θ*2' θ=1`` reads θ wherever the shell wrote it as UTF-8;
    bytes that are not UTF-8 stay lone surrogates, which the name rule refuses.
    """
    return [os.fsencode(a).decode("utf-8", "surrogateescape") if not a.isascii() else a for a in argv]


class Commands(click.Group):
    """The ``autodiff`` group, guarded whole: click writes --help and --version before any command's guard."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if sys.stdout is None:
            say("autodiff: input/output error: standard output is closed: there is nowhere to write")
            sys.exit(1)
        if not args and "args" not in kwargs:
            kwargs["args"] = _utf8_arguments(sys.argv[1:])
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a full disk must be reported now, not lost at exit
        except OSError as err:
            input_output_failed(err)
        except MemoryError:
            fail(AutodiffError(LIMIT, "out of memory"))
        except Exception as err:
            if "--debug" in (kwargs.get("args") or (args[0] if args else None) or sys.argv[1:]):
                raise
            internal_error(err)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List each command's first sentence whole: click would cut it to fit one line."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=_version, help="Show the version and exit."
)
@click.option("--debug", is_flag=True, hidden=True, help="Show a traceback for internal errors.")
def main(debug: bool) -> None:
    """autodiff: the value of a formula and its derivatives.

    \b
    Try:
      autodiff eval "tanh(a*b+c)" a=2 b=3 c=1
    """


for _command in (eval_command, explain_command, diff_command, plot_command, batch_command):
    main.add_command(_command)
