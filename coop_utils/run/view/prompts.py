"""The messages each turn's agent was sent, rebuilt from the run's seed.

No run records its prompts (the response cache keeps only a hash of each request), so the
page rebuilds them: the episode is played again from its config and seed, each model seat
answering with the reply it recorded and each in-process scripted seat acting again, and
every observation an agent is handed is rendered as ``llm.agent.LLMAgent`` renders it. The
replay must give back the recorded event log; where it does not, no prompt is shown and the
page says where the two parted. :func:`turn_messages` is the one entry point, kept small so
that ``coop prompt``'s own rebuild can take its place.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator

from ...game.actions import Turn
from ...game.config import EnvConfig
from ...game.events import Event
from ...game.prompts import render_messages
from ..plan import is_scripted_spec
from ..runner import run_episode

LOST = ("llm_error", "provider_error", "refusal")
"""Event kinds of a turn lost before any reply was read (``Turn.error_kind``)."""


def turn_messages(events: list[Event]) -> tuple[list[list[dict]] | None, str]:
    """(the messages of every turn, in the order of its ``turn_start`` events, or None; a
    one-line note saying how they were obtained or why they could not be)."""
    start = events[0].payload
    config = EnvConfig(**start["config"])
    labels = list(start["agents"].values())
    seen: list = []
    seats = [_Seat(i, label, events, config, seen) for i, label in enumerate(labels)]
    try:
        episode = _run(run_episode(config, seats, start["seed"], events[0].run_id))
    except Exception as exc:  # a log no replay can follow: said on the page, not raised
        return None, f"prompts not rebuilt: the replay failed ({type(exc).__name__}: {exc})"
    if (where := _parting(events, episode.events)) is not None:
        return None, f"prompts not rebuilt: the replay parts from the log at event {where}"
    note = "rebuilt from the seed: the episode replayed with the recorded replies"
    return [render_messages(obs) for obs in seen], note


def _run(job):
    """Run a coroutine from synchronous code, on its own loop in a worker thread where one is
    already running (a notebook cell), as ``run_grid`` does."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, job).result()


def _parting(recorded: list[Event], replayed: list[Event]) -> int | None:
    """The seq of the first event where the two logs differ (model calls aside), or None."""
    a = [e for e in recorded if e.kind != "llm_call"]
    b = [e for e in replayed if e.kind != "llm_call"]
    for x, y in zip(a, b):
        if (x.kind, x.round, x.agent) != (y.kind, y.round, y.agent) or (
            x.kind != "agent_reply" and x.payload != y.payload
        ):
            return x.seq
    return None if len(a) == len(b) else min(len(a), len(b))


class _Seat:
    """One seat of the replay: records what it is shown, then answers as the run did."""

    def __init__(self, i: int, label: str, events: list[Event], config: EnvConfig, seen: list):
        from ...agents.presets import scripted_agent

        seed = events[0].payload["seed"]
        self.label, self.scripted, self._seen = label, True, seen
        self._inner = scripted_agent(label, seed * 1000 + i) if is_scripted_spec(label) else None
        self._replies = None if self._inner else _recorded(f"agent_{i}", events, config)
        self.reads_state = getattr(self._inner, "reads_state", False)
        if hasattr(self._inner, "reply_now"):
            self.reply_now = self._reply_now

    async def act(self, obs) -> Turn:
        self._seen.append(obs)
        if self._inner is not None:
            return await self._inner.act(obs)
        return next(self._replies, Turn(error="the log has no more turns of this agent"))

    def _reply_now(self, obs, requester):
        reply = self._inner.reply_now(obs, requester)
        if reply is not None:
            self._seen.append(obs)
        return reply


def _recorded(agent: str, events: list[Event], config: EnvConfig) -> Iterator[Turn]:
    """The turns a model seat played, rebuilt from its replies and lost turns."""
    for e in events:
        if e.agent != agent:
            continue
        p = e.payload
        if e.kind == "agent_reply":
            yield Turn.from_reply(p["raw"] or "", config.parsing, reasoning=p.get("reasoning"))
        elif e.kind in LOST:
            raw = p.get("text")
            yield Turn(raw=raw, error=p["reason"], error_kind=e.kind, attempts=p["attempts"])
