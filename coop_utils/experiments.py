"""The paper's experiments as grids, and the three ways a notebook can run them.

Each function returns the :class:`GridSpec` of one experiment (SPEC §4–§6) for any list
of models, so a notebook says *what* it runs in the paper's words and this module says
*how*. :func:`run_experiment` maps a notebook's ``mode`` onto the grid runner:

- ``offline`` (the default): scripted populations, served over real HTTP by a local
  OpenAI-compatible server when their names start with ``local:``, else in process.
  No key, no network. Results describe the machinery, never a model's behaviour.
- ``replay``: the recorded grid under ``data/recorded/<name>`` is played again from its
  recorded replies, with no server and no key.
- ``live``: real models by alias (keys in the environment); replies are cached in the
  runs folder, so an interrupted grid resumes without paying twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .config import PAPER_MODELS  # noqa: F401  (re-exported: the paper's eight models)
from .grid import CACHE_FILE, GridResult, GridSpec, is_scripted_spec, plan, run_grid
from .llm.models import resolve

Mode = Literal["offline", "replay", "live"]
NOTEBOOK_MODES: tuple[str, ...] = Mode.__args__


SCRIPTED_POPULATIONS = (
    "local:cooperator",
    "local:withholder",
    "local:bungler",
    "local:rival",
    "5*local:reciprocator,5*local:withholder",
    "local:manipulator",
)
"""The offline default's stand-ins: scripted presets served over HTTP (see scripted.PRESETS)."""

DECOMPOSITION = ("baseline", "auto_request", "auto_fulfill")
INTERVENTIONS = ("baseline", "policy", "incentive", "limited")
ABLATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "rounds_10": {"rounds": 10},
    "rounds_30": {"rounds": 30},
    "agents_20": {"n_agents": 20},
    "neutral_company": {"prompt_variant": "neutral_company"},
    "neutral_items": {"prompt_variant": "neutral_items"},
    "joint_goal": {"prompt_variant": "joint_goal"},
    "reward_100": {"task_reward": 100},
    "reward_1k": {"task_reward": 1_000},
    "reward_100k": {"task_reward": 100_000},
}
"""Appendix ablations (SPEC §4): rounds, group size, prompt wording, reward scale."""


def _spec(name: str, models, conditions, runs: int, seed: int, **kw: Any) -> GridSpec:
    return GridSpec(
        name=name, models=list(models), conditions=list(conditions), runs=runs, seed=seed, **kw
    )


def perfect_play(runs: int = 20, seed: int = 0, **env: Any) -> GridSpec:
    """The 100% ceiling (SPEC §3), in process: it never calls a model."""
    return _spec("perfect_play", ["perfect"], ["baseline"], runs, seed, env=env)


def baseline(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Table 1 and Fig. 3: every model in the unaltered game."""
    return _spec("baseline", models, ["baseline"], runs, seed, env=env)


def decomposition(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Table 2 and Fig. 4: automate requests (cooperation) or replies (competence)."""
    return _spec("decomposition", models, DECOMPOSITION, runs, seed, env=env)


def interventions(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Tables 3 and 5, Fig. 5: explicit protocol, sender bonus, hidden peer revenues."""
    return _spec("interventions", models, INTERVENTIONS, runs, seed, env=env)


def ablations(
    models, runs: int = 3, seed: int = 0, settings: list[str] | None = None, **env: Any
) -> GridSpec:
    """Tables 9–10 and the appendix: each setting crossed with the baseline condition."""
    chosen = {k: ABLATIONS[k] for k in (settings or list(ABLATIONS))}
    return _spec("ablations", models, ["baseline"], runs, seed, env=env, settings=chosen)


def check_mode(spec: GridSpec, mode: str) -> None:
    """Offline means scripted only; anything else is a model and needs ``live``."""
    if mode not in NOTEBOOK_MODES:
        raise ValueError(f"mode must be one of {', '.join(NOTEBOOK_MODES)}, got {mode!r}")
    if mode == "offline":
        seats = {seat for run in plan(spec, None) for seat in run.seats}
        real = [
            s
            for s in seats
            if not is_scripted_spec(s) and not resolve(s, spec.models_file).scripted
        ]
        if real:
            raise ValueError(
                "mode 'offline' runs scripted agents only, but these are models: "
                f"{', '.join(sorted(real))}; use mode='live' (with their keys set) or 'replay'"
            )


@dataclass(frozen=True)
class Experiment:
    """A finished experiment: its grid, the grid's result and the folder of each of its runs."""

    spec: GridSpec
    result: GridResult
    root: Path
    folders: list[Path]
    mode: str

    @property
    def scripted(self) -> bool:
        return self.mode == "offline" or all(
            json.loads((f / "run.json").read_text()).get("scripted") for f in self.folders
        )


def run_experiment(
    spec: GridSpec,
    mode: Mode = "offline",
    runs_dir: str | Path = "runs",
    recorded_dir: str | Path = "data/recorded",
    recorded: str = "demo",
    progress: bool = False,
) -> Experiment:
    """Run (or resume) an experiment; load its runs with ``load.load_runs(exp.folders)``.

    All experiments of a mode share one folder (``runs_dir/offline``, ``runs_dir/live``), so
    a run needed by several experiments (the baseline cells, say) is made once. ``replay``
    plays the recorded grid ``recorded_dir/<recorded>`` again from its recorded replies
    (into ``runs_dir/replay-<recorded>``) and keeps the runs whose condition and setting
    ``spec`` asks for; the recorded grid, not ``spec``, decides models, seeds and rounds.
    """
    check_mode(spec, mode)
    runs_dir = Path(runs_dir)
    if mode == "replay":
        source = Path(recorded_dir) / recorded
        if not (source / "grid.json").exists():
            raise FileNotFoundError(
                f"no recorded grid at {source}: record one with "
                f"`coop grid GRID.yaml --out {source} --mode live` or use mode='offline'"
            )
        played = GridSpec(**json.loads((source / "grid.json").read_text()))
        caches = [p for p in (source / CACHE_FILE, source / f"{CACHE_FILE}.gz") if p.exists()]
        if not caches:
            raise FileNotFoundError(f"{source} has a grid.json but no {CACHE_FILE}[.gz]")
        cache = caches[0]
        played = played.model_copy(update={"mode": "replay", "cache": str(cache)})
        root = runs_dir / f"replay-{recorded}"
    else:
        played = spec.model_copy(update={"mode": "cache"})
        root = runs_dir / mode
    result = run_grid(played, root, progress=progress)
    if result.failed:
        first = next(iter(result.failed.items()))
        raise RuntimeError(f"{len(result.failed)} run(s) failed, e.g. {first[0]}: {first[1]}")
    wanted = [
        r.folder
        for r in plan(played, root)
        if r.condition in spec.conditions and r.setting in spec.settings
    ]
    return Experiment(played, result, root, wanted, mode)
