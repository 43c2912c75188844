"""Grids of episodes: models × conditions × seeds (× settings), concurrent and resumable.

A grid is planned first (:mod:`.plan`: every run gets a folder and an id from its cell), then
the runs not yet finished are played with many episodes in flight at once: each episode's turns
are sequential, so a grid's wall time approaches one episode's critical path when the
provider allows enough concurrent calls. A finished run is a folder whose
``summary.json`` exists (written last, atomically); rerunning the same command skips
those after checking they were made under the same configuration, and refuses to mix in
runs that were not; one whose files were damaged afterwards (a truncated ``events.jsonl``)
is reported and played again. A failing run is reported and the grid goes on. A failure
no retry can fix (a refused key, an exhausted quota, an invalid parameter, the budget: see
``llm/failures.py``) stops every call at once and leaves the runs in flight unfinished, so
rerunning the same command redoes them. ``max_cost`` is a cap no call may cross (see
``llm/budget.py``). A finished run whose turns were lost to the provider past
``degraded_after`` is marked ``degraded`` in its summary and left out of tables by default.

Nothing is lost or mixed silently: a grid is checked whole before anything is written
(duplicate cells, degenerate values, unknown models, a replay cache that is missing), and
one grid at a time holds ``--out`` and its cache (:mod:`.folders`).
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..agents import Agent, scripted_agent
from ..game.events import write_atomic
from ..inputs import InputError
from ..llm.agent import LLMAgent
from ..llm.client import ClientPool, StopError, Usage
from ..llm.secrets import redact
from .folders import claim, damage, hold, read_json, within
from .plan import (  # noqa: F401
    GridSpec,
    PlannedRun,
    check_keys,
    check_seats,
    is_scripted_spec,
    load_grid,
    plan,
)
from .runner import Episode, run_blocking, run_episode_async, write_run

CACHE_FILE = "llm_cache.jsonl"


@dataclass
class GridResult:
    planned: int = 0
    already_done: int = 0
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_started: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    """Runs in flight when the grid stopped: not written, so a rerun redoes them."""
    stopped: str | None = None
    """Why every call stopped (a stop-class failure or the budget), if it did."""
    summaries: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    committed_usd: float = 0.0
    """What the budget counted: settled spending plus the worst case of calls whose outcome
    is unknown (a caller splitting one cap over several grids deducts this)."""
    wall_s: float = 0.0
    damaged: dict[str, str] = field(default_factory=dict)
    """Finished runs found damaged (e.g. a truncated events.jsonl) and played again: why."""
    cache_torn: int = 0
    """Cache records cut by a kill, found when the cache was opened (their calls are redone)."""

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


class GridMismatchError(ValueError):
    pass


def seat_seed(seed: int, seat: int) -> int:
    """The seed of one seat's agent in the run of this seed."""
    return seed * 1000 + seat


def build_agents(run: PlannedRun, pool: ClientPool) -> list[Agent]:
    """Scripted specs play in process; everything else is a model called through the pool."""
    agents: list[Agent] = []
    for k, spec in enumerate(run.seats):
        seed = seat_seed(run.seed, k)
        if is_scripted_spec(spec):
            agents.append(scripted_agent(spec, seed))
            continue
        agents.append(LLMAgent(pool.client(spec), run.run_id, seed))
    return agents


def _identity(config: dict | None, agents: list | None, llm: dict | None) -> dict[str, Any]:
    """What must match for a finished run to count as a planned run (base URLs may move)."""
    llm = {a: {k: v for k, v in m.items() if k != "base_url"} for a, m in (llm or {}).items()}
    return {"config": config, "agents": list(agents or []), "llm": llm}


def _finished(run: PlannedRun, models: dict[str, dict], damaged: dict[str, str]) -> bool:
    """Whether the run is in its folder, finished and intact. A damaged run is noted in
    ``damaged`` and unmarked (its summary removed), so it is played again."""
    if run.folder is None or not (run.folder / "summary.json").exists():
        return False
    meta = read_json(run.folder / "run.json")
    if meta is not None:
        recorded = _identity(meta.get("config"), meta.get("agents"), meta.get("llm"))
        wanted = _identity(run.config.model_dump(), list(run.seats), models)
        if recorded != wanted:
            diff = [k for k in wanted if recorded[k] != wanted[k]]
            raise GridMismatchError(
                f"{run.folder} holds a finished run made under a different {' and '.join(diff)}; "
                "write this grid to a new --out folder (or delete that run to redo it)"
            )
    problem = damage(run.folder)
    if problem is None:
        return True
    damaged[run.run_id] = f"{run.folder}: {problem}"
    (run.folder / "summary.json").unlink()
    return False


def _check_replay_cache(spec: GridSpec, cache: Path | None, seats: set[str]) -> None:
    if spec.mode != "replay" or not seats:
        return
    if cache is None:
        raise InputError("replay needs recorded replies: name their file with --cache FILE")
    if not cache.is_file():
        raise FileNotFoundError(
            f"replay cache {cache}: file not found; record replies first (--cache-mode live or "
            "cache) or name a recorded cache with --cache"
        )


