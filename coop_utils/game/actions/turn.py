"""What an agent hands back for one turn: its actions, its thoughts, and what went wrong."""

from __future__ import annotations

from typing import Any, NamedTuple

from .kinds import Action, Issue
from .parse import parse_reply


class Turn(NamedTuple):
    """What an agent hands back for one turn (a named tuple, as an episode builds a
    thousand: docs/CONTRIBUTING.md, Conventions).

    ``error`` set means the turn was lost (e.g. the API failed after retries):
    the environment logs an ``error_kind`` event (``llm_error``, ``provider_error``
    or ``refusal``, with ``raw`` as the refusal's text) and applies nothing, so a lost
    turn is never mistaken for an agent choosing to do nothing. ``faults`` lists every
    failed attempt's reason (retried or final), so injected faults can be reconciled.
    """

    actions: tuple[Action, ...] = ()
    private_thoughts: str = ""
    raw: str | None = None
    issues: tuple[Issue, ...] = ()
    error: str | None = None
    attempts: int = 1
    calls: tuple[dict[str, Any], ...] = ()
    reasoning: str | None = None
    faults: tuple[str, ...] = ()
    error_kind: str = "llm_error"

    @classmethod
    def from_reply(cls, text: str, parsing: str = "strict", **extra: Any) -> Turn:
        """Parse a model's reply text into a turn by the ``parsing`` rule (never raises)."""
        parsed = parse_reply(text, parsing)
        return cls(parsed.actions, parsed.private_thoughts, text, parsed.issues, **extra)
