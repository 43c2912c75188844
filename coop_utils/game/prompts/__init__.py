"""What an LLM agent reads each turn: an :class:`Observation` rendered as chat messages.

Two layouts (``EnvConfig.prompt_layout``). ``authors``, the default (:mod:`.authors`), shows
the authors' sections, facts and arrangement in our own words, from the jinja2 templates in
``templates/``: ``authors.j2`` lays the prompt out, ``words/<variant>.j2`` holds each prompt
variant's words, so the wording changes without code. ``tagged`` (:mod:`.render`) is our
earlier layout: directory by piece, free text JSON-quoted and tagged with its round.
``docs/FIDELITY.md`` says where each rule comes from.

The format is also a contract: :func:`parse_observation` reads either layout back into an
:class:`Observation`, which is how the local server (``coop serve``) answers as a scripted
agent from nothing but the request it receives, exactly as a hosted model would
(:mod:`.read` for the authors' layout). ``tests/test_prompts.py`` checks that render → parse
gives the observation back, so they cannot drift apart. :func:`prompt_sections` names each
section of a turn's messages (``coop prompt`` prints them with their lengths).
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
