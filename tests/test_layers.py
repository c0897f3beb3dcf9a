"""Imports run one way: every module sits in one layer and imports only its own or lower ones.

The table below is the module map as it stands; the import graph is read from
the source (the AST of every file, imports inside functions and under
TYPE_CHECKING included), never by importing it. A new module fails
``test_every_module_has_a_layer`` until it is declared here. Imports that go
the wrong way are failures: move the code, or the module's entry if the
table was wrong.
"""

from __future__ import annotations

import ast
import functools
import pathlib

import pytest

pytestmark = pytest.mark.timeout(60)

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "autodiff_cli"

ORDER = ("cli", "commands", "render", "features", "program", "parser", "engine", "ops", "shared")
"""The layers from the top. Everyone may import ``shared`` (errors and the text they quote)."""

LAYERS: dict[str, str] = {
    # the entry point
    "__main__": "cli",
    # the click commands and what prints for them
    "cli": "commands",
    **{f"cli.{name}": "commands" for name in ("commands", "encoding", "options", "output", "pager", "run", "streams")},
    # people only: pictures, tables, text
    **{f"render.{name}": "render" for name in ("batch_table", "blocks", "check", "dag", "derivatives", "display")},
    "render.explain": "render",
    **{f"render.{name}": "render" for name in ("export", "hessian", "layout", "plot", "plot_image")},
    **{f"render.{name}": "render" for name in ("geometry", "svg", "html_page")},  # the SVG and HTML painters
    **{f"render.{name}": "render" for name in ("pictures", "progress", "routing", "sweep_table", "vertical")},
    "render": "render",
    # what the commands compute, no text; the public API re-exports jobs, so it sits here
    "__init__": "features",
    "batch": "features",
    "job_lines": "features",
    "check": "features",
    "derivatives": "features",
    "algebra": "features",
    "distributed": "features",
    "distributed_connect": "features",  # reaching and checking a Dask cluster
    "distributed_files": "features",  # a shared batch file read by byte ranges on the Dask workers
    "explain": "features",
    "hessian": "features",
    "jobs": "features",
    "lines": "features",  # reading batch and sweep input
    "plot": "features",
    "records": "features",  # the machine contract: every JSON record; render, batch and sweep use it
    "records_csv": "features",
    "ridders": "features",  # check's finite differences
    "shapes": "features",  # plot's kinks and poles
    "shellwords": "features",  # batch's line splitting
    "sweep": "features",
    "ranges": "features",  # NAME=START:STOP:STEP, stepped exactly in decimal
    "sweep_rows": "features",  # reading a sweep's CSV rows
    "workers": "features",  # batch --jobs processes
    # compiled programs, run at bindings
    "program": "program",
    "columns": "program",  # a program run over columns of rows
    "graph_view": "program",  # a run graph as render draws it
    # text to graph
    "parser": "parser",
    "parser_tables": "parser",
    "lalr": "parser",  # the parse loop over lark's tables
    "lalr_plan": "parser",  # the driver's table as plain data, shipped so that valid programs need no lark
    "syntax_errors": "parser",  # lark's UnexpectedInput as one line a person can act on
    "graph": "parser",
    # nodes, and gradients over them
    "engine": "engine",
    "passes": "engine",  # computing nodes, walking graphs: forward, backward, the topological order
    "gradients": "engine",
    "value_api": "engine",
    # the language's vocabulary: operations, and the rule for names and numbers that Value obeys
    "ops": "ops",
    "ops_math": "ops",
    "bindings": "ops",
    "compiled": "ops",  # where the compiled core is, for lalr and engine
    # anyone may import these
    "errors": "shared",
    "numbers": "shared",  # every number a person sees
    "text": "shared",
}

MAY_IMPORT: dict[str, frozenset[str]] = {layer: frozenset(ORDER[i:]) for i, layer in enumerate(ORDER)}
# Render sees programs through program (Result, the compiled graph), never the engine's or parser's internals.
MAY_IMPORT["render"] -= {"parser", "engine", "ops"}


