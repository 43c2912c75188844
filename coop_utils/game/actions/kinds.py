"""The four kinds of action an agent can take, and an issue with a reply.

Actions are frozen dataclasses with a ``type`` tag; :func:`action_to_dict` writes one as the
event log and the prompt's JSON name it. Semantic checks that need the game state
(unknown agent, piece not held, ...) happen in the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SendMessage:
    to: str
    content: str
    type: str = field(default="send_message", init=False)


@dataclass(frozen=True, slots=True)
class SendInformation:
    to: str
    information: tuple[str, ...]
    values: dict[str, int]
    type: str = field(default="send_information", init=False)


@dataclass(frozen=True, slots=True)
class Broadcast:
    content: str
    type: str = field(default="broadcast", init=False)


@dataclass(frozen=True, slots=True)
class SubmitTask:
    answer: str
    task_id: str | None = None
    type: str = field(default="submit_task", init=False)


Action = SendMessage | SendInformation | Broadcast | SubmitTask
ACTION_TYPES = ("send_message", "send_information", "broadcast", "submit_task")


def action_to_dict(action: Action) -> dict[str, Any]:
    d = asdict(action)
    if isinstance(action, SendInformation):
        d["information"] = list(action.information)
    if isinstance(action, SubmitTask) and action.task_id is None:
        d.pop("task_id")
    return {"type": d.pop("type"), **d}


@dataclass(frozen=True, slots=True)
class Issue:
    """Something in a reply that could not become an action, or a choice the reader made."""

    kind: str  # "parse_error" | "parse_ambiguity" | "invalid_action"
    reason: str
    raw: str
