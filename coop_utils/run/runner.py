"""Play one episode and write it to disk.

``run_episode`` (``run_episode_async`` inside a running loop) drives the environment's rounds
and turns against any agents (scripted or LLM); ``write_run`` stores the run as a folder holding the events
log, the summary and its provenance, each written atomically, the summary last:
a folder with ``summary.json`` is a finished run, anything else is debris.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import platform
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from ..agents import Agent
from ..analysis import metrics
from ..game.config import EnvConfig
from ..game.env import Environment
from ..game.events import Event, write_atomic, write_events
from ..game.observation import Observation
from ..paths import ROOT

T = TypeVar("T")

PACKAGES = (
    "coop-utils",
    "openai",
    "pydantic",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "seaborn",
)


def population_label(labels: list[str]) -> str:
    """The run's 'model' column: the one label of a homogeneous run, else '5*a,5*b' (in seat order)."""
    groups: list[list] = []
    for label in labels:
        if groups and groups[-1][1] == label:
            groups[-1][0] += 1
        else:
            groups.append([1, label])
    if len(groups) == 1:
        return groups[0][1]
    return ",".join(f"{n}*{label}" if n > 1 else label for n, label in groups)


@dataclass(frozen=True, repr=False)
class Episode:
    run_id: str
    config: EnvConfig
    seed: int
    agents: list[str]
    events: list[Event]
    summary: dict[str, Any]
    scripted: bool = True
    """True if any agent of the run is scripted (in process or served locally)."""

    @property
    def model(self) -> str:
        return population_label(self.agents)

    def __repr__(self) -> str:  # asyncio reprs results; keep it cheap
        return f"Episode({self.run_id!r}, tasks={self.summary.get('tasks')}, events={len(self.events)})"


class AgentError(RuntimeError):
    """A model call failed after its retries and ``on_agent_error`` is ``abort``."""


async def _play(env: Environment, agents: list[Agent], until: tuple[int, int] | None = None):
    """Play the episode's rounds; agent turns are strictly sequential. With ``until`` =
    (round, seat), stop before that seat's turn and return what it is shown then."""
    config, labels = env.state.config, [a.label for a in agents]
    instant = {i for i, a in enumerate(agents) if hasattr(a, "reply_now")}
    whole = [getattr(a, "reads_state", False) for a in agents]
    to_anyone = config.instant_replies == "to_anyone"
    observe, apply_turn = env.viewer.observe, env.apply_turn
    for _ in range(config.rounds):
        for i in env.start_round():
            if (env.state.round, i) == until:
                return observe(i)
            env.begin_turn(i)
            turn = await agents[i].act(observe(i, whole[i]))
            reached = apply_turn(i, turn)
            if turn.error is not None and config.on_agent_error == "abort":
                raise AgentError(
                    f"run {env.state.run_id}: {labels[i]} lost its round-{env.state.round} turn to "
                    f"{turn.error_kind} ({turn.error}); the run stops here, as the authors' "
                    "runner did. Rerun to resume from the cached replies, or set "
                    "on_agent_error='lose_turn' to play on"
                )
            if not (to_anyone or i in instant):
                continue  # perfect holders answer at once only a perfect requester (authors' code)
            requester = None if to_anyone else env.state.ids[i]
            for j in dict.fromkeys(reached):
                if j in instant:
                    reply = agents[j].reply_now(observe(j, whole[j]), requester)
                    if reply is not None:
                        env.begin_turn(j, instant=True)
                        apply_turn(j, reply)
        env.end_round()
    return None


async def run_episode_async(
    config: EnvConfig, agents: list[Agent], seed: int, run_id: str | None = None
) -> Episode:
    """Play all rounds; agent turns are strictly sequential within an episode."""
    if len(agents) != config.n_agents:
        raise ValueError(f"{len(agents)} agents given for a run of {config.n_agents}")
    run_id = run_id or f"{config.condition}-seed{seed}"
    labels = [a.label for a in agents]
    with collector_paused(all(getattr(a, "in_process", False) for a in agents)):
        env = Environment(config, seed, run_id, labels)
        await _play(env, agents)
        result = env.finish()
        summary = summarize(env.state.events, result, config)
    scripted = any(getattr(a, "scripted", False) for a in agents)
    return Episode(run_id, config, seed, labels, env.state.events, summary, scripted)


FULL_PASS_AFTER = 4_000_000
"""Objects paused episodes may move to the oldest generation unwalked before the runner asks
for a full collector pass (or a quarter of what the last such pass kept, if more)."""


class _Unwalked:
    """Objects paused episodes moved to the oldest generation since the last full pass, and
    how many objects that pass kept."""

    moved = 0
    kept = 0


