"""The four kinds of action an agent can take, and an issue with a reply.

Actions are frozen dataclasses with a ``type`` tag, which :func:`action_to_dict` writes as the
event log and the prompt's JSON name it. The tag is a class attribute, not a field: an episode
builds thousands of actions, and each field is one more slot to fill. Semantic checks that need
the game state (unknown agent, piece not held, ...) happen in the environment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class SendMessage:
    to: str
    content: str
    type: ClassVar[str] = "send_message"


@dataclass(frozen=True, slots=True)
class SendInformation:
    to: str
    information: tuple[str, ...]
    values: dict[str, int]
    type: ClassVar[str] = "send_information"


@dataclass(frozen=True, slots=True)
class Broadcast:
    content: str
    type: ClassVar[str] = "broadcast"


@dataclass(frozen=True, slots=True)
class SubmitTask:
    answer: str
    task_id: str | None = None
    type: ClassVar[str] = "submit_task"


Action = SendMessage | SendInformation | Broadcast | SubmitTask
ACTION_TYPES = ("send_message", "send_information", "broadcast", "submit_task")


def action_to_dict(action: Action) -> dict[str, Any]:
    d = asdict(action)
    if isinstance(action, SendInformation):
        d["information"] = list(action.information)
    if isinstance(action, SubmitTask) and action.task_id is None:
        d.pop("task_id")
    return {"type": action.type, **d}


@dataclass(frozen=True, slots=True)
class Issue:
    """Something in a reply that could not become an action, or a choice the reader made."""

    kind: str  # "parse_error" | "parse_ambiguity" | "invalid_action"
    reason: str
    raw: str
