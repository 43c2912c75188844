"""The agent interface and the scripted agents behind it.

An agent is anything with a ``label`` and an async ``act(observation) -> Turn``.
Scripted agents answer in microseconds; the LLM agent (``llm/agent.py``)
implements the same interface over HTTP. An agent may also offer
``reply_now(observation, requester) -> Turn``: the runner calls it right after the
turn of a perfect requester that messaged it, which is how perfect holders fulfil
requests immediately (SPEC §3; ``instant_replies="to_anyone"`` extends it to every
requester, with ``requester=None``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..game.actions import Turn
from ..game.observation import Observation
from .behaviour import PRESETS, BehaviourKnobs, behaviour_policy, perfect_policy, perfect_reply_now


@runtime_checkable
class Agent(Protocol):
    label: str
    scripted: bool
    """True for a scripted policy (in process or served by ``coop serve``): its results
    describe the machinery, never a model's behaviour."""

    async def act(self, obs: Observation) -> Turn: ...


class PerfectAgent:
    """Perfect play (SPEC §3), defining 100% of optimal."""

    reads_state = True
    """Perfect play sees its whole history even where the prompt is truncated (the ceiling is
    about the game, not about what fits in a prompt)."""

    def __init__(self, instant_reply: bool = True):
        self.label = "perfect"
        self.scripted = True
        self.instant_reply = instant_reply

    async def act(self, obs: Observation) -> Turn:
        actions, thoughts = perfect_policy(obs)
        return Turn(tuple(actions), thoughts)

    def reply_now(self, obs: Observation, requester: str | None = None) -> Turn | None:
        """Answer this round's requests at once: ``requester``'s, or everyone's when None."""
        if not self.instant_reply:
            return None
        actions = perfect_reply_now(obs, requester)
        return Turn(tuple(actions), "") if actions else None


class BehaviourAgent:
    """A scripted agent with explicit answer/request/submit/alter probabilities."""

    def __init__(self, knobs: BehaviourKnobs, seed: int, label: str = "behaviour"):
        self.knobs, self.seed, self.label = knobs, seed, label
        self.scripted = True

    async def act(self, obs: Observation) -> Turn:
        actions, thoughts = behaviour_policy(obs, self.knobs, self.seed)
        return Turn(tuple(actions), thoughts)


def scripted_agent(spec: str, seed: int) -> Agent:
    """'perfect', a preset name ('withholder', ...), or 'behaviour:p_answer=0.3:p_request=1'."""
    if spec == "perfect":
        return PerfectAgent()
    if spec in PRESETS:
        return BehaviourAgent(PRESETS[spec], seed, label=spec)
    if spec.startswith("behaviour"):
        knobs = BehaviourKnobs.parse(spec.partition(":")[2])
        return BehaviourAgent(knobs, seed, label=spec)
    raise ValueError(
        f"unknown agent {spec!r}; use 'perfect', a preset ({', '.join(PRESETS)}), "
        "'behaviour:KNOB=V:KNOB=V' or a model alias from the models file"
    )


def expand_agents(spec: str, n_agents: int) -> list[str]:
    """'perfect' -> n copies; '5*withholder,5*perfect' or 'a,b,...' -> one spec per agent."""
    parts = [s.strip() for s in spec.split(",") if s.strip()]
    specs: list[str] = []
    for part in parts:
        count, star, name = part.partition("*")
        if star and count.strip().isdigit():
            specs += [name.strip()] * int(count)
        else:
            specs.append(part)
    if len(specs) == 1:
        specs *= n_agents
    if len(specs) != n_agents:
        raise ValueError(f"agents {spec!r} give {len(specs)} agents but the run has {n_agents}")
    return specs
