"""The LALR tables shipped as JSON: current, equivalent to building them, and never trusted when stale or damaged."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import lark
import pytest

from autodiff_cli import parser, parser_tables
from autodiff_cli.errors import AutodiffError
from autodiff_cli.program import Program

SHIPPED = pathlib.Path(parser_tables.__file__).with_name(parser_tables.TABLES_FILE)
CORPUS = pathlib.Path(__file__).parent / "data" / "cases.jsonl"
MORE = [
    "a +",
    "2a",
    "(a",
    "a)",
    "a = ",
    "= a",
    "f(",
    "sin(a,",
    "a\n+b",
    "(a\n+b)",
    "a;;b;",
    "x += 1",
    "a ^ -b ^ 2",
    "#c\na",
    "1e999",
    "a b",
    "3 = a",
    "a,b",
    "λ = 2; λ*x",
    "",
    "   ",
    ";",
    "a ** b",
    "pow(a)",
    "max(1,2,3)",
    "a@b",
    "sinn(x)",
    "sin = 2",
    "x(1)",
    "a +\n b",
    "(\n a +\n b\n)",
    "a = 1\n\n\nb = a*2 # note\nb",
]


def fresh() -> str:
    grammar = parser_tables.read_grammar()
    return parser_tables.dumps(parser_tables.tables(parser_tables.build_parser(grammar), grammar))


def test_the_shipped_tables_are_current() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped["grammar"] == parser_tables.read_grammar(), "grammar.lark changed: run tools/build_parser_tables.py"
    if shipped["lark"] != lark.__version__:
        # Tables from another lark are not used (see test_stale_tables_are_ignored); rebuild them to be fast again.
        pytest.skip(f"tables built with lark {shipped['lark']}, installed {lark.__version__}")
    assert SHIPPED.read_text(encoding="utf-8") == fresh(), "run tools/build_parser_tables.py"


def test_the_tables_are_the_same_from_run_to_run() -> None:
    assert fresh() == fresh()


def outcomes() -> list[tuple]:
    sources = [json.loads(line)["expr"] for line in CORPUS.read_text(encoding="utf-8").splitlines()] + MORE
    out = []
    for source in sources:
        try:
            graph = parser.parse(source)
            ops = [v._op for v in graph.nodes]
            out.append(("ok", ops, list(graph.inputs), list(graph.names), [c.data for c in graph.constants]))
        except AutodiffError as err:
            out.append((err.kind, err.message, err.line, err.column))
    return out


def test_loaded_and_built_parsers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "_PARSER", None)
    loaded = outcomes()
    assert parser._PARSER.source_path == "<deserialized>"  # the tables were used
    grammar = parser_tables.read_grammar()
    built = parser_tables.build_parser(grammar, transformer=parser._CALLBACKS, postlex=parser._POSTLEX)
    monkeypatch.setattr(parser, "_PARSER", built)
    assert outcomes() == loaded
    assert sum(1 for o in loaded if o[0] == "ok") > 400 and sum(1 for o in loaded if o[0] == "syntax") > 20


def test_tables_are_read_with_json_not_pickle() -> None:
    source = pathlib.Path(parser_tables.__file__).read_text(encoding="utf-8")
    assert "import pickle" not in source and "pickle." not in source
    assert ".load(" not in source and ".save(" not in source  # lark's own cache format is a pickle


# --- shipped or cached, tables are trusted only after every check ------------------------

RUNTIME = {"transformer": parser._CALLBACKS, "postlex": parser._POSTLEX}
A, B = 2.0, 3.0
# (program, the same computation in Python): what a damaged table would get wrong.
PROGRAMS = [
    ("a*-b", lambda a, b: a * -b),
    ("a - b - 1", lambda a, b: a - b - 1),
    ("2^-a^2", lambda a, b: 2 ** (-(a**2))),
    ("(a + b) / 4.5e-1", lambda a, b: (a + b) / 4.5e-1),
    ("x = a*b # note\nx - 10", lambda a, b: a * b - 10),
    ("12.5*a - b/3; -a", lambda a, b: -a),
    ("max(a, b) * -2", lambda a, b: max(a, b) * -2),
]


def answers(built: lark.Lark) -> list[float]:
    """Each of PROGRAMS parsed by ``built`` (lark's own loop) and run at a, b."""
    out = []
    with parser._LOCK:
        for source, _ in PROGRAMS:
            parser._BUILDER.reset(source)
            try:
                graph = built.parse(source)
            finally:
                parser._BUILDER.reset("")
            out.append(Program(graph).run({"a": A, "b": B}).value)  # type: ignore[arg-type]
    return out


EXPECTED = [python(A, B) for _, python in PROGRAMS]


def loaded(built: lark.Lark) -> bool:
    return built.source_path == "<deserialized>"


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> pathlib.Path:
    """Another lark than the shipped tables': the cache is used, in a fresh directory; its path (not yet written)."""
    monkeypatch.setattr(lark, "__version__", "0.0.0+tables-test")  # what the module compares
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = parser_tables.cache_file()
    assert path is not None and path.startswith(str(tmp_path / "cache"))
    return pathlib.Path(path)


def written(cache: pathlib.Path) -> bytes:
    """Build the parser once, which writes the cache, and check the next load reads it back."""
    built = parser_tables.load_parser(**RUNTIME)
    assert not loaded(built) and answers(built) == EXPECTED
    again = parser_tables.load_parser(**RUNTIME)
    assert loaded(again) and answers(again) == EXPECTED
    return cache.read_bytes()


def rebuilt(cache: pathlib.Path | None = None) -> None:
    """The next load builds from the grammar, answers right, and (if it can) leaves a good cache."""
    started = time.monotonic()
    built = parser_tables.load_parser(**RUNTIME)
    assert not loaded(built), "damaged tables were trusted"
    assert answers(built) == EXPECTED
    assert time.monotonic() - started < 10
    if cache is not None and cache.is_file() and not cache.is_symlink():
        assert parser_tables.read_tables(cache.read_bytes(), parser_tables.read_grammar()) is not None


def json_text(s: str) -> str:
    return json.dumps(s)[1:-1]


def test_the_shipped_tables_pass_their_own_checks() -> None:
    raw = SHIPPED.read_bytes()
    assert raw.isascii()  # the NAME pattern holds lone surrogates: escaped, the text encodes
    stored = parser_tables.read_tables(raw, parser_tables.read_grammar())
    if stored is None:
        assert json.loads(raw)["lark"] != lark.__version__, "run tools/build_parser_tables.py"
        pytest.skip("tables built with another lark")
    assert stored["key"] == parser_tables.tables_key(parser_tables.read_grammar())


# Edits that leave valid JSON behind; the seal must catch every one (the first is the reported one).
EDITS = {
    "a '-' ignored like a blank": (json_text("[ \t\f\r\\v]+"), json_text("[ \t\f\r\\v-]+")),
    "NUMBER takes a sign": ('"name":"NUMBER","pattern":{"value":"', '"name":"NUMBER","pattern":{"value":"-?'),
    "MINUS is '+'": ('"name":"MINUS","pattern":{"value":"-"', '"name":"MINUS","pattern":{"value":"+"'),
    "a rule's callback": ('"alias":"binary"', '"alias":"unary"'),
    "a shift's target state": ('{"__tuple__":[0,1]}', '{"__tuple__":[0,2]}'),
    "the lark version": ('"lark":"0.0.0+tables-test"', f'"lark":"{lark.__version__}"'),
    "the key": ('"key":"', '"key":"0'),
    "the seal": ('{"sha256":"', '{"sha256":"0'),
    "a member renamed": ('"memo":', '"memx":'),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_cache_is_detected_and_rebuilt(edit: str, cache: pathlib.Path) -> None:
    text = written(cache).decode("utf-8")
    old, new = EDITS[edit]
    assert old in text
    cache.write_text(text.replace(old, new, 1), encoding="utf-8")
    json.loads(cache.read_text(encoding="utf-8"))  # still JSON: only the seal can tell
    rebuilt(cache)


def test_an_edited_shipped_file_is_not_trusted(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = SHIPPED.read_text(encoding="utf-8")
    old, new = EDITS["a '-' ignored like a blank"]
    assert old in text
    edited = tmp_path / parser_tables.TABLES_FILE
    edited.write_text(text.replace(old, new, 1), encoding="utf-8")
    monkeypatch.setattr(parser_tables, "SHIPPED", str(edited))
    rebuilt()


def sealed(body: bytes) -> bytes:
    """``body`` behind a valid seal, as a forger or a bug would write it."""
    import hashlib

    return b'{"sha256":"' + hashlib.sha256(body).hexdigest().encode() + b'",' + body


@pytest.mark.parametrize(
    "damage",
    ["empty", "one byte", "a seal only", "half", "all but the last 2 bytes", "a byte more", "not JSON", "NULs",
     "sealed, not UTF-8", "sealed, nested 100,000 deep", "sealed, a tag that does not decode", "sealed, no memo",
     "sealed, no states", "sealed, a list"],
)  # fmt: skip
def test_a_damaged_cache_is_rebuilt(damage: str, cache: pathlib.Path) -> None:
    raw = written(cache)
    stored = json.loads(raw)
    del stored["sha256"]

    def resealed() -> bytes:
        return sealed(json.dumps(stored, separators=(",", ":")).encode()[1:])

    if damage == "sealed, no memo":
        stored["memo"] = {}
    elif damage == "sealed, no states":
        stored["data"]["parser"]["parser"]["states"] = {}
    damaged = {
        "empty": b"",
        "one byte": raw[:1],
        "a seal only": raw[:77],
        "half": raw[: len(raw) // 2],
        "all but the last 2 bytes": raw[:-2],
        "a byte more": raw + b" ",
        "not JSON": b"{not json",
        "NULs": b"\0" * 5000,
        "sealed, not UTF-8": sealed(b'"key":"\xff\xfe"}'),
        "sealed, nested 100,000 deep": sealed(b'"key":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "sealed, a tag that does not decode": sealed(b'"key":{"__int_keys__":[[1]]}}'),
        "sealed, no memo": resealed(),
        "sealed, no states": resealed(),
        "sealed, a list": sealed(b'"x":1}')[:-1].replace(b"{", b"[", 1) + b"]",
    }[damage]
    cache.write_bytes(damaged)
    rebuilt(cache)


ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def huge(path: pathlib.Path) -> pathlib.Path:
    with open(path, "wb") as f:
        f.truncate(8 * 1024**3)  # sparse: 8 GiB that take no disk, and must not be read
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "thing", ["a FIFO", "a symlink to /dev/zero", "a symlink to a huge file", "a huge file", "a file one byte too big",
              "a directory", "a symlink to good tables", "a dangling symlink"],
)  # fmt: skip
def test_only_a_bounded_regular_file_is_read_from_the_cache(thing: str, cache: pathlib.Path, tmp_path: pathlib.Path) -> None:
    good = written(cache)
    cache.unlink()
    if thing == "a FIFO":
        os.mkfifo(cache)  # opening it to read would wait for a writer for ever
    elif thing == "a symlink to /dev/zero":
        cache.symlink_to("/dev/zero")  # read to the end, it never ends
    elif thing == "a symlink to a huge file":
        cache.symlink_to(huge(tmp_path / "huge"))
    elif thing == "a huge file":
        huge(cache)
    elif thing == "a file one byte too big":
        cache.write_bytes(good + b" " * (parser_tables.MAX_TABLE_BYTES + 1 - len(good)))
    elif thing == "a directory":
        cache.mkdir()
    elif thing == "a symlink to good tables":
        (tmp_path / "elsewhere.json").write_bytes(good)
        cache.symlink_to(tmp_path / "elsewhere.json")  # the cache directory is no place for links
    else:
        cache.symlink_to(tmp_path / "nothing")
    rebuilt(cache)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("thing", ["a FIFO", "/dev/zero", "a huge file", "a directory", "missing"])
def test_only_a_bounded_regular_file_is_read_as_the_shipped_tables(
    thing: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shipped = tmp_path / parser_tables.TABLES_FILE
    if thing == "a FIFO":
        os.mkfifo(shipped)
    elif thing == "/dev/zero":
        shipped.symlink_to("/dev/zero")  # a symlink is followed here (installs may link files), a device is not read
    elif thing == "a huge file":
        huge(shipped)
    elif thing == "a directory":
        shipped.mkdir()
    monkeypatch.setattr(parser_tables, "SHIPPED", str(shipped))
    rebuilt()


def test_an_unreadable_cache_is_rebuilt(cache: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written(cache)
    real_open = os.open

    def refuse(path: str, *args: object, **kwargs: object) -> int:
        if os.fspath(path) == str(cache):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    rebuilt()


@pytest.mark.skipif(ROOT, reason="root reads and writes whatever the modes say")
def test_unreadable_and_read_only_for_real(cache: pathlib.Path) -> None:
    written(cache)
    cache.chmod(0)
    rebuilt()
    cache.chmod(0o600)
    cache.unlink()
    cache.parent.chmod(0o500)
    try:
        rebuilt()
        assert not cache.exists()
    finally:
        cache.parent.chmod(0o700)


@pytest.mark.parametrize("how", ["a file where the directory goes", "the rename fails", "the write fails"])
def test_a_cache_that_cannot_be_written_costs_only_time(how: str, cache: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "a file where the directory goes":
        cache.parent.parent.mkdir(parents=True)
        cache.parent.write_text("not a directory")
    else:
        cache.parent.mkdir(parents=True)
        real = os.replace if how == "the rename fails" else os.fdopen

        def fail(*args: object, **kwargs: object) -> object:
            if how == "the write fails" and not str(args[1]).startswith("w"):
                return real(*args, **kwargs)  # type: ignore[operator]
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(os, "replace" if how == "the rename fails" else "fdopen", fail)
    rebuilt()
    rebuilt()  # and again: nothing half-written is left to trip on
    if cache.parent.is_dir():
        assert os.listdir(cache.parent) == [], "a temporary file was left behind"


@pytest.mark.parametrize("xdg", ["relative/cache", ".", ""])
def test_a_relative_xdg_cache_home_is_ignored(xdg: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(lark, "__version__", "0.0.0+tables-test")
    monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert parser_tables.cache_file() == str(
        tmp_path / "home" / ".cache" / "autodiff-cli" / "grammar_tables-lark-0.0.0+tables-test.json"
    )
    rebuilt()
    assert list(work.iterdir()) == []  # nothing written where the process happens to run
    assert loaded(parser_tables.load_parser(**RUNTIME))  # the home cache serves the next start


def test_no_absolute_home_means_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(lark, "__version__", "0.0.0+tables-test")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "relative-home")
    monkeypatch.chdir(tmp_path)
    assert parser_tables.cache_file() is None
    rebuilt()
    assert list(tmp_path.iterdir()) == []


WRITER = """
import sys
import lark
lark.__version__ = "0.0.0+tables-test"
from autodiff_cli import parser_tables
grammar = parser_tables.read_grammar()
built = parser_tables.build_parser(grammar)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[1])):
    parser_tables._write_cache(built, grammar)
"""


@pytest.mark.timeout(120)
def test_two_processes_writing_at_once_leave_whole_tables(cache: pathlib.Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, "40"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in writers:  # both start writing at the same moment
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        grammar = parser_tables.read_grammar()
        reads = 0
        while any(w.poll() is None for w in writers) or reads == 0:
            raw = parser_tables._read_bounded(str(cache), follow=False)
            if raw is not None:  # before the first rename there is nothing; after it, always a whole file
                assert parser_tables.read_tables(raw, grammar) is not None, "a reader saw a partial file"
                reads += 1
    finally:
        for w in writers:
            w.wait(timeout=60)
    assert [w.returncode for w in writers] == [0, 0]
    assert os.listdir(cache.parent) == [cache.name], "a temporary file was left behind"
    built = parser_tables.load_parser(**RUNTIME)
    assert loaded(built) and answers(built) == EXPECTED


@pytest.mark.timeout(120)
def test_the_reported_cache_no_longer_changes_an_answer(cache: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # The finding end to end: CI's oldest-lark step, a cache whose ignore pattern swallows '-'.
    text = written(cache).decode("utf-8")
    old, new = EDITS["a '-' ignored like a blank"]
    cache.write_text(text.replace(old, new, 1), encoding="utf-8")
    code = (
        "import sys, lark; lark.__version__ = '0.0.0+tables-test'\n"
        "from autodiff_cli.cli import main\n"
        "main(['eval', sys.argv[1], 'a=2', 'b=3', '--json'], prog_name='autodiff')"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for source, python in PROGRAMS[:4]:
        out = subprocess.run([sys.executable, "-c", code, source], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["value"] == python(A, B), source
