"""The paper's experiments as grids, the three ways a notebook can run them, and where
a notebook's runs, figures and tables go.

Each function returns the :class:`GridSpec` of one experiment of the paper for any list
of models, so a notebook says *what* it runs in the paper's words and this module says
*how*. :func:`run_experiment` maps a notebook's ``mode`` onto the grid runner:

- ``offline`` (the default): scripted populations, served over real HTTP by a local
  OpenAI-compatible server when their names start with ``local:``, else in process.
  No key, no network. Results describe the machinery, never a model's behaviour.
- ``replay``: the recorded grid under ``data/recorded/<name>`` is played again from its
  recorded replies, with no server and no key.
- ``live``: real models by alias (keys in the environment); replies are cached in the
  runs folder, so an interrupted grid resumes without paying twice.

Runs are kept by configuration (``runs/<mode>/<config>/...``): a notebook run with other
rounds or another code version makes new runs beside the old ones instead of failing.
:func:`notebook_outputs` keeps the committed figures and tables (*published* outputs)
apart from *exploration*: only ``coop reproduce`` at a notebook's published parameters
(the defaults of its ``parameters`` cell), or an explicit ``publish=True``, writes
``figures/`` and ``data/results/``; any other run writes under
``runs/explore/<notebook>/<changed parameters>/``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..analysis.load import load_runs
from ..analysis.paper import ceiling as rule
from ..analysis.paper import load_paper, setting_differences
from ..game.config import (  # noqa: F401  (re-exported: the paper's designs and models)
    ABLATIONS,
    DECOMPOSITION,
    INTERVENTIONS,
    PAPER_MODELS,
    Condition,
    EnvConfig,
)
from ..inputs import InputError, did_you_mean, kind_of, short
from ..llm.failures import StopError
from ..paths import ROOT, runs_root, shown
from .folders import slug
from .grid import CACHE_FILE, GridMismatchError, GridResult, run_grid
from .plan import GridSpec, load_grid, plan, plays_offline

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


def _spec(name: str, models, conditions, runs: int, seed: int, **kw: Any) -> GridSpec:
    return GridSpec(
        name=name, models=list(models), conditions=list(conditions), runs=runs, seed=seed, **kw
    )


def perfect_play(runs: int = 20, seed: int = 0, **env: Any) -> GridSpec:
    """The 100% ceiling, in process: it never calls a model."""
    return _spec("perfect_play", ["perfect"], [Condition.BASELINE], runs, seed, env=env)


def baseline(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Table 1 and Fig. 3: every model in the unaltered game."""
    return _spec("baseline", models, [Condition.BASELINE], runs, seed, env=env)


