"""The LLM agent: render the observation, make one call, parse the reply into a turn.

It implements the same ``act(obs) -> Turn`` interface as the scripted agents, so the
environment cannot tell them apart. Everything the call produced travels in the turn:
the raw reply, the private thoughts, provider reasoning (or a leading ``<think>`` block),
and the call's usage, which the environment logs as an ``llm_call`` event. A call that
failed after retries becomes a lost turn (``llm_error``), never an empty one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..actions import Turn
from ..observation import Observation
from ..prompts import render_messages
from .client import ChatClient

_THINK = re.compile(r"^\s*<think(?:ing)?>(.*?)</think(?:ing)?>", re.DOTALL | re.IGNORECASE)


class LLMAgent:
    """An agent played by a chat model through a :class:`ChatClient`."""

    def __init__(self, client: ChatClient, run_id: str, seed: int | None = None):
        self.client = client
        self.label = client.profile.alias
        self.scripted = client.profile.scripted
        self.run_id = run_id
        self.seed = seed
        self.live_calls = 0
        self.cached_calls = 0

    async def act(self, obs: Observation) -> Turn:
        messages = render_messages(obs)
        done = await self.client.complete(messages, f"{self.run_id}/{obs.agent}", self.seed)
        self.cached_calls += done.from_cache
        self.live_calls += not done.from_cache
        faults = done.faults
        if done.error is not None:
            return Turn(error=done.error, attempts=done.attempts, faults=faults)
        text = done.text or ""
        reasoning = done.reasoning
        if reasoning is None and (think := _THINK.match(text)):
            reasoning = think.group(1).strip()
        turn = Turn.from_reply(
            text,
            obs.parsing,
            calls=(done.call_event(),),
            attempts=done.attempts,
            reasoning=reasoning,
            faults=faults,
        )
        if done.finish_reason == "length" and turn.issues:  # say why the JSON is broken
            cut = "reply cut off by the provider (finish_reason=length): "
            issues = tuple(replace(i, reason=cut + i.reason) for i in turn.issues)
            turn = replace(turn, issues=issues)
        return turn
