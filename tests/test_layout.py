"""The package's layout is its data flow: each folder a stage, imports only down the flow.

Layers, lowest first, are ``coop_utils.LAYERS`` (docs/CONTRIBUTING.md draws the map; a
test below keeps its table and tree in the same order). A module may import its own layer and the layers below it, never one above; no set of modules imports
itself round a circle; and no module grows past a screenful or two (:data:`MAX_LINES`)
without a stated reason. Imports are read with ``ast`` wherever they are written, inside
functions too: a lazy import is still a dependency. No module imports the package root (its
names would hide any import). Inside one layer only circles are checked, not the order the
map draws (``analysis/``: load, metrics, stats, ... plots). What these checks cannot see is a
module named in a string: the local server's *responders* (``module:function``), which a
higher layer hands down when it starts the server, are the one sanctioned case.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

import coop_utils

PACKAGE = Path(__file__).resolve().parent.parent / "coop_utils"

LAYERS: tuple[tuple[str, ...], ...] = tuple(names for names, _ in coop_utils.LAYERS)
"""Top-level modules and folders of ``coop_utils``, one tuple per layer, lowest first."""

MAX_LINES = 400
LONG_MODULES: dict[str, str] = {}
"""Modules allowed past :data:`MAX_LINES`, each with its reason (none today)."""


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str, root: Path) -> bool:
    rel = Path(*module.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def parsed(root: Path = PACKAGE) -> list[tuple[Path, ast.Module]]:
    """Every module of ``root`` with its syntax tree."""
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(root.rglob("*.py"))]


def imports(root: Path = PACKAGE) -> nx.DiGraph:
    """Module -> module edges for every import of the package by the package, written
    anywhere in a module (top level, functions, ``if`` blocks)."""
    name = root.name
    graph = nx.DiGraph()
    for path, tree in parsed(root):
        here = _module_name(path, root)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        graph.add_node(here)
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base_name = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_name = node.module or ""
                for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                    sub = f"{base_name}.{alias.name}"
                    targets.append(sub if _exists(sub, root) else base_name)
            for target in targets:
                if target == name or target.startswith(name + "."):
                    graph.add_edge(here, target)
    return graph


def layer(module: str) -> int | None:
    """The layer of a module (None for the package's own ``__init__``, which imports
    nothing: it finds names on first use)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    for k, members in enumerate(LAYERS):
        if parts[1] in members:
            return k
    raise AssertionError(f"{module} is in no layer: add its folder to coop_utils.LAYERS")


def upward(graph: nx.DiGraph) -> list[str]:
    """Every import of a higher layer, as 'importer -> imported'."""
    return [
        f"{a} -> {b}"
        for a, b in graph.edges
        if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)
    ]


def circles(graph: nx.DiGraph) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1] + [
        [a] for a, b in nx.selfloop_edges(graph)
    ]


@pytest.fixture(scope="module")
def trees() -> list[tuple[Path, ast.Module]]:
    """The package's modules, parsed once for the checks that read them."""
    return parsed()


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    """The package's imports, read once for the checks below (which only read it)."""
    return imports()


def test_every_module_is_in_a_layer(graph):
    for module in graph:
        layer(module)


def test_every_import_runs_down_the_flow(graph):
    assert not upward(graph), "see docs/CONTRIBUTING.md for which folder may import which"


def test_no_module_imports_itself_round_a_circle(graph):
    assert not circles(graph)


def test_the_package_root_imports_nothing_at_import_time(graph):
    assert not list(graph.successors("coop_utils")), "names are found on first use"


def test_no_module_reaches_round_the_layers_through_the_package_root(graph):
    """``import coop_utils as cu`` or ``from coop_utils import stats`` inside the package would
    hide any import, upward included, behind the names the root finds on first use."""
    assert not list(graph.predecessors("coop_utils")), "import the module itself"


