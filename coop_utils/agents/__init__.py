"""Agents: the interface every player implements, and the scripted policies.

- :mod:`.base`: the :class:`Agent` interface the runner drives;
- :mod:`.perfect`: perfect play, the 100% ceiling;
- :mod:`.behaviour`: a behaviour agent with answer/request/submit/alter probabilities;
- :mod:`.presets`: named behaviours that mimic the paper's diagnoses, and agent specs;
- :mod:`.narration`: first-person private thoughts for a scripted decision, which the
  local server (``llm/local``) sends back as a model would.

Scripted agents read an :class:`~coop_utils.game.observation.Observation` and return a
:class:`~coop_utils.game.actions.Turn`; they import only the game. Models as agents live
in ``llm/`` (:class:`~coop_utils.llm.agent.LLMAgent`).
"""

from .base import Agent, play_as
from .behaviour import (
    BehaviourAgent,
    BehaviourKnobs,
    Hold,
    Plan,
    behaviour_plan,
    behaviour_policy,
    stated_reasons,
)
from .narration import narrate, summarise
from .perfect import PerfectAgent, open_requests, perfect_policy, perfect_reply_now
from .presets import PRESETS, expand_agents, scripted_agent

__all__ = [
    "PRESETS",
    "Agent",
    "BehaviourAgent",
    "BehaviourKnobs",
    "Hold",
    "PerfectAgent",
    "Plan",
    "behaviour_plan",
    "behaviour_policy",
    "expand_agents",
    "narrate",
    "open_requests",
    "perfect_policy",
    "play_as",
    "perfect_reply_now",
    "scripted_agent",
    "stated_reasons",
    "summarise",
]
