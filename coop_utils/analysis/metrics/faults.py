"""What went wrong, and what it cost: unreadable replies, invalid actions, lost turns,
retries, refusals, manipulated values, token and cost totals."""

from __future__ import annotations

import re

from .log import Events, as_log, events_of

USAGE_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
)
"""Usage totals summed over ``llm_call`` events."""


def invalid_actions(events: Events) -> int:
    """``invalid_action`` events: actions the environment rejected (unknown agent or piece,
    piece not held, missing value, a submission without every piece, ...)."""
    return len(events_of(events, "invalid_action"))


def parse_errors(events: Events) -> int:
    """``parse_error`` events: replies (or parts of them) that could not be read as JSON."""
    return len(events_of(events, "parse_error"))


def parse_ambiguities(events: Events) -> int:
    """``parse_ambiguity`` events: replies the reader could read more than one way (several
    JSON objects, stray braces, trailing commas) and read by its documented rule."""
    return len(events_of(events, "parse_ambiguity"))


REJECTION_RULES: tuple[tuple[str, str], ...] = (
    ("submission matches no task", "equal no open task|does not name every piece"),
    ("submission lacks pieces", r"^task_\d+: you do not hold"),
    ("recipient not an agent id", "unknown agent|cannot address yourself"),
    ("repeat send", "already sent"),
    ("value missing or mismatched", "value"),
    ("piece not held", "you do not hold|no such piece|unknown piece"),
    ("malformed action", ""),
)
"""The strict rules an ``invalid_action`` can break, each with a regex for the reasons that
name it, tried in order (the last, empty, catches the parser's remaining shape checks)."""


def rejection_rule(reason: str) -> str:
    """The rule of :data:`REJECTION_RULES` an ``invalid_action`` reason names."""
    return next(rule for rule, pattern in REJECTION_RULES if re.search(pattern, reason))


def rejections(events: Events) -> dict[str, int]:
    """Turns in which each rule rejected something: every rule of :data:`REJECTION_RULES`,
    plus ``unreadable reply`` (a ``parse_error``) and ``ambiguous reply`` (a
    ``parse_ambiguity``: read by the documented rule, nothing rejected). A turn that broke
    one rule twice counts once for it."""
    turns: dict[str, set[int]] = {rule: set() for rule, _ in REJECTION_RULES}
    turns |= {"unreadable reply": set(), "ambiguous reply": set()}
    for e in events_of(events, "invalid_action", "parse_error", "parse_ambiguity"):
        if e.kind == "invalid_action":
            rule = rejection_rule(e.payload["reason"])
        else:
            rule = "unreadable reply" if e.kind == "parse_error" else "ambiguous reply"
        turns[rule].add(e.turn)
    return {rule: len(t) for rule, t in turns.items()}


def lost_turns(events: Events) -> int:
    """``llm_error`` events: turns lost to the API after retries (nothing was applied)."""
    return len(events_of(events, "llm_error"))


def provider_errors(events: Events) -> int:
    """``provider_error`` events: turns lost to the provider, not the model (an error inside a
    200 reply, moderation, context length, content that is not text)."""
    return len(events_of(events, "provider_error"))


def refusals(events: Events) -> int:
    """``refusal`` events: turns the model (or its provider's filter) declined to answer."""
    return len(events_of(events, "refusal"))


def retried_attempts(events: Events) -> int:
    """Attempts beyond the first, summed over ``llm_call`` and ``llm_error`` events (every
    turn that called a model logs exactly one of the two)."""
    return sum(
        max(int(e.payload.get("attempts") or 1) - 1, 0)
        for e in events_of(events, "llm_call", "llm_error")
    )


FAULT_FIELDS: tuple[str, ...] = (
    "retried_attempts",
    "lost_turns",
    "parse_errors",
    "invalid_actions",
    "provider_errors",
    "refusals",
)
"""The one vocabulary of faults, in this order, in summaries, the console and grid results."""


def agent_turns(events: Events) -> int:
    """Agent turns: ``agent_reply`` plus lost turns of every class (``llm_error``,
    ``provider_error``, ``refusal``), instant replies included."""
    return len(events_of(events, "agent_reply", "llm_error", "provider_error", "refusal"))


def lost_turn_share(events: Events) -> float:
    """:func:`lost_turns` ÷ :func:`agent_turns` (a fraction, 0–1); 0 when there were no turns."""
    evs = as_log(events)
    n = agent_turns(evs)
    return lost_turns(evs) / n if n else 0.0


def manipulated_values(events: Events) -> int:
    """``transfer`` events with ``manipulated == True`` (value sent ≠ true value)."""
    return sum(1 for e in events_of(events, "transfer") if e.payload.get("manipulated"))


def llm_usage(events: Events) -> dict[str, float]:
    """``llm_calls`` and the totals of :data:`USAGE_FIELDS` over ``llm_call`` events
    (a missing or null field counts as 0)."""
    calls = events_of(events, "llm_call")
    out: dict[str, float] = {"llm_calls": len(calls)}
    for field in USAGE_FIELDS:
        out[field] = sum(float(e.payload.get(field) or 0) for e in calls)
    return out
