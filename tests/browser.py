"""A real browser for the tests of --graph svg and --graph html: headless Chromium, and the PNGs it paints.

Skips without Chromium, except where it is required: CI sets
AUTODIFF_REQUIRE=chromium (as for Graphviz), and there a missing browser fails.
The PNG reader is the standard library's zlib and the five PNG filters, so a
picture is checked pixel by pixel without Pillow.
"""

from __future__ import annotations

import os
import pathlib
import resource
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

__all__ = ["chromium_or_skip", "dump_dom", "read_png", "screenshot"]


def chromium_or_skip() -> str:
    """The browser's path; a skip with the reason without one, a failure where CI requires it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path is not None:
            return path
    if "chromium" in os.environ.get("AUTODIFF_REQUIRE", "").split(","):
        pytest.fail("AUTODIFF_REQUIRE=chromium, but no chromium is on PATH (.ci/run installs it)")
    pytest.skip("Chromium is not installed (.ci/run installs it: apt-get install -y chromium)")


def _run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    browser = chromium_or_skip()
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}"]
        return subprocess.run(
            [browser, *flags, *args], capture_output=True, timeout=90, check=False, cwd=profile, preexec_fn=_no_memory_cap
        )


def _no_memory_cap() -> None:
    # conftest caps the address space (for runaway SymPy); Chromium reserves far more than it uses and dies under it.
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def screenshot(page: pathlib.Path, width: int, height: int, out: pathlib.Path, url_tail: str = "") -> bytes:
    """The PNG Chromium paints of ``page`` (a file) in a window of ``width`` x ``height``."""
    size = f"--window-size={width},{height}"
    done = _run([f"--screenshot={out}", size, "--force-device-scale-factor=1", page.as_uri() + url_tail])
    assert out.exists(), (done.returncode, done.stderr.decode(errors="replace")[-3000:])
    return out.read_bytes()


def dump_dom(page: pathlib.Path, url_tail: str = "") -> str:
    """The document after the page's script ran (``--dump-dom``), as HTML text."""
    done = _run(["--virtual-time-budget=2000", "--dump-dom", page.as_uri() + url_tail])
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                cur[i] = (cur[i] + a) & 255
            elif kind == 2:
                cur[i] = (cur[i] + b) & 255
            elif kind == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([(cur[x], cur[x + 1], cur[x + 2]) for x in range(0, stride, channels)])
        previous = cur
    return width, height, rows
