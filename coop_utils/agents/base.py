"""The agent interface: what the environment's runner asks of every player.

An agent is anything with a ``label`` and an async ``act(observation) -> Turn``.
Scripted agents (:mod:`.perfect`, :mod:`.behaviour`, named in :mod:`.presets`) answer in
microseconds; the LLM agent (``llm/agent.py``) implements the same interface over HTTP. An agent may also offer
``reply_now(observation, requester) -> Turn``: the runner calls it right after the
turn of a perfect requester that messaged it, which is how perfect holders fulfil
requests immediately (as in the authors' code; ``instant_replies="to_anyone"`` extends it to every
requester, with ``requester=None``). An agent whose turns never wait (no network, no
file: the scripted ones) says so with ``in_process = True``; the runner then pauses Python's
garbage collector for the episode (``run/runner.py``), which is only safe for such agents: a
subclass of a scripted agent whose ``act`` awaits anything must set it back to False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..game.actions import Turn
from ..game.observation import Observation


@runtime_checkable
class Agent(Protocol):
    label: str
    scripted: bool
    """True for a scripted policy (in process or served by ``coop serve``): its results
    describe the machinery, never a model's behaviour."""

    async def act(self, obs: Observation) -> Turn: ...


def play_as(wrapper: Any, agent: Any, reply_now: Callable[..., Turn | None] | None = None) -> None:
    """Give ``wrapper`` what the runner reads of ``agent``: its ``label``, ``scripted``,
    ``reads_state`` and ``in_process`` (False where the agent says nothing), and
    ``reply_now`` (the wrapper's own method, given here) only if the agent answers at once.
    A wrapper that watches or records an agent calls it, so the runner plays it as the agent."""
    wrapper.label = agent.label
    wrapper.scripted = getattr(agent, "scripted", False)
    wrapper.reads_state = getattr(agent, "reads_state", False)
    wrapper.in_process = getattr(agent, "in_process", False)
    if reply_now is not None and hasattr(agent, "reply_now"):
        wrapper.reply_now = reply_now