async def _play(run: PlannedRun, pool: ClientPool, spec: GridSpec, models: dict) -> Episode:
    agents = build_agents(run, pool)
    episode = await run_episode_async(run.config, agents, run.seed, run.run_id)
    s = episode.summary
    lost = s["lost_turns"] + s["provider_errors"]
    s["degraded"] = bool(s["agent_turns"]) and lost / s["agent_turns"] > spec.degraded_after
    if run.folder is not None:
        for debris in run.folder.glob(".*.tmp"):  # left by a write that was killed
            debris.unlink(missing_ok=True)
        calls = {"live": 0, "cached": 0}
        upstream: dict[str, set[str]] = {}  # behind a gateway: the models it called per alias
        for a in agents:
            if isinstance(a, LLMAgent):
                calls["live"] += a.live_calls
                calls["cached"] += a.cached_calls
                upstream.setdefault(a.label, set()).update(a.upstream_models)
        extra = {"grid": spec.name, "setting": run.setting, "population": run.population}
        extra |= {"mode": pool.mode, "llm": models, "calls": calls}
        if upstream := {alias: sorted(m) for alias, m in upstream.items() if m}:
            extra["upstream_models"] = upstream
        pool.cache.sync()  # the run's replies are durable before the run counts as finished
        write_run(run.folder, episode, extra)
    return episode


async def run_grid_async(
    spec: GridSpec,
    out: str | Path | None,
    progress: bool = True,
    base_urls: dict[str, str] | None = None,
    lock_wait_s: float = 0.0,
) -> GridResult:
    out = Path(out) if out is not None else None
    result = GridResult()
    start = time.perf_counter()
    runs = plan(spec, out)
    result.planned = len(runs)
    seats = {s for r in runs for s in r.seats if not is_scripted_spec(s)}
    check_seats(seats, spec.models_file)
    if spec.mode != "replay":
        check_keys(seats, spec.models_file, f"grid {spec.name!r}")
    cache = Path(spec.cache) if spec.cache else (out / CACHE_FILE if out else None)
    _check_replay_cache(spec, cache, seats)
    with ExitStack() as held:
        if out is not None:
            held.enter_context(claim(out, lock_wait_s))
        if cache is not None and spec.mode != "replay" and not within(cache, out):
            lock = cache.with_name(f".{cache.name}.lock")
            held.enter_context(hold(lock, f"cache {cache}", "--cache", lock_wait_s))
        pool = ClientPool(
            spec.mode,
            cache,
            base_urls,
            spec.concurrency,
            spec.models_file,
            spec.max_cost,
            spec.allow_unpriced,
        )
        pool.cache.check_intact()
        result.cache_torn = pool.cache.torn_lines
        with pool.local_server(seats, **spec.server):
            profiles = {seat: pool.profile(seat).public() for seat in seats}
            models = {
                r.run_id: {seat: profiles[seat] for seat in dict.fromkeys(r.seats) if seat in seats}
                for r in runs
            }
            todo = [r for r in runs if not _finished(r, models[r.run_id], result.damaged)]
            result.already_done = len(runs) - len(todo)
            for seat in {seat for r in todo for seat in r.seats} & seats:
                pool.client(seat)  # a missing key fails here, before any call
            if out is not None:
                write_atomic(out / "grid.json", spec.model_dump_json(indent=2))
            async with pool:
                await _run_all(todo, pool, spec, models, result, progress)
    result.usage = pool.usage
    result.committed_usd = pool.budget.committed
    result.stopped = redact(str(pool.stopped)) if pool.stopped else None
    result.wall_s = time.perf_counter() - start
    if out is not None and result.failed:
        write_atomic(out / "failures.json", json.dumps(result.failed, indent=2))
    return result


async def _run_all(todo, pool, spec, models, result: GridResult, progress: bool) -> None:
    gate = asyncio.Semaphore(spec.episodes_in_flight)
    bar = tqdm(total=len(todo), desc=spec.name, unit="run", disable=not progress or not todo)
    order = {r.run_id: k for k, r in enumerate(todo)}
    done: dict[str, dict] = {}

    async def one(run: PlannedRun) -> None:
        async with gate:
            if pool.stopped is not None:
                result.not_started.append(run.run_id)
                return
            try:
                episode = await _play(run, pool, spec, models[run.run_id])
            except StopError:  # nothing more is called; the run is redone by a rerun
                result.unfinished.append(run.run_id)
            except Exception as exc:  # a bug or a replay miss: report it, keep going
                error = f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, RuntimeError | ValueError | OSError):
                    error += "\n" + traceback.format_exc(limit=5)
                result.failed[run.run_id] = redact(error)
            else:
                result.completed.append(run.run_id)
                done[run.run_id] = {
                    "run_id": run.run_id,
                    "setting": run.setting,
                    "model": episode.model,
                    "scripted": episode.scripted,
                    "condition": run.condition,
                    "seed": run.seed,
                    **episode.summary,
                }
            finally:
                bar.update(1)
                if pool.usage.live_calls:
                    bar.set_postfix(spent=f"${pool.usage.spent_usd:.2f}", refresh=False)

    try:
        await asyncio.gather(*(one(r) for r in todo))
    finally:
        bar.close()
    result.summaries = [done[k] for k in sorted(done, key=order.get)]


def run_grid(
    spec: GridSpec,
    out: str | Path | None,
    progress: bool = True,
    base_urls: dict[str, str] | None = None,
    lock_wait_s: float = 0.0,
) -> GridResult:
    """Run a grid from synchronous code: a script, the CLI, or a notebook cell (where an
    event loop is already running, the grid runs on its own loop in a worker thread).
    ``lock_wait_s``: how long to wait for another grid holding ``out`` (default: none)."""
    return run_blocking(run_grid_async(spec, out, progress, base_urls, lock_wait_s))
