"""Running autodiff with its output on a pseudo-terminal, as a person at a terminal would, for tests.

One loop reads the terminal until every writer has gone (EIO or end of file),
within a deadline: a child that goes quiet fails the test by name instead of
hanging it. The stream not on the terminal goes to a file, never a pipe: a
pipe nobody reads while the terminal is read fills up and stops the child.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from typing import BinaryIO, NamedTuple

AUTODIFF = [sys.executable, "-m", "autodiff_cli"]


class Finished(NamedTuple):
    """A finished run: its exit status, what reached the terminal, and what reached stderr off the terminal."""

    status: int
    terminal: str  # decoded as UTF-8, with the terminal's "\r\n" as "\n"
    stderr: str  # "" when stderr was on the terminal


def run_on_terminal(
    args: list[str],
    env: dict[str, str],
    *,
    streams: tuple[str, ...] = ("stdout",),
    rows: int | None = None,
    columns: int | None = None,
    stdin: str | None = None,
    stdout: BinaryIO | None = None,
    deadline: float = 60.0,
) -> Finished:
    """Run ``autodiff args`` with ``streams`` (stdout, stderr or both) on a pseudo-terminal of ``rows`` x ``columns``.

    ``stdin`` is written to a pipe (else stdin is /dev/null); stdout off the
    terminal goes to ``stdout`` (a file opened for binary writing) or is dropped.
    """
    leader, follower = os.openpty()
    if rows is not None and columns is not None:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [*AUTODIFF, *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=follower if "stdout" in streams else (stdout or subprocess.DEVNULL),
            stderr=follower if "stderr" in streams else errors,
            env=env,
        )
        os.close(follower)
        try:
            if stdin is not None:
                assert process.stdin is not None
                process.stdin.write(stdin.encode())
                process.stdin.close()
            seen = _read_until_closed(leader, time.monotonic() + deadline)
            status = process.wait(timeout=deadline)
        finally:
            os.close(leader)
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        stderr = errors.read().decode()
    return Finished(status, seen.decode().replace("\r\n", "\n"), stderr)


def _read_until_closed(leader: int, until: float) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], max(0.0, until - time.monotonic()))
        assert ready, "the child went quiet on its terminal"
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer of the terminal has gone
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
