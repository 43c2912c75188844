"""What an LLM agent reads each turn: an :class:`Observation` rendered as chat messages.

The user message carries the same information as the authors' prompt, section by
section in their order (SPEC §2), in our own words; ``docs/FIDELITY.md`` says where
each rule comes from (:mod:`.render`). The format is also a contract: :func:`parse_observation` reads
the text back into an :class:`Observation`, which is how the local server (``coop
serve``) answers as a scripted agent from nothing but the request it receives, exactly
as a hosted model would. ``tests/test_prompts.py`` checks that render → parse gives the
observation back, so the two cannot drift apart.

Free text (messages, broadcasts, thoughts) is shown JSON-quoted, so a message
containing a newline or a fake section header cannot break the layout.
"""

from .authors import words
from .parse import parse_observation
from .read import SECTIONS, prompt_sections
from .render import (
    AUTO_NOTES,
    BOARD,
    COOPERATE,
    COPY_NOTE,
    DEFAULT_COMPANY,
    DIRECTORY,
    EXCHANGES,
    GOAL,
    HEADERS,
    HOW,
    INFO,
    JOINT_GOAL,
    MESSAGES,
    NONE,
    NOTICES,
    OWN,
    OWN_SCORE,
    PAST,
    POLICY_STEPS,
    PUBLIC,
    ROUND_LINE,
    SCORE_BOARD,
    TASKS,
    THOUGHTS,
    Wording,
    render_messages,
    system_message,
    user_message,
    wording,
)

__all__ = [
    "AUTO_NOTES",
    "BOARD",
    "COOPERATE",
    "COPY_NOTE",
    "DEFAULT_COMPANY",
    "DIRECTORY",
    "EXCHANGES",
    "GOAL",
    "HEADERS",
    "HOW",
    "INFO",
    "JOINT_GOAL",
    "MESSAGES",
    "NONE",
    "NOTICES",
    "OWN",
    "OWN_SCORE",
    "PAST",
    "POLICY_STEPS",
    "PUBLIC",
    "ROUND_LINE",
    "SCORE_BOARD",
    "SECTIONS",
    "TASKS",
    "THOUGHTS",
    "Wording",
    "parse_observation",
    "prompt_sections",
    "render_messages",
    "system_message",
    "user_message",
    "wording",
    "words",
]
