"""coop_utils: the zero-cost collaboration environment, agents, runner and analysis.

The public surface, in the order data flows: configure (``EnvConfig``), play
(``run_episode``, ``run_grid``, ``run_experiment``), load (``load_runs`` ...), measure
(``run_metrics``, ``cell_summary`` ...), compare with the paper (``side_by_side``) and plot
(``plots``). Names are imported on first use, so ``import coop_utils`` stays cheap and the
command line does not pay for pandas or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "config": ("EnvConfig", "CONDITIONS", "PERFECT_PLAY_TASKS", "PAPER_MODELS"),
    "env": ("Environment",),
    "agents": ("PerfectAgent", "BehaviourAgent", "scripted_agent"),
    "scripted": ("BehaviourKnobs", "PRESETS"),
    "prompts": ("render_messages", "parse_observation"),
    "runner": ("run_episode", "run_episode_sync", "write_run"),
    "grid": ("GridSpec", "run_grid", "run_grid_async", "load_grid"),
    "experiments": ("run_experiment", "SCRIPTED_POPULATIONS"),
    "llm.agent": ("LLMAgent",),
    "llm.client": ("ClientPool", "FatalLLMError"),
    "llm.models": ("resolve",),
    "llm.server": ("LocalServer",),
    "load": (
        "load_runs",
        "load_agents",
        "load_turns",
        "load_messages",
        "load_thoughts",
        "load_transfers",
        "load_per_round",
    ),
    "metrics": ("run_metrics", "cooperation_competence"),
    "stats": (
        "cell_summary",
        "paired_difference",
        "pct_change",
        "count_model",
        "cell_rates",
        "rate_ratios",
        "holm_family",
        "capability_correlation",
        "runs_needed",
    ),
    "thoughts": ("classify", "thought_table", "run_level_table", "llm_judge", "agreement"),
    "paper": ("load_paper", "side_by_side"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE) + ["plots"]


def __getattr__(name: str) -> Any:
    if name == "plots":
        return importlib.import_module(".plots", __name__)
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'coop_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
