"""The package as a user installs it: typed API, lazy parser, cached tables, docs that match the program."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib
from types import ModuleType

import lark
import pytest
from click.testing import CliRunner

import autodiff_cli
from autodiff_cli import Value, parser, parser_tables
from autodiff_cli.cli import main
from autodiff_cli.engine import DUNDERS
from autodiff_cli.ops import FUNCTIONS

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- typing ---------------------------------------------------------------------------


def test_value_declarations_match_the_ops_table() -> None:
    # A row added to ops.OPS without rerunning the generator leaves its method invisible to type checkers.
    tool = _tool("gen_value_api")
    assert tool.main(["--check"]) == 0, "run python tools/gen_value_api.py"
    block = tool.declarations()
    for name in FUNCTIONS:
        assert f"def {name}(self" in block
    for dunder in DUNDERS.values():
        assert f"def __{dunder}__(self, other: Value | float) -> Value:" in block
        assert f"def __r{dunder}__(self, other: float) -> Value:" in block


def test_every_declared_method_exists_and_computes() -> None:
    # The declarations promise these at run time; math is the independent reference.
    for name, op in FUNCTIONS.items():
        at = 1.5 if name == "acosh" else 0.5  # inside every domain
        method = getattr(Value, name)
        assert callable(method), name
        got = method(Value(at)) if op.arity == 1 else method(Value(at), 0.25)
        reference = getattr(math, name, None)
        if reference is not None:
            expected = reference(at) if op.arity == 1 else reference(at, 0.25)
            assert got.data == pytest.approx(expected, rel=1e-15), name
    x = Value(0.5)
    assert (2 - x).data == 1.5 and (2 / x).data == 4.0 and (2**x).data == pytest.approx(math.sqrt(2))


USER_CODE = """
from autodiff_cli import Value, evaluate
a = Value(2) + 3
b = 2 * a
c = a**2 - 1 / a
d = a.tanh().max(b)
e = -d
reveal_type(a)
reveal_type(e)
reveal_type(evaluate("x*y", {"x": 1.0, "y": 2.0}).gradients)
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_type_checker_sees_value_arithmetic(tmp_path: pathlib.Path) -> None:
    # What a user's editor sees: without the declarations mypy rejects `2 * a` and `a**2`, and tanh is unknown.
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install '.[dev]')")
    user = tmp_path / "user.py"
    user.write_text(USER_CODE, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(user)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    lines = out.stdout.splitlines()
    assert [line for line in lines if "error:" in line] == []
    revealed = [line.split("Revealed type is ")[1].replace("builtins.", "") for line in lines if "Revealed type is" in line]
    assert revealed == ['"autodiff_cli.engine.Value"', '"autodiff_cli.engine.Value"', '"dict[str, float]"']


def test_the_package_is_marked_typed() -> None:
    assert (ROOT / "autodiff_cli" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["autodiff_cli"]


# --- start-up ---------------------------------------------------------------------------


def test_importing_the_package_does_not_load_lark() -> None:
    # lark costs ~30 ms of import: only describing a syntax error needs it (valid programs run the shipped plan).
    code = (
        "import sys, autodiff_cli\n"
        "x = autodiff_cli.Value(2) * 3; x.backward()\n"
        "assert 'lark' not in sys.modules, 'lark imported with the package'\n"
        "r = autodiff_cli.evaluate('a*b', {'a': 2, 'b': 3})\n"
        "assert 'lark' not in sys.modules, 'a valid program parsed with lark: the shipped driver plan was not used'\n"
        "try:\n"
        "    autodiff_cli.evaluate('a * * b', {})\n"
        "except autodiff_cli.AutodiffError as err:\n"
        "    assert err.message == \"unexpected '*'\" and (err.line, err.column) == (1, 5), (str(err), err.column)\n"
        "assert 'lark' in sys.modules  # errors are described by lark's own loop\n"
        "print(r.value, r.gradients['a'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["6.0", "3.0"]


# --- the lark tables ----------------------------------------------------------------------


def test_tables_for_another_lark_are_built_once_then_cached_as_json(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under a lark the shipped tables were not built by, the first start builds them and keeps them.
    monkeypatch.setattr(lark, "__version__", "0.0.0+other")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runtime = {"transformer": parser._CALLBACKS, "postlex": parser._POSTLEX}
    first = parser_tables.load_parser(**runtime)
    assert first.source_path != "<deserialized>"  # built from the grammar
    cached = tmp_path / "autodiff-cli" / "grammar_tables-lark-0.0.0+other.json"
    stored = json.loads(cached.read_text(encoding="utf-8"))  # JSON: nothing in it can run
    assert stored["lark"] == "0.0.0+other" and stored["grammar"] == parser_tables.read_grammar()
    second = parser_tables.load_parser(**runtime)
    assert second.source_path == "<deserialized>"  # read back from the cache
    with parser._LOCK:
        for source in ("a*b + c", "x = 2; y = x^3; -y/x", "max(a, b) * tanh(c)"):
            parser._BUILDER.reset(source)
            one = first.parse(source)
            parser._BUILDER.reset(source)
            two = second.parse(source)
            assert [v._op for v in one.nodes] == [v._op for v in two.nodes]
            assert [c.data for c in one.constants] == [c.data for c in two.constants]
        parser._BUILDER.reset("")


def test_a_corrupt_cache_is_ignored_and_rewritten(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lark, "__version__", "0.0.0+corrupt")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = pathlib.Path(parser_tables.cache_file())
    cached.parent.mkdir(parents=True)
    cached.write_text('{"grammar": "not ours"', encoding="utf-8")
    built = parser_tables.load_parser(transformer=parser._CALLBACKS, postlex=parser._POSTLEX)
    assert built.source_path != "<deserialized>"
    assert json.loads(cached.read_text(encoding="utf-8"))["lark"] == "0.0.0+corrupt"


# --- metadata -------------------------------------------------------------------------------


def test_the_version_has_one_source() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in config["project"] and "version" in config["project"]["dynamic"]
    assert importlib.metadata.version("autodiff-cli") == autodiff_cli.__version__
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith(f"autodiff, version {autodiff_cli.__version__} (")


def test_the_test_extra_installs_everywhere_and_atheris_only_where_it_has_wheels() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = config["project"]["optional-dependencies"]
    assert not any(r.startswith(("atheris", "ruff", "mypy")) for r in extras["test"])
    (fuzz,) = extras["fuzz"]
    assert fuzz.startswith("atheris") and "platform_machine == 'x86_64'" in fuzz and "sys_platform == 'linux'" in fuzz


# --- documentation ------------------------------------------------------------------------


def test_the_cli_reference_is_generated_from_the_commands() -> None:
    assert _tool("gen_cli_docs").main(["--check"]) == 0, "run python tools/gen_cli_docs.py"


def test_help_lists_every_command_with_its_whole_summary() -> None:
    # click cuts summaries to fit one line ("...as programs in the same..."): none may end cut.
    output = CliRunner().invoke(main, ["--help"], terminal_width=60).output
    listing = " ".join(output.split("Commands:")[1].split())
    assert "..." not in listing
    for name, command in main.commands.items():  # type: ignore[attr-defined]
        if not command.hidden:
            first = " ".join((command.help or "").split("\n\n")[0].split())
            sentence = first.split(". ")[0].rstrip(".") + "."
            assert f"{name} {sentence}" in listing


def test_every_flag_is_in_the_docs() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in [main, *main.commands.values()]:  # type: ignore[attr-defined]
        for param in command.params:
            for spelling in getattr(param, "opts", []):
                if param.param_type_name == "option" and not getattr(param, "hidden", False):
                    assert f"`{spelling}`" in text, spelling


def test_the_readme_and_docs_do_not_point_to_missing_files() -> None:
    # The old README pointed three times to a LANGUAGE.md that was not in the repository.
    import re

    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


@pytest.mark.skipif(shutil.which("autodiff") is None, reason="the autodiff command is not on PATH")
def test_shell_completion_works_as_documented() -> None:
    env = {**os.environ, "_AUTODIFF_COMPLETE": "bash_source"}
    out = subprocess.run(["autodiff"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "_autodiff_completion" in out.stdout
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "_AUTODIFF_COMPLETE=bash_source autodiff" in docs


def test_the_build_ships_every_subpackage() -> None:
    # The cli/ package once missed the wheel (an explicit package list): discovery must find every one.
    import tomllib

    import setuptools

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = setuptools.find_packages(str(ROOT), **config["packages"]["find"])
    on_disk = {str(p.parent.relative_to(ROOT)).replace("/", ".") for p in (ROOT / "autodiff_cli").rglob("__init__.py")}
    assert set(found) == on_disk and {"autodiff_cli.cli", "autodiff_cli.render"} <= on_disk