@contextmanager
def collector_paused(pause: bool) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an episode of in-process agents plays
    (``pause``: every agent says ``in_process = True``). Such an episode makes no reference
    cycles, yet the collector would walk its thousands of new events and records again and
    again: a tenth of the episode's time. At the end every object moves to the oldest
    generation unwalked (``gc.freeze`` then ``gc.unfreeze``: two list splices in CPython's
    default build), unless the program froze objects of its own, which this must not thaw.
    That also spares the young generation any pass between episodes, so once the objects
    moved pass :data:`FULL_PASS_AFTER` (or a quarter of what the last full pass kept, as
    CPython's own rule) a full pass runs and frees any cycle made meanwhile
    (``benchmarks/bench_collector.py`` measures both against no pause). The episode
    never yields to the event loop, so no other task runs while the collector is paused
    (``tests/test_env.py`` checks both); the pause is process-wide, for one episode."""
    if not (pause and gc.isenabled()):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            _Unwalked.moved += gc.get_count()[0]
            gc.freeze()
            gc.unfreeze()
        gc.enable()
        if _Unwalked.moved > max(FULL_PASS_AFTER, _Unwalked.kept // 4):
            gc.collect()
            _Unwalked.moved, _Unwalked.kept = 0, len(gc.get_objects())


def observation_at(
    config: EnvConfig, agents: list[Agent], seed: int, agent: int, round: int
) -> Observation:
    """What seat ``agent`` is shown at the start of its turn in ``round`` of the episode these
    agents play with this seed (the same episode :func:`run_episode_async` plays); render it with
    :func:`~coop_utils.game.prompts.render_messages` for the exact messages a model receives."""
    if not (1 <= round <= config.rounds and 0 <= agent < config.n_agents):
        raise ValueError(
            f"round {round}, agent {agent}: a run has rounds 1-{config.rounds} and agents "
            f"0-{config.n_agents - 1}"
        )
    env = Environment(config, seed, f"{config.condition}-seed{seed}", [a.label for a in agents])
    return asyncio.run(_play(env, agents, (round, agent)))


def run_episode(
    config: EnvConfig, agents: list[Agent], seed: int, run_id: str | None = None
) -> Episode:
    """:func:`run_episode_async` from synchronous code (a notebook cell included)."""
    return run_blocking(run_episode_async(config, agents, seed, run_id))


def run_blocking(job: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous code: on a new loop, or, where one is already running
    (a notebook cell), on its own loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, job).result()


def summarize(events: list[Event], result: dict[str, Any], config: EnvConfig) -> dict[str, Any]:
    """Headline numbers, by the definitions of :mod:`coop_utils.analysis.metrics` (so the summary and
    every analysis agree), plus the final revenues and tasks per agent."""
    evs = metrics.EventLog(events)
    return {
        "tasks": result["tasks"],
        "pct_optimal": metrics.pct_optimal(evs),
        "revenues": result["revenues"],
        "tasks_done": result["tasks_done"],
        "lost_turns": metrics.lost_turns(evs),
        "lost_turn_share": metrics.lost_turn_share(evs),
        "parse_errors": metrics.parse_errors(evs),
        "parse_ambiguities": metrics.parse_ambiguities(evs),
        "invalid_actions": metrics.invalid_actions(evs),
        "provider_errors": metrics.provider_errors(evs),
        "refusals": metrics.refusals(evs),
        "retried_attempts": metrics.retried_attempts(evs),
        "agent_turns": metrics.agent_turns(evs),
        "messages": metrics.authored_messages(evs),
        "messages_delivered": metrics.delivered_messages(evs),
        "manipulated_values": metrics.manipulated_values(evs),
        **metrics.llm_usage(evs),
    }


@lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """Code version, dirty flag and package versions, recorded with every run."""
    root = ROOT

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            )
            return out.stdout.strip() if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "code_version": git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
    }


def write_run(folder: Path, episode: Episode, extra: dict[str, Any] | None = None) -> Path:
    """events.jsonl, config.json and provenance first, summary.json last (marks completion)."""
    folder = Path(folder)
    write_events(folder / "events.jsonl", episode.events)
    head = {
        "run_id": episode.run_id,
        "seed": episode.seed,
        "condition": episode.config.condition,
        "model": episode.model,
        "scripted": episode.scripted,
        "agents": episode.agents,
    }
    meta = {
        **head,
        "config": episode.config.model_dump(),
        "provenance": provenance(),
        **(extra or {}),
    }
    write_atomic(folder / "run.json", json.dumps(meta, indent=2))
    summary = {**head, **episode.summary}
    write_atomic(folder / "summary.json", json.dumps(summary, indent=2))
    return folder
