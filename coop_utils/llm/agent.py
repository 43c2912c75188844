"""The LLM agent: render the observation, make one call, parse the reply into a turn.

It implements the same ``act(obs) -> Turn`` interface as the scripted agents, so the
environment cannot tell them apart. Everything the call produced travels in the turn:
the raw reply, the private thoughts, provider reasoning (or a ``<think>`` block, with or
without its opening tag), and the call's usage, which the environment logs as an
``llm_call`` event. A call that failed becomes a lost turn of its class (``llm_error``
after retries, ``provider_error``, ``refusal``), never an empty one and never a parse error.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..game.actions import Turn
from ..game.observation import Observation
from ..game.prompts import render_messages
from .client import ChatClient

_OPEN = re.compile(r"^\s*<think(?:ing)?>", re.IGNORECASE)
_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
LOST_AS = {"lost": "llm_error", "provider_error": "provider_error", "refusal": "refusal"}
"""The event that records a turn lost to each failure class of a completion."""


def split_think(text: str, parsing: str = "lenient") -> tuple[str | None, str]:
    """(reasoning, answer). ``lenient`` (ours): everything up to the first ``</think>`` is
    reasoning, with or without its opening tag (DeepSeek-R1's chat template opens it in the
    prompt, so the reply, and vLLM without a reasoning parser, carry only the closing tag).
    ``strict`` (the authors'): a block is cut only when the reply has both tags."""
    if parsing == "strict":
        if "<think>" not in text or "</think>" not in text:
            return None, text
        head, _, tail = text.partition("</think>")
        return head.replace("<think>", "", 1).strip(), tail
    close = _CLOSE.search(text)
    if close is None:
        if _OPEN.match(text):  # opened and never closed: all of it is a draft
            return _OPEN.sub("", text, count=1).strip(), ""
        return None, text
    return _OPEN.sub("", text[: close.start()], count=1).strip(), text[close.end() :]


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
        self.upstream_models: set[str] = set()
        """The models a gateway called for this alias (``x-litellm-model-name``)."""

    async def act(self, obs: Observation) -> Turn:
        messages = render_messages(obs)
        sample = f"{self.run_id}/{obs.agent}"
        where = f"run {self.run_id}, round {obs.round}, {obs.agent}"
        done = await self.client.complete(messages, sample, self.seed, where)
        self.cached_calls += done.from_cache
        self.live_calls += not done.from_cache
        self.upstream_models.update([done.upstream_model] if done.upstream_model else [])
        faults = done.faults
        if done.failure is not None:
            return Turn(
                raw=done.refusal,
                error=done.error or done.failure,
                error_kind=LOST_AS[done.failure],
                attempts=done.attempts,
                calls=(done.call_event(),) if done.answered else (),
                faults=faults,
            )
        thought, text = split_think(done.text or "", obs.parsing)
        reasoning = "\n".join(r for r in (done.reasoning, thought) if r) or None
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
            turn = turn._replace(issues=issues)
        return turn
