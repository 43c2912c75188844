"""What a grid is: its spec, checked whole before anything runs, and its planned runs.

A grid is planned first: every run gets an id and a folder from its cell (models ×
conditions × seeds × settings; :func:`~coop_utils.run.folders.folder_names` keeps folder
names injective). Nothing is lost or mixed silently: a grid is checked whole before anything
is written (duplicate cells, degenerate values, an ``EnvConfig`` per setting, unknown models
and ``local:`` policies), with one line naming the file and the key. :mod:`.grid` plays it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..agents import PRESETS, expand_agents, scripted_agent
from ..game.config import Condition, EnvConfig
from ..inputs import InputError, did_you_mean, explain, read_yaml_mapping
from ..llm.cache import Mode
from ..llm.models import MissingKeyError, UnknownModelError, load_models, resolve
from .folders import folder_names
from .runner import population_label


class GridSpec(BaseModel):
    """What to run. Loaded from a YAML file (``coop grid GRID.yaml``) or built in Python."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str = "grid"
    models: list[str] = Field(min_length=1)
    """Populations: a model alias, a scripted agent, or a mix such as '5*o3,5*perfect'."""
    conditions: list[Condition] = Field([Condition.BASELINE], min_length=1)
    runs: int = Field(5, ge=1)
    """Runs per cell, with seeds seed, seed+1, ... (ignored when `seeds` is given)."""
    seed: int = 0
    seeds: list[int] | None = Field(None, min_length=1)
    env: dict[str, Any] = Field(default_factory=dict)
    """EnvConfig overrides for every run (e.g. rounds: 10)."""
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"default": {}}, min_length=1
    )
    """Named EnvConfig overrides crossed with models × conditions (ablations)."""
    mode: Mode = "cache"
    """live: always call and record; replay: recorded replies only; cache: replay hits, call misses."""
    cache: str | None = None
    """Response cache file; default OUT/llm_cache.jsonl."""
    max_cost: float | None = Field(None, gt=0)
    """USD this invocation may spend: each call reserves its worst case first and none is
    started that could cross it; the runs in flight when it is reached stay unfinished."""
    allow_unpriced: bool = False
    """Under max_cost, count models with no known price as $0 instead of refusing them."""
    degraded_after: float = Field(0.05, ge=0, le=1)
    """A run whose share of turns lost to the provider (lost after retries, or provider
    errors) exceeds this is marked `degraded` and left out of tables by default. 5% = every
    agent silenced for one of 20 rounds on average: beyond it a run measures the provider."""
    episodes_in_flight: int = Field(32, ge=1)
    concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    """Per-provider limits on concurrent calls, overriding the models file."""
    server: dict[str, Any] = Field(default_factory=dict)
    """Settings for the local server started for `local:` models (latency_s, rate_429, ...)."""
    models_file: str | None = None

    @field_validator("models", "conditions", "seeds")
    @classmethod
    def _once_each(cls, values: list | None) -> list | None:
        twice = [v for v, n in Counter(values or ()).items() if n > 1]
        if twice:
            raise ValueError(
                f"lists {twice[0]!r} twice; each cell is run once, so list it "
                "once (for more runs per cell raise `runs`)"
            )
        return values

    @field_validator("server")
    @classmethod
    def _server(cls, value: dict[str, Any]) -> dict[str, Any]:
        if faults := {k: v for k, v in value.items() if k != "reasoning"}:
            from ..llm.local import FaultSettings

            FaultSettings().updated(faults)
        return value

    @model_validator(mode="after")
    def _configs(self) -> GridSpec:
        """Every setting gives a valid EnvConfig and seats each population, no two alike
        (``perfect`` and ``10*perfect`` would be one cell run twice): checked now, not when
        the runs start."""
        for where, values in [("env", self.env), *self.settings.items()]:
            if "condition" in values:
                raise ValueError(f"{where}: set conditions with the `conditions` key instead")
        for where, values in [
            ("env", {}),
            *((f"settings.{k}", v) for k, v in self.settings.items()),
        ]:
            try:
                n_agents = EnvConfig(**{**self.env, **values}).n_agents
            except ValidationError as exc:
                raise ValueError(f"{where}: {explain(exc, EnvConfig)}") from None
            seen: dict[tuple[str, ...], str] = {}
            for population in self.models:
                seats = tuple(expand_agents(population, n_agents))
                if seen.setdefault(seats, population) != population:
                    raise ValueError(
                        f"models {seen[seats]!r} and {population!r} are the same population "
                        f"({population_label(list(seats))}); list it once"
                    )
        return self

    def seed_list(self) -> list[int]:
        return (
            list(self.seeds)
            if self.seeds is not None
            else [self.seed + k for k in range(self.runs)]
        )


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    setting: str
    population: str
    seats: tuple[str, ...]
    condition: str
    seed: int
    config: EnvConfig
    folder: Path | None


