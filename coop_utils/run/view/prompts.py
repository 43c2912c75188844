"""The messages each turn's agent was sent, rebuilt from the run's seed.

No run records its prompts (the response cache keeps only a hash of each request), so the
page rebuilds them: the episode is played again from its config and seed, each model seat by
the run's own agent class answering with the call its log recorded (:class:`_Seat`), each
in-process scripted seat acting again. The replay must give back the recorded event log,
event for event; where it does not, no prompt is shown and the page says where the two
parted. :func:`turn_messages` is the one entry point, kept small so
that ``coop prompt``'s own rebuild can take its place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

from ...game.actions import Turn
from ...game.config import EnvConfig
from ...game.events import Event
from ...game.prompts import render_messages
from ...llm.agent import LOST_AS, LLMAgent
from ...llm.completion import Completion
from ..plan import is_scripted_spec
from ..runner import run_episode

LOST = tuple(LOST_AS.values())
"""Event kinds of a turn lost before any reply was read (``Turn.error_kind``)."""


def turn_messages(events: list[Event]) -> tuple[list[list[dict]] | None, str]:
    """(the messages of every turn, in the order of its ``turn_start`` events, or None; a
    one-line note saying how they were obtained or why they could not be)."""
    start = events[0].payload
    config = EnvConfig(**start["config"])
    labels = list(start["agents"].values())
    seen: list = []
    seats = [_Seat(i, label, events, seen) for i, label in enumerate(labels)]
    try:
        episode = run_episode(config, seats, start["seed"], events[0].run_id)
    except Exception as exc:  # a log no replay can follow: said on the page, not raised
        return None, f"prompts not rebuilt: the replay failed ({type(exc).__name__}: {exc})"
    if (where := _parting(events, episode.events)) is not None:
        return None, f"prompts not rebuilt: the replay parts from the log at event {where}"
    note = "rebuilt from the seed: the episode replayed with the recorded replies"
    return seen, note


def _parting(recorded: list[Event], replayed: list[Event]) -> int | None:
    """The seq of the first event where the two logs differ, or None."""
    for x, y in zip(recorded, replayed):
        if json.loads(x.to_json()) != json.loads(y.to_json()):  # as written: lists, not tuples
            return x.seq
    return None if len(recorded) == len(replayed) else min(len(recorded), len(replayed))


class _Seat:
    """One seat of the replay: records the messages it is sent, then answers as the run did.

    A model seat is the run's own :class:`~coop_utils.llm.agent.LLMAgent` over a client that
    answers each call with the completion the log recorded, so the messages are exactly those
    the agent sent and the reply is read exactly as it was; an in-process scripted seat acts
    again, and its messages are what a model in that seat would have been sent."""

    def __init__(self, i: int, label: str, events: list[Event], seen: list):
        from ...agents.base import play_as
        from ...agents.presets import scripted_agent

        seed = events[0].payload["seed"] * 1000 + i
        self._seen = seen
        if is_scripted_spec(label):
            self._inner = scripted_agent(label, seed)
        else:
            client = _RecordedClient(label, _completions(f"agent_{i}", events), seen)
            self._inner = LLMAgent(client, events[0].run_id, seed)
        play_as(self, self._inner, self._reply_now)
        self.label, self.scripted = label, True  # the log's label; a replay plays no model

    async def act(self, obs) -> Turn:
        if not isinstance(self._inner, LLMAgent):
            self._seen.append(render_messages(obs))
        return await self._inner.act(obs)

    def _reply_now(self, obs, requester):
        reply = self._inner.reply_now(obs, requester)
        if reply is not None:
            self._seen.append(render_messages(obs))
        return reply


class _RecordedClient:
    """Stands in for a ``ChatClient``: keeps the messages, answers with the recorded call."""

    def __init__(self, label: str, completions: Iterator[Completion], seen: list):
        self.profile = SimpleNamespace(alias=label, scripted=True)
        self._completions, self._seen = completions, seen

    async def complete(self, messages, sample, seed, where) -> Completion:
        self._seen.append(messages)
        lost = Completion(key="", error="the log has no more turns of this agent", failure="lost")
        return next(self._completions, lost)


def _completions(agent: str, events: list[Event]) -> Iterator[Completion]:
    """Each turn's call of a model seat as its log recorded it: the call's figures, then
    the reply, or the failure that lost the turn."""
    failure_of = {kind: failure for failure, kind in LOST_AS.items()}
    call: dict = {}
    for e in events:
        if e.agent != agent:
            continue
        p = e.payload
        if e.kind == "llm_call":
            call = dict(p)
        elif e.kind == "agent_reply":
            yield Completion.from_record(
                {"key": "", **call, "text": p["raw"] or "", "reasoning": p.get("reasoning")}
            )
            call = {}
        elif e.kind in LOST:
            failure = {
                "failure": failure_of[e.kind],
                "error": p["reason"],
                "refusal": p.get("text"),
            }
            yield Completion.from_record(
                {"key": "", **call, "attempts": p["attempts"], "faults": p["faults"], **failure}
            )
            call = {}