def decomposition(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Table 2 and Fig. 4: automate requests (cooperation) or replies (competence)."""
    return _spec("decomposition", models, DECOMPOSITION, runs, seed, env=env)


def interventions(models, runs: int = 5, seed: int = 0, **env: Any) -> GridSpec:
    """Tables 3 and 5, Fig. 5: explicit protocol, sender bonus, hidden peer revenues."""
    return _spec("interventions", models, [Condition.BASELINE, *INTERVENTIONS], runs, seed, env=env)


def ablations(
    models, runs: int = 3, seed: int = 0, settings: list[str] | None = None, **env: Any
) -> GridSpec:
    """Tables 9–10 and the appendix: each setting crossed with the baseline condition."""
    chosen = {k: ABLATIONS[k] for k in (settings or list(ABLATIONS))}
    return _spec("ablations", models, [Condition.BASELINE], runs, seed, env=env, settings=chosen)


def validity_grid(specs: Sequence[str], runs: int = 3, seed: int = 0, **env) -> GridSpec:
    """Beyond the paper (notebook 06): the decomposition for every knob setting of behaviour
    agents (``analysis.validity.knob_specs``), whose willingness and competence are known."""
    return _spec("validity", specs, DECOMPOSITION, runs, seed, env=env)


def check_mode(spec: GridSpec, mode: str) -> None:
    """Offline means scripted only; anything else is a model and needs ``live``."""
    if mode not in NOTEBOOK_MODES:
        raise ValueError(f"mode must be one of {', '.join(NOTEBOOK_MODES)}, got {mode!r}")
    if mode == "offline":
        seats = {seat for run in plan(spec, None) for seat in run.seats}
        real = [s for s in seats if not plays_offline(s, spec.models_file)]
        if real:
            raise ValueError(
                "mode 'offline' runs scripted agents only, but these are models: "
                f"{', '.join(sorted(real))}; use mode='live' (with their keys set) or 'replay'"
            )


def _slug(value: Any) -> str:
    """A short folder-safe rendering of a parameter value (a hash when it would be long)."""
    text = slug(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
    return text if len(text) <= 40 else hashlib.sha256(text.encode()).hexdigest()[:8]


def config_folder(env: Mapping[str, Any]) -> str:
    """The folder holding runs of one environment configuration, e.g. ``rounds=10-3f2a9c1e``.

    The readable part names what differs from :class:`EnvConfig`'s defaults; the hash covers
    the whole resolved configuration, so a changed default in a new code version also gets
    new runs instead of a mismatch with runs made before it.
    """
    config = EnvConfig(**env).model_dump(mode="json")
    defaults = EnvConfig().model_dump(mode="json")
    changed = [f"{k}={_slug(v)}" for k, v in sorted(config.items()) if v != defaults[k]]
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    return f"{','.join(changed) or 'default'}-{digest}"


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
    runs_dir: str | Path | None = None,
    recorded_dir: str | Path | None = None,
    recorded: str = "demo",
    progress: bool = False,
) -> Experiment:
    """Run (or resume) an experiment; load its runs with ``load.load_runs(exp.folders)``.

    Runs go to ``runs_dir/<mode>/<config>`` (``runs_dir`` defaults to the repository's
    ``runs/``; ``<config>`` is :func:`config_folder`), so experiments of one mode and
    configuration share their runs (the baseline cells, say, are made once) and a changed
    parameter makes new runs. ``replay`` plays the recorded grid ``recorded_dir/<recorded>``
    (default ``data/recorded/demo``) again from its recorded replies and keeps the runs
    whose condition and setting ``spec`` asks for; the recorded grid, not ``spec``, decides
    models, seeds and rounds. A failed run raises, and so does a stop (the budget, a refused
    key) that left runs unfinished: rerun once its cause is removed, and the grid resumes.
    """
    check_mode(spec, mode)
    runs_dir = Path(runs_dir) if runs_dir is not None else runs_root()
    if mode == "replay":
        source = Path(recorded_dir or ROOT / "data" / "recorded") / recorded
        if not (source / "grid.json").exists():
            raise FileNotFoundError(
                f"no recorded grid at {source}: record one with "
                f"`coop grid GRID.yaml --out {source} --cache-mode live` or use mode='offline'"
            )
        caches = [p for p in (source / CACHE_FILE, source / f"{CACHE_FILE}.gz") if p.exists()]
        if not caches:
            raise FileNotFoundError(f"{source} has a grid.json but no {CACHE_FILE}[.gz]")
        played = load_grid(source / "grid.json", mode="replay", cache=str(caches[0]))
        root = runs_dir / f"replay-{recorded}" / config_folder(played.env)
    else:
        played = spec.model_copy(update={"mode": "cache"})
        root = runs_dir / mode / config_folder(played.env)
    try:
        result = run_grid(played, root, progress=progress)
    except GridMismatchError as exc:
        raise GridMismatchError(
            f"{exc} [from a notebook or coop reproduce, the runs folder is the runs_dir "
            "parameter: pass a new one (e.g. --set runs_dir=runs/fresh), or clear the "
            "runs with `coop clean --yes`]"
        ) from None
    if result.failed:
        first = next(iter(result.failed.items()))
        raise RuntimeError(f"{len(result.failed)} run(s) failed, e.g. {first[0]}: {first[1]}")
    wanted = [
        r
        for r in plan(played, root)
        if r.condition in spec.conditions and r.setting in spec.settings
    ]
    left = {*result.unfinished, *result.not_started}
    if result.stopped and (missing := [r for r in wanted if r.run_id in left]):
        raise StopError(
            f"the grid stopped with {len(missing)} of its {len(wanted)} runs unfinished: "
            f"{result.stopped}. Remove the cause (a budget: raise the grid's max_cost; a "
            "refused key or model: set the key or fix the model id) and run again: the "
            "finished runs are kept and the others resume"
        )
    return Experiment(played, result, root, [r.folder for r in wanted], mode)


@dataclass(frozen=True)
class Ceiling:
    """Perfect play at a notebook's setting and the 100% of % of optimal it sets."""

    tasks: float
    """The 100%: the paper's 204.0 at its setting, else our perfect play's mean here."""
    source: str
    perfect: Any
    """Our perfect play's runs at this setting (a runs frame, on this ceiling)."""
    folders: list[Path]
    differences: tuple[str, ...]
    """How this setting differs from the paper's (empty: its numbers compare with ours)."""

    @property
    def comparable(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        return f"100% of optimal = {self.tasks:.1f} tasks ({self.source})"


def ceiling(runs_dir: str | Path | None = None, runs: int = 5, seed: int = 0, **env) -> Ceiling:
    """Play perfect play at this setting (in process, no model call) and take the ceiling
    by :func:`coop_utils.analysis.paper.ceiling`'s rule; load runs with
    ``load_runs(folders, ceiling=c.tasks)``."""
    exp = run_experiment(perfect_play(runs, seed, **env), "offline", runs_dir)
    tasks, source = rule(env, list(load_runs(exp.folders).tasks))
    perfect = load_runs(exp.folders, ceiling=tasks)
    return Ceiling(tasks, source, perfect, exp.folders, setting_differences(env))


PUBLISH_ENV = "COOP_PUBLISH"
"""Set to 1 by ``coop reproduce``: a notebook at its published parameters then publishes."""

LOCATIONS = ("runs_dir", "recorded_dir", "figures_dir", "results_dir", "publish")
"""Parameters that say where things go, not what is computed."""


@dataclass(frozen=True)
class Outputs:
    """Where one notebook run reads and writes (see :func:`notebook_outputs`), and the
    paper's numbers it compares with."""

    runs_dir: Path
    recorded_dir: Path
    figures: Path
    results: Path
    published: bool
    changed: dict[str, Any] = field(default_factory=dict)
    explore: Path | None = None
    """The exploration's folder (``coop reproduce`` keeps the executed notebook there)."""

    @property
    def paper(self) -> Any:
        """The paper's reported numbers (:func:`~coop_utils.analysis.paper.load_paper`), a
        fresh frame each time, so no cell's change to it reaches another."""
        return load_paper()

    def __str__(self) -> str:
        where = f"figures to {shown(self.figures)}/, tables to {shown(self.results)}/"
        if self.published:
            return f"Published outputs: {where} (the committed ones)."
        changed = ", ".join(f"{k}={v!r}" for k, v in self.changed.items())
        why = f"parameters changed ({changed})" if changed else "published parameters"
        return (
            f"Exploration ({why}): {where}. The committed figures/ and data/results/ are "
            "written only by `coop reproduce` at the published parameters, or with publish=True."
        )


def _plain(value: Any) -> Any:
    """A parameter as JSON would hold it (tuples become lists), for comparison."""
    return json.loads(json.dumps(value))


def published_parameters(notebook: str | Path) -> dict[str, Any]:
    """The parameters the committed outputs of ``notebook`` (a name under ``notebooks/``, or
    a path) were made with: the defaults of its ``parameters`` cell, as papermill reads
    them (source text, evaluated as literals)."""
    import papermill as pm

    path = notebook if isinstance(notebook, Path) else ROOT / "notebooks" / f"{notebook}.ipynb"
    found = pm.inspect_notebook(str(path))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}


LEAST = {"seed": 0}
"""The least value of a whole-number parameter; 1 for every one not named here."""


def _wrong(key: str, value: Any, published: Any) -> str | None:
    """What is wrong with ``value`` for a parameter published as ``published``, or None."""
    if key == "mode" and value not in NOTEBOOK_MODES:
        return f"must be one of {', '.join(NOTEBOOK_MODES)}{did_you_mean(value, NOTEBOOK_MODES)}"
    if published is None:
        return "must be a single value or null" if isinstance(value, list | dict) else None
    if isinstance(published, bool | str):
        return None if type(value) is type(published) else f"must be {kind_of(published)}"
    if isinstance(published, int):
        least = LEAST.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            return "must be a positive whole number" if least else "must be a whole number ≥ 0"
        return None
    if isinstance(published, float):
        return None if type(value) in (int, float) else "must be a number"
    if isinstance(published, list | dict) and not isinstance(value, type(published)):
        how = "give it in YAML: --set 'KEY=[...]', or papermill -y 'KEY: [...]' (not -p)"
        return f"must be {kind_of(published)}; {how}"
    if isinstance(published, list) and not value:
        return "must not be empty"
    if isinstance(published, list) and published:
        item = next((_wrong("", v, published[0]) for v in value), None)
        return f"items {item}" if item else None
    return None


def check_parameters(
    notebook: str, params: Mapping[str, Any], published: Mapping[str, Any] | None = None
) -> None:
    """Raise one line naming the first parameter of ``notebook`` whose value is not of the
    kind its published value is (a list where a list is published, a positive whole number
    for a count, a known ``mode``), before the notebook does any work. ``published``:
    default, :func:`published_parameters`."""
    if published is None:
        published = published_parameters(notebook)
    for key, base in published.items():
        if key in params and (problem := _wrong(key, params[key], base)):
            raise InputError(
                f"notebook {notebook}: parameter {key} {problem} (got {short(params[key])})"
            )


def notebook_outputs(
    notebook: str, params: Mapping[str, Any], reproducing: bool | None = None
) -> Outputs:
    """Decide where a notebook's runs, figures and tables go, whatever the working folder.

    ``params`` holds the notebook's parameters (a notebook passes ``globals()``); those of
    its ``parameters`` cell (:func:`published_parameters`) are compared with it; the result's
    ``paper`` holds the paper's numbers for the notebook's cells. Figures and tables are
    *published* (``figures/<mode>``, ``data/results/<mode>``) when ``publish`` is true,
    or when it is ``None`` and ``coop reproduce`` runs the notebook at its published
    parameters (``mode`` aside: it picks the subfolder). Otherwise they go to
    ``<runs_dir>/explore/<notebook>/<changed parameters>/``, never over a committed file.
    ``figures_dir`` / ``results_dir``, when given, are used as they are. ``reproducing``
    says whether ``coop reproduce`` runs the notebook (default: read from the environment).
    """
    published = published_parameters(notebook)
    check_parameters(notebook, params, published)
    mode = params.get("mode", "offline")
    changed = {
        k: params[k]
        for k in published
        if k not in (*LOCATIONS, "mode")
        and k in params
        and _plain(params[k]) != _plain(published[k])
    }
    runs_dir = Path(params.get("runs_dir") or runs_root()).resolve()
    recorded_dir = Path(params.get("recorded_dir") or ROOT / "data" / "recorded").resolve()
    if reproducing is None:
        reproducing = os.environ.get(PUBLISH_ENV) == "1"
    publish = params.get("publish")
    if publish is None:
        publish = reproducing and not changed
    explore = None
    if publish:
        figures, results = ROOT / "figures", ROOT / "data" / "results"
    else:
        name = ",".join(f"{k}={_slug(v)}" for k, v in sorted(changed.items())) or "default"
        explore = runs_dir / "explore" / notebook / name
        figures, results = explore / "figures", explore / "results"
    if params.get("figures_dir"):
        figures = Path(params["figures_dir"]).resolve()
    if params.get("results_dir"):
        results = Path(params["results_dir"]).resolve()
    return Outputs(
        runs_dir, recorded_dir, figures / mode, results / mode, bool(publish), changed, explore
    )
