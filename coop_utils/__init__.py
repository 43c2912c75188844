"""coop_utils: the zero-cost collaboration environment, agents, runner and analysis.

The folders are the stages data flows through, each importing only those before it:

- ``game/``: the configuration, the world, the environment and its event log;
- ``agents/``: the agent interface and the scripted policies (perfect play, behaviours);
- ``llm/``: chat models as agents (profiles, client, cache, budget) and ``local/``, the
  scripted OpenAI-compatible server that stands in for a model offline;
- ``analysis/``: run folders read into frames, metrics, statistics, thoughts, tables, plots;
- ``run/``: episodes, grids, the paper's experiments, ``coop reproduce`` and ``evaluate/``;
- ``cli``: the ``coop`` command on top. ``paths`` and ``inputs`` serve every stage.

The public surface, in the order data flows: configure (``EnvConfig``), play
(``run_episode``, ``run_grid``, ``run_experiment``), load (``load_runs`` ...), measure
(``run_metrics``, ``cell_summary`` ...), compare with the paper (``side_by_side``) and plot
(``plots``). Names are imported on first use, so ``import coop_utils`` stays cheap and the
command line does not pay for pandas or matplotlib. The modules users import by their
short names (``from coop_utils import tables, plots, stats, experiments, thoughts``) are
found in their folders the same way (:data:`MODULES`), and so is every dotted path from
before the layout (``from coop_utils.stats import t_interval``: :data:`FORMER_PATHS`).
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

_EXPORTS = {
    "game.config": ("EnvConfig", "CONDITIONS", "PERFECT_PLAY_TASKS", "PAPER_MODELS"),
    "game.env": ("Environment",),
    "agents": ("PerfectAgent", "BehaviourAgent", "scripted_agent", "BehaviourKnobs", "PRESETS"),
    "game.prompts": ("render_messages", "parse_observation"),
    "run.runner": ("run_episode", "run_episode_sync", "write_run"),
    "run.plan": ("GridSpec", "load_grid"),
    "run.grid": ("run_grid", "run_grid_async"),
    "run.experiments": ("run_experiment", "SCRIPTED_POPULATIONS"),
    "llm.agent": ("LLMAgent",),
    "llm.client": ("ClientPool", "FatalLLMError"),
    "llm.models": ("resolve",),
    "llm.local": ("LocalServer",),
    "analysis.load": (
        "load_runs",
        "load_agents",
        "load_turns",
        "load_messages",
        "load_thoughts",
        "load_transfers",
        "load_per_round",
    ),
    "analysis.metrics": ("run_metrics", "cooperation_competence"),
    "analysis.stats": (
        "cell_summary",
        "paired_difference",
        "pct_change",
        "count_model",
        "cell_rates",
        "rate_ratios",
        "holm_family",
        "capability_correlation",
        "runs_needed",
        "paper_plan",
    ),
    "analysis.thoughts": ("classify", "thought_table", "run_level_table", "llm_judge", "agreement"),
    "analysis.paper": ("load_paper", "side_by_side"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

MODULES = {
    "config": "game.config",
    "world": "game.world",
    "observation": "game.observation",
    "actions": "game.actions",
    "env": "game.env",
    "prompts": "game.prompts",
    "events": "game.events",
    "scripted": "agents",
    "runner": "run.runner",
    "grid": "run.grid",
    "experiments": "run.experiments",
    "reproduce": "run.reproduce",
    "dryrun": "run.dryrun",
    "folders": "run.folders",
    "reaper": "run.reaper",
    "evaluate": "run.evaluate",
    "load": "analysis.load",
    "metrics": "analysis.metrics",
    "stats": "analysis.stats",
    "thoughts": "analysis.thoughts",
    "tables": "analysis.tables",
    "plots": "analysis.plots",
    "paper": "analysis.paper",
    "validity": "analysis.validity",
    "transcript": "analysis.transcript",
    "prose": "analysis.prose",
}
"""The modules by the short names they had before the package was laid out in stages:
``from coop_utils import stats`` is ``coop_utils.analysis.stats``."""

FORMER_PATHS = {**MODULES, "llm.server": "llm.local"}
"""Every dotted path that moved when the package was laid out, and where it lives now:
``from coop_utils.stats import t_interval`` and ``import coop_utils.evaluate.report`` still
work (:class:`_FormerPaths`)."""

STAGES = ("game", "agents", "llm", "analysis", "run", "cli", "paths", "inputs")

__all__ = sorted(_WHERE) + ["plots"]


def __getattr__(name: str) -> Any:
    if name in MODULES:
        return importlib.import_module(f".{MODULES[name]}", __name__)
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in STAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'coop_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *MODULES, *STAGES})


class _FormerPaths:
    """Finds a module imported by its path from before the layout (``coop_utils.stats``,
    ``coop_utils.llm.server``, ``coop_utils.evaluate.report``) and hands back the module
    itself, so users' code and notebooks written then keep working with one module object,
    not a second copy. First on ``sys.meta_path``: a submodule of a moved package would
    otherwise be found a second time through the package's folder."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        return ModuleSpec(fullname, self) if _now_at(fullname) else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module(_now_at(spec.name))

    def exec_module(self, module: ModuleType) -> None:
        """The module was run where it lives now."""


def _now_at(fullname: str) -> str:
    """Where a former path of this package lives now; "" for anything else (another
    package's ``stats`` or a user's ``config.py`` is never ours)."""
    package, dot, rest = fullname.partition(".")
    if package != __name__ or not dot:
        return ""
    for old, new in FORMER_PATHS.items():
        if rest == old or rest.startswith(f"{old}."):
            return f"{__name__}.{new}{rest[len(old) :]}"
    return ""


if not any(isinstance(f, _FormerPaths) for f in sys.meta_path):
    sys.meta_path.insert(0, _FormerPaths())
