"""The environment: :class:`Environment` (:mod:`.environment`: rounds and turns) over the
:class:`GameState` (:mod:`.state`: everything an episode holds, and its event log), the
rules (:mod:`.rules`: what each action does) and the view (:mod:`.view`: what an agent sees)."""

from .environment import Environment
from .rules import ANSWER_PREFIX, REQUEST_WORDS
from .state import GameState, agent_id

__all__ = ["ANSWER_PREFIX", "REQUEST_WORDS", "Environment", "GameState", "agent_id"]
