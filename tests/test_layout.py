"""The package's layout is its data flow: each folder a stage, imports only down the flow.

Layers, lowest first (docs/CONTRIBUTING.md draws the map): ``paths``/``inputs`` (used by
every stage) < ``game`` < ``agents`` < ``llm`` < ``analysis`` < ``run`` < ``cli``. A module
may import its own layer and the layers below it, never one above; no set of modules imports
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
import importlib
import json
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "coop_utils"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("paths", "inputs"),
    ("game",),
    ("agents",),
    ("llm",),
    ("analysis",),
    ("run",),
    ("cli",),
)
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


def imports(root: Path = PACKAGE) -> nx.DiGraph:
    """Module -> module edges for every import of the package by the package, written
    anywhere in a module (top level, functions, ``if`` blocks)."""
    name = root.name
    graph = nx.DiGraph()
    for path in sorted(root.rglob("*.py")):
        here = _module_name(path, root)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        graph.add_node(here)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS (and the map)")


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


def test_every_module_is_in_a_layer():
    for module in imports():
        layer(module)


def test_every_import_runs_down_the_flow():
    assert not upward(imports()), "see docs/CONTRIBUTING.md for which folder may import which"


def test_no_module_imports_itself_round_a_circle():
    assert not circles(imports())


def test_the_package_root_imports_nothing_at_import_time():
    assert not list(imports().successors("coop_utils")), "names are found on first use"


def test_no_module_reaches_round_the_layers_through_the_package_root():
    """``import coop_utils as cu`` or ``from coop_utils import stats`` inside the package would
    hide any import, upward included, behind the names the root finds on first use."""
    assert not list(imports().predecessors("coop_utils")), "import the module itself"


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


FORMER_NAMES = (
    "BehaviourAgent BehaviourKnobs CONDITIONS ClientPool EnvConfig Environment FatalLLMError "
    "GridSpec LLMAgent LocalServer PAPER_MODELS PERFECT_PLAY_TASKS PRESETS PerfectAgent "
    "SCRIPTED_POPULATIONS agreement capability_correlation cell_rates cell_summary "
    "classify cooperation_competence count_model holm_family llm_judge load_agents load_grid "
    "load_messages load_paper load_per_round load_runs load_thoughts load_transfers load_turns "
    "paired_difference parse_observation pct_change rate_ratios render_messages resolve "
    "run_episode run_episode_sync run_experiment run_grid run_grid_async run_level_table "
    "run_metrics runs_needed scripted_agent side_by_side thought_table write_run plots"
).split()
"""What ``import coop_utils as cu`` offered before the package was laid out in stages."""


def test_former_names_and_module_names_still_resolve():
    import coop_utils as cu

    assert set(FORMER_NAMES) <= set(cu.__all__)
    for name in FORMER_NAMES:
        assert getattr(cu, name) is not None, name
    for short, module in cu.MODULES.items():
        assert getattr(cu, short).__name__ == f"coop_utils.{module}", short
    from coop_utils import experiments, metrics, paths, plots, stats, tables, thoughts

    assert stats.cell_summary and tables.table1 and plots.save and thoughts.classify
    assert experiments.run_experiment and metrics.run_metrics and paths.repo_file


FORMER_PUBLIC_NAMES = json.loads((Path(__file__).parent / "former_public_names.json").read_text())
"""The public names of every module before the package was laid out in stages (commit
4ab5652), by the module's former dotted path."""

NOT_KEPT = {
    "cli": "the command line's own help texts and command functions: its interface is `coop`",
    "llm.server": "the server's parts are modules of llm/local/ (routes, faults, replies) and the "
    "thought judge is analysis/thoughts/ (the server may not import the analysis); "
    "LocalServer and serve, what users start it with, are still here",
    "llm.conformance": "test scaffolding: each scenario is reached by name through SCENARIOS",
    "validity.validity_grid": "it builds a grid, so it moved up to run.experiments",
    "llm.models.is_model_spec": "dead code, removed: nothing called it (resolve raises "
    "UnknownModelError for a name that is not a model)",
    "world.Task": "an open task is the TaskView the agent is shown; its owner is the list it is in",
}
"""Former names that are not kept where they were, with the reason."""


def test_every_former_dotted_path_and_its_public_names_still_resolve():
    for module, names in FORMER_PUBLIC_NAMES.items():
        found = importlib.import_module(f"coop_utils.{module}")
        if module in NOT_KEPT:
            continue
        lost = [n for n in names if not hasattr(found, n) and f"{module}.{n}" not in NOT_KEPT]
        assert not lost, f"coop_utils.{module} lost {lost}: re-export them from {found.__name__}"
    from coop_utils.analysis.stats import cell_summary
    from coop_utils.evaluate.report import __name__ as report
    from coop_utils.llm.server import LocalServer, serve
    from coop_utils.stats import cell_summary as former

    assert former is cell_summary, "one module object, not a second copy"
    assert report == "coop_utils.run.evaluate.report" and LocalServer and serve


def test_former_paths_never_capture_another_packages_module(tmp_path, monkeypatch):
    """The finder is first on sys.meta_path: a user's ``config.py`` or a library called
    ``evaluate`` must still be theirs."""
    import sys

    import coop_utils  # noqa: F401  (installs the finder)

    for name in ("stats", "config", "evaluate"):
        (tmp_path / f"{name}.py").write_text(f"WHO = {name!r}\n")
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("stats", "config", "evaluate"):
        module = importlib.import_module(name)
        assert module.WHO == name and module.__file__ == str(tmp_path / f"{name}.py")