def test_no_module_is_longer_than_a_screenful_or_two_without_a_reason():
    long = {
        _module_name(p, PACKAGE): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(long) <= set(LONG_MODULES), f"split by responsibility: {long}"


def test_the_checks_catch_an_upward_import_and_a_circle(tmp_path):
    """The checks themselves, on a package made to break them."""
    pkg = tmp_path / "coop_utils"
    for folder in ("game", "analysis"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "paths.py").write_text("")
    (pkg / "game" / "env.py").write_text(
        "from . import world\n\ndef f():\n    from ..analysis import metrics\n"
    )
    (pkg / "game" / "world.py").write_text("from .env import f\nfrom ..paths import x\n")
    (pkg / "analysis" / "metrics.py").write_text("from coop_utils.paths import x\n")
    graph = imports(pkg)
    assert upward(graph) == ["coop_utils.game.env -> coop_utils.analysis.metrics"]
    assert circles(graph) == [["coop_utils.game.env", "coop_utils.game.world"]]
    (pkg / "game" / "rules.py").write_text("def g():\n    from coop_utils import stats\n")
    assert list(imports(pkg).predecessors("coop_utils")) == ["coop_utils.game.rules"]
    (pkg / "mystery.py").write_text("")
    with pytest.raises(AssertionError, match="in no layer"):
        [layer(module) for module in imports(pkg)]


def test_every_public_name_resolves_and_importing_installs_no_hook():
    """``cu.NAME`` and the stage paths are the API: each name in ``__all__`` resolves, and
    importing the package changes nothing in how Python finds modules."""
    import subprocess
    import sys

    code = (
        "import sys; hooks = list(sys.meta_path); import coop_utils as cu; "
        "assert sys.meta_path == hooks, sys.meta_path; "
        "missing = [n for n in cu.__all__ if getattr(cu, n, None) is None]; "
        "assert not missing, missing; "
        "import importlib.util as u; "
        "assert u.find_spec('coop_utils.stats') is None, 'a former path still resolves'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_every_documented_python_m_entry_point_answers_help():
    """Each module the docs, the README or a message tells to run with ``python -m`` runs, and
    ``--help`` says how to use it. The reaper is started by the package itself, with its
    arguments, never by a user."""
    import subprocess
    import sys

    root = PACKAGE.parent
    listed = subprocess.run(
        ["git", "grep", "-hoE", r"python -m coop_utils(\.[a-z_]+)*", ":!tests/test_layout.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    modules = {line.removeprefix("python -m ") for line in listed if line}
    assert "coop_utils.analysis.prose" in modules, "the grep found nothing: check its pattern"
    for module in sorted(modules - {"coop_utils.run.reaper"}):
        done = subprocess.run(
            [sys.executable, "-m", module, "--help"], cwd=root, capture_output=True, text=True
        )
        assert done.returncode == 0 and "usage:" in done.stdout, f"python -m {module} --help"


def test_no_private_name_is_imported_from_another_module(trees):
    """A name another module needs is public; an underscore name stays in its own module."""
    found = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (
                node.level or "coop_utils" in (node.module or "")
            ):
                hidden = [
                    a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"
                ]
                found += [f"{path.relative_to(PACKAGE)}: {name}" for name in hidden]
    assert not found, "make these public where they are defined: " + ", ".join(found)


def test_nothing_in_the_package_imports_from_the_tests(trees):
    """Test scaffolding (the conformance scenarios, fixtures) lives in tests/; an installed
    package has no tests/ to import, so no module may reach for one of its modules."""
    tests = Path(__file__).resolve().parent
    theirs = {"tests"} | {p.stem for p in tests.glob("*.py")}
    theirs |= {p.parent.name for p in tests.glob("*/__init__.py")}
    found = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            found += [
                f"{path.relative_to(PACKAGE)}: {n}" for n in names if n.split(".")[0] in theirs
            ]
    assert "conformance" in theirs and not found, (
        "move what these need into the package: " + ", ".join(found)
    )


def _stages(text: str) -> tuple[str, ...]:
    """Backquoted or bare stage names (``game/``, ``paths.py``) in a piece of the docs."""
    return tuple(re.sub(r"(/|\.py)$", "", w) for w in re.findall(r"[a-z]+(?:/|\.py)", text))


def test_the_contributing_map_lists_the_layers_in_their_order():
    """docs/CONTRIBUTING.md draws the layers twice (a tree of folders and a table of what
    each may import); both follow ``coop_utils.LAYERS``, lowest first."""
    guide = (PACKAGE.parent / "docs" / "CONTRIBUTING.md").read_text()
    table = guide.split("| layer (lowest first) | may import |")[1].split("\n\n")[0]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]
    assert [tuple(re.findall(r"`([a-z]+)/?`", row)) for row in rows] == list(LAYERS)
    tree = guide.split("```text\ncoop_utils/\n")[1].split("```")[0]
    top = [_stages(line.split("  ")[1]) for line in tree.splitlines() if re.match(r"  \S", line)]
    assert top == list(LAYERS), "the tree's top-level entries, in the order of LAYERS"