def load_grid(path: str | Path, **overrides: Any) -> GridSpec:
    """A grid file (YAML or JSON); relative paths in it are relative to its folder, while
    ``overrides`` (command-line options) are taken as given. Errors are one line."""
    path = Path(path)
    data = read_yaml_mapping(path, "grid file", GridSpec.model_fields)
    for key in ("models_file", "cache"):
        if isinstance(data.get(key), str) and not Path(data[key]).expanduser().is_absolute():
            data[key] = os.path.abspath(path.parent / data[key])
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        spec = GridSpec(**data)
    except ValidationError as exc:
        raise InputError(f"grid file {path}: {explain(exc, GridSpec)}") from None
    seats = {seat for run in plan(spec, None) for seat in run.seats}
    try:
        check_seats({seat for seat in seats if not is_scripted_spec(seat)}, spec.models_file)
    except UnknownModelError as exc:
        raise UnknownModelError(f"grid file {path}: models: {exc}") from None
    return spec


def is_scripted_spec(spec: str) -> bool:
    try:
        scripted_agent(spec, 0)
    except ValueError:
        return False
    return True


def plays_offline(seat: str, models_file: str | None) -> bool:
    """Whether ``seat`` needs no model and no key: a scripted agent, in process or behind
    ``coop serve`` (a ``local:`` profile). Raises UnknownModelError for an unknown name."""
    return is_scripted_spec(seat) or resolve(seat, models_file).scripted


def plan(spec: GridSpec, out: Path | None) -> list[PlannedRun]:
    """Every run of the grid, with its id and folder (see :func:`folders.folder_names`)."""
    runs = []
    populations, settings = folder_names(spec.models), folder_names(list(spec.settings))
    for setting, overrides in spec.settings.items():
        for population in spec.models:
            for condition in spec.conditions:
                config = EnvConfig.for_condition(condition, **{**spec.env, **overrides})
                seats = tuple(expand_agents(population, config.n_agents))
                for seed in spec.seed_list():
                    parts = [populations[population], condition, f"seed{seed}"]
                    if len(spec.settings) > 1 or setting != "default":
                        parts.insert(0, settings[setting])
                    run_id = ".".join(parts)
                    folder = out.joinpath(*parts) if out else None
                    runs.append(
                        PlannedRun(
                            run_id, setting, population, seats, condition, seed, config, folder
                        )
                    )
    return runs


def check_seats(seats: set[str], models_file: str | None) -> None:
    """Every non-scripted seat must name a model, and a ``local:`` one a policy the local
    server plays; the error lists what is accepted. Checked before any run starts."""
    for spec in sorted(seats):
        try:
            profile = resolve(spec, models_file)
        except UnknownModelError as exc:
            near = did_you_mean(spec, [*load_models(models_file)[1], "perfect", *PRESETS])
            raise UnknownModelError(
                f"{str(exc).replace(repr(spec), repr(spec) + near, 1)}; scripted agents are "
                f"'perfect', {', '.join(PRESETS)} or 'behaviour:KNOB=V:...'"
            ) from None
        if profile.provider == "local" and profile.scripted:
            from ..llm.local import UnknownModel, resolve_model

            try:
                resolve_model(profile.model)
            except UnknownModel as exc:
                near = did_you_mean(spec, [f"local:{p}" for p in ("perfect", *PRESETS)])
                raise UnknownModelError(f"{spec}{near}: {exc}") from None


def missing_keys(seats: set[str], models_file: str | None) -> dict[str, list[str]]:
    """Each API key variable the environment lacks, with the seats that need it."""
    missing: dict[str, list[str]] = {}
    for seat in sorted(seats):
        profile = resolve(seat, models_file)
        try:
            profile.api_key()
        except MissingKeyError:
            missing.setdefault(str(profile.api_key_env), []).append(seat)
    return missing


def check_keys(seats: set[str], models_file: str | None, what: str) -> None:
    """Every key the seats need is set; the error names all that are not, at once."""
    if missing := missing_keys(seats, models_file):
        keys = "; ".join(f"{env} (for {', '.join(m)})" for env, m in missing.items())
        raise MissingKeyError(
            f"{what}: API keys not set in the environment: {keys}; set them (export "
            "VARIABLE=...) or choose other models. No call was made, nothing was written."
        )
