"""The environment: :class:`Environment` (:mod:`.environment`: state, rounds, what an agent
sees) and its rules (:mod:`.rules`: what each action does)."""

from .environment import Environment, agent_id
from .rules import ANSWER_PREFIX, REQUEST_WORDS

__all__ = ["ANSWER_PREFIX", "REQUEST_WORDS", "Environment", "agent_id"]
