"""People output longer than the screen goes through the pager, as git's does; pipes and --json never page.

The pager is a fake, a shell command that saves what it is given, and the
terminal a pseudo-terminal of a known size, so what the pager received and
what reached the terminal can both be compared with what a pipe gets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff_cli.cli.pager import _screen_lines, pager_command

from .ptys import Finished, run_on_terminal

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal"),
    pytest.mark.timeout(120),
]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOGISTIC = ["explain", "L = log(1+exp(-y*(w*x+b)))", "y=1", "w=0.5", "x=2", "b=-0.5"]  # about 70 lines
SHORT = ["explain", "a*b", "a=2", "b=3"]  # about 30 lines
CLEAN = ("AUTODIFF_PAGER", "PAGER", "LESS", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")


def chain(statements: int) -> str:
    """A program of ``statements`` statements of three operations each."""
    return "\n".join(["h = x", *(f"h = tanh(w{k % 3}*h + 0.25)" for k in range(statements))])


def environment(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in CLEAN}, "TERM": "xterm", **extra}


def on_terminal(args: list[str], env: dict[str, str], rows: int = 40, columns: int = 80, stdin: str | None = None) -> Finished:
    """Run autodiff with standard output on a ``rows`` × ``columns`` pseudo-terminal: (status, terminal text, stderr)."""
    return run_on_terminal(args, env, rows=rows, columns=columns, stdin=stdin)


def in_a_pipe(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autodiff_cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def plain(text: str) -> list[str]:
    """Lines without colour codes or trailing spaces: the same display, terminal or pipe."""
    return [line.rstrip() for line in ANSI.sub("", text).rstrip("\n").split("\n")]


def saving_pager(path: Path) -> str:
    return f"sh -c 'cat > {path}'"


# --- choosing the pager ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "command"),
    [
        ({}, "less"),
        ({"PAGER": "more"}, "more"),
        ({"PAGER": "more", "AUTODIFF_PAGER": "less -S"}, "less -S"),
        ({"PAGER": "more", "AUTODIFF_PAGER": ""}, None),  # set but empty: no pager, PAGER is not consulted
        ({"PAGER": "cat"}, None),
        ({"PAGER": "  "}, None),
        ({"AUTODIFF_PAGER": "cat"}, None),
    ],
)
def test_the_pager_is_picked_as_git_picks_it(environ: dict[str, str], command: str | None) -> None:
    assert pager_command(environ) == command


@pytest.mark.timeout(10)
def test_screen_lines_count_wrapping_not_colour() -> None:
    assert _screen_lines("a\nb\n", 80) == 2
    assert _screen_lines("x" * 80 + "\n", 80) == 1
    assert _screen_lines("x" * 81 + "\n", 80) == 2
    assert _screen_lines("x" * 200, 80) == 3
    assert _screen_lines("\x1b[1m" + "x" * 80 + "\x1b[0m\n", 80) == 1
    assert _screen_lines("\n\n\n", 10) == 3
    assert _screen_lines("∂" * 40 + "\n", 40) == 1


# --- on a terminal --------------------------------------------------------------------------


def test_a_long_explanation_goes_whole_through_the_pager(tmp_path: Path) -> None:
    saved = tmp_path / "paged.txt"
    status, terminal, stderr = on_terminal(LOGISTIC, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=30)
    assert status == 0, stderr
    assert terminal.strip() == "", "the pager had it all; nothing went around it"
    piped = in_a_pipe(LOGISTIC, environment(COLUMNS="80"))
    paged = saved.read_text()
    assert "\x1b[" in paged, "colour, as on the terminal (less -R shows it)"
    assert plain(paged) == plain(piped.stdout)
    assert "Result" in paged and "∂/∂w" in paged


def test_output_that_fits_is_printed_without_a_pager(tmp_path: Path) -> None:
    saved = tmp_path / "paged.txt"
    status, terminal, _ = on_terminal(SHORT, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=60)
    assert status == 0 and not saved.exists()
    assert plain(terminal) == plain(in_a_pipe(SHORT, environment(COLUMNS="80")).stdout)
    # The same output on a screen one line too short for it (a line is the pager's prompt) is paged.
    lines = len(plain(terminal))
    status, terminal, _ = on_terminal(SHORT, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=lines)
    assert status == 0 and saved.exists() and terminal.strip() == ""
    saved.unlink()
    status, terminal, _ = on_terminal(SHORT, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=lines + 1)
    assert status == 0 and not saved.exists() and len(plain(terminal)) == lines


def test_lines_that_wrap_count_as_the_screen_shows_them(tmp_path: Path) -> None:
    saved = tmp_path / "paged.txt"
    # Drawn 200 wide on a terminal 40 wide, the long lines wrap: a screen with room for every line fills up.
    args = [*SHORT, "--width", "200"]
    lines = plain(in_a_pipe(args, environment()).stdout)
    on_screen = sum(max(1, -(-len(line) // 40)) for line in lines)
    assert on_screen > len(lines) + 3
    status, _, _ = on_terminal(args, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=len(lines) + 2, columns=40)
    assert status == 0 and saved.exists()


@pytest.mark.parametrize("switch", [["--no-pager"], "AUTODIFF_PAGER=", "AUTODIFF_PAGER=cat", "PAGER=cat", ["--json"]])
def test_ways_to_print_directly(tmp_path: Path, switch: list[str] | str) -> None:
    saved = tmp_path / "paged.txt"
    env = environment(PAGER=saving_pager(saved))
    args = list(LOGISTIC)
    if isinstance(switch, str):
        name, value = switch.split("=", 1)
        env[name] = value
    else:
        args += switch
    status, terminal, _ = on_terminal(args, env, rows=20)
    assert status == 0 and not saved.exists()
    if "--json" in args:
        assert json.loads(terminal)["gradients"]["w"] == pytest.approx(-0.7550813375962909)
    else:
        assert plain(terminal) == plain(in_a_pipe(LOGISTIC, environment(COLUMNS="80")).stdout)


def test_pager_then_autodiff_pager(tmp_path: Path) -> None:
    by_pager, by_ours = tmp_path / "pager.txt", tmp_path / "ours.txt"
    on_terminal(LOGISTIC, environment(PAGER=saving_pager(by_pager)), rows=20)
    assert by_pager.exists()
    by_pager.unlink()
    on_terminal(LOGISTIC, environment(PAGER=saving_pager(by_pager), AUTODIFF_PAGER=saving_pager(by_ours)), rows=20)
    assert by_ours.exists() and not by_pager.exists()


def test_less_is_told_frx_unless_less_is_set(tmp_path: Path) -> None:
    seen = tmp_path / "less.txt"
    pager = f"sh -c 'echo \"$LESS\" > {seen}; cat > /dev/null'"
    on_terminal(LOGISTIC, environment(AUTODIFF_PAGER=pager), rows=20)
    assert seen.read_text().strip() == "FRX"
    on_terminal(LOGISTIC, environment(AUTODIFF_PAGER=pager, LESS="-S"), rows=20)
    assert seen.read_text().strip() == "-S"


@pytest.mark.parametrize(
    ("pager", "note"),
    [
        ("no-such-pager-anywhere --flag", "was not found"),
        ("sh -c 'cat > /dev/null; exit 3'", "failed (status 3)"),
        ("sh -c 'exit 1'", "failed (status 1)"),  # reads nothing at all
        ("sh -c 'exec no-such-pager-anywhere'", "failed (status 127)"),
        ("'unclosed", "was not found"),
    ],
)
def test_a_pager_that_is_missing_or_fails_leaves_the_text_printed(pager: str, note: str) -> None:
    status, terminal, stderr = on_terminal(LOGISTIC, environment(AUTODIFF_PAGER=pager), rows=20)
    assert status == 0
    assert note in stderr and "Traceback" not in stderr
    assert plain(terminal) == plain(in_a_pipe(LOGISTIC, environment(COLUMNS="80")).stdout)


def test_quitting_the_pager_early_is_not_an_error(tmp_path: Path) -> None:
    # 200 statements: far more than a pipe holds, so autodiff is still writing when the pager goes.
    saved = tmp_path / "head.txt"
    bindings = ["x=0.5", "w0=0.3", "w1=-0.7", "w2=1.1"]
    status, terminal, stderr = on_terminal(
        ["explain", "-", *bindings], environment(AUTODIFF_PAGER=f"sh -c 'head -c 1000 > {saved}'"), rows=20, stdin=chain(200)
    )
    assert status == 0 and stderr == "" and terminal.strip() == ""
    assert len(saved.read_bytes()) == 1000


def test_eval_pages_a_long_display_too(tmp_path: Path) -> None:
    saved = tmp_path / "paged.txt"
    args = ["eval", "a*b*c*d + a/b", "a=1", "b=2", "c=3", "d=4", "--hessian"]
    status, terminal, _ = on_terminal(args, environment(AUTODIFF_PAGER=saving_pager(saved)), rows=15)
    assert status == 0 and terminal.strip() == ""
    piped = plain(in_a_pipe(args, environment(COLUMNS="80")).stdout)
    assert plain(saved.read_text()) == piped and len(piped) > 15
    saved.unlink()
    status, terminal, _ = on_terminal([*args, "--no-pager"], environment(AUTODIFF_PAGER=saving_pager(saved)), rows=15)
    assert status == 0 and not saved.exists() and plain(terminal) == piped


# --- pipes and files never page ---------------------------------------------------------------


def test_a_pipe_or_a_file_never_pages(tmp_path: Path) -> None:
    saved = tmp_path / "paged.txt"
    env = environment(AUTODIFF_PAGER=saving_pager(saved), LINES="5")
    piped = in_a_pipe(LOGISTIC, env)
    assert piped.returncode == 0 and not saved.exists()
    assert "∂/∂w" in piped.stdout and len(piped.stdout.splitlines()) > 50
    out = tmp_path / "out.txt"
    with open(out, "w") as file:
        subprocess.run([sys.executable, "-m", "autodiff_cli", *LOGISTIC], stdout=file, env=env, timeout=60, check=True)
    assert not saved.exists() and out.read_text() == piped.stdout
