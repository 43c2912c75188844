"""coop_utils: the zero-cost collaboration environment, agents, runner and analysis.

The folders are the stages data flows through, each importing only those before it:
:data:`LAYERS` lists them, lowest first, with what each holds.

The public surface, in the order data flows: configure (``EnvConfig``), play
(``run_episode``, ``run_grid``, ``run_experiment``), load (``load_runs`` ...), measure
(``run_metrics``, ``cell_summary`` ...), compare with the paper (``side_by_side``) and plot
(``analysis.plots``). ``cu.NAME`` is imported on first use, so ``import coop_utils`` stays
cheap and the command line does not pay for pandas or matplotlib; everything else is
imported by its stage path (``from coop_utils.analysis import tables``).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "game.config": (
        "EnvConfig",
        "Condition",
        "CONDITIONS",
        "INTERVENTIONS",
        "PERFECT_PLAY_TASKS",
        "PAPER_MODELS",
    ),
    "game.env": ("Environment",),
    "agents": ("PerfectAgent", "BehaviourAgent", "scripted_agent", "BehaviourKnobs", "PRESETS"),
    "game.prompts": ("render_messages", "parse_observation"),
    "run.runner": ("run_episode", "run_episode_async", "write_run"),
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

LAYERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("paths", "inputs"),
        "used by every stage: repository files and atomic writes; users' files read with "
        "one-line errors",
    ),
    (
        ("game",),
        "the paper's game: configuration, world, environment and rules, observations, "
        "prompts, actions, the event log",
    ),
    (("agents",), "the agent interface and the scripted policies (perfect play, behaviours)"),
    (
        ("llm",),
        "chat models as agents (profiles, client, cache, budget); local/, the scripted "
        "OpenAI-compatible server that stands in for a model offline",
    ),
    (("analysis",), "run folders read into frames, metrics, statistics, thoughts, tables, plots"),
    (("run",), "episodes, grids, the paper's experiments, coop reproduce, evaluate/ and view/"),
    (("cli",), "the coop command; at start-up only the standard library"),
)
"""The package's layers, lowest first: the stages in each and what they hold. A module
imports its own layer and those below it, never one above (``tests/test_layout.py``;
``docs/CONTRIBUTING.md`` draws the map, and a test keeps it in this order)."""
STAGES = tuple(name for names, _ in LAYERS for name in names)

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in STAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'coop_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *STAGES})
