"""Agents: the interface every player implements, and the scripted policies."""

from .base import Agent, BehaviourAgent, PerfectAgent, expand_agents, scripted_agent
from .behaviour import PRESETS, BehaviourKnobs

__all__ = [
    "PRESETS",
    "Agent",
    "BehaviourAgent",
    "BehaviourKnobs",
    "PerfectAgent",
    "expand_agents",
    "scripted_agent",
]