LATE: dict[str, frozenset[str]] = {"engine": frozenset({"render.svg"})}
"""Upward imports allowed inside a function only, each argued where it is made.

``Value._repr_svg_`` is a hook that Jupyter calls by name on the lowest
object people hold: the picture is render's, so the engine imports it late,
only when a notebook asks for it (engine.py says why no other way is better).
"""


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _package_of(module: str, path: pathlib.Path) -> list[str]:
    """The package a relative import in ``module`` starts from (``__init__`` is its own package)."""
    parts = [] if module == "__init__" else module.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _resolve(base: list[str], name: str) -> str:
    """The module that ``from <base> import name`` loads: the submodule if there is one, else the package."""
    dotted = ".".join([*base, name])
    if (PACKAGE.joinpath(*base, name + ".py")).exists() or (PACKAGE.joinpath(*base, name)).is_dir():
        return dotted
    return ".".join(base) or "__init__"


@functools.cache
def modules() -> dict[str, pathlib.Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def imports(module: str) -> frozenset[str]:
    """Every module of the package that ``module`` imports, anywhere in the file."""
    path = modules()[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = _package_of(module, path)
            base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            found.update(_resolve(base, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autodiff_cli"):
            base = node.module.split(".")[1:]  # type: ignore[union-attr]
            found.update(_resolve(base, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".")[1:] for alias in node.names if alias.name.split(".")[0] == "autodiff_cli"]
            found.update(".".join(parts) or "__init__" for parts in names)
    found.discard(module)
    return frozenset(found)


def allowed(module: str, imported: str) -> bool:
    return LAYERS[imported] in MAY_IMPORT[LAYERS[module]]


@functools.cache
def top_level_imports(module: str) -> frozenset[str]:
    """The modules of the package that ``module`` imports outside any function (what loading it loads)."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(f)}
    return frozenset(m for m in imports(module) if not _only_inside(tree, module, m, inside))


def _only_inside(tree: ast.Module, module: str, imported: str, inside: set[int]) -> bool:
    path = modules()[module]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level and id(node) not in inside:
            package = _package_of(module, path)
            base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            if imported in {_resolve(base, alias.name) for alias in node.names}:
                return False
    return True


def test_every_module_has_a_layer() -> None:
    # A new module must be placed before anyone can say which way its imports run.
    assert sorted(set(modules()) - set(LAYERS)) == []
    assert sorted(set(LAYERS) - set(modules())) == [], "a module in the table no longer exists"


def test_the_reader_sees_every_kind_of_import() -> None:
    # Checked against the source by hand: a top-level, a function-level and a TYPE_CHECKING import.
    assert "records" in imports("sweep")
    assert "render.progress" in imports("cli.streams")  # inside a function
    assert "jobs" in imports("__init__")  # under TYPE_CHECKING and in __getattr__
    assert "shellwords" in imports("job_lines")  # from . import shellwords


def test_the_rule_forbids_what_the_issue_forbids() -> None:
    # Issue 12: batch and sweep never import render; render never imports engine or parser internals.
    assert not allowed("batch", "render.batch_table") and not allowed("sweep", "render.display")
    assert not allowed("render.dag", "engine") and not allowed("render.dag", "parser")
    assert not allowed("engine", "program") and not allowed("ops", "engine")
    assert allowed("render.display", "program") and allowed("cli", "render.dag") and allowed("ops", "errors")


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_run_downward(module: str) -> None:
    if module not in modules():
        pytest.skip(f"{module} does not exist (test_every_module_has_a_layer says so)")
    upward = sorted(m for m in imports(module) if m in LAYERS and not allowed(module, m) and m not in LATE.get(module, ()))
    assert upward == [], f"{module} ({LAYERS[module]}) imports {upward}: move the code or the table entry"


@pytest.mark.parametrize("module", sorted(LATE))
def test_a_late_import_is_made_inside_a_function_only(module: str) -> None:
    # Declared in LATE, it must still be late: loading the module must not load the layer above.
    assert LATE[module] <= imports(module), f"{module} no longer imports {sorted(LATE[module])}: drop it from LATE"
    assert not LATE[module] & top_level_imports(module)


def test_the_design_map_names_every_module() -> None:
    # docs/design.md's module map is the newcomer's view of this table: it must not drift from the package.
    text = (PACKAGE.parent / "docs" / "design.md").read_text(encoding="utf-8")
    page = text[text.index("## The module map") : text.index("## Generated files")]

    def listed(module: str) -> bool:
        path = modules()[module]
        return module == "__init__" or (path.parent.name + "/" if path.name == "__init__.py" else path.name) in page

    assert [m for m in modules() if not listed(m)] == []
