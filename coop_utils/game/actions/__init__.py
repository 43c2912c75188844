"""Actions, the reading of a reply into actions, and the turn an agent hands back.

- :mod:`.kinds`: ``send_message``, ``send_information``, ``broadcast``, ``submit_task``, and
  :class:`Issue` (what a reply could not become);
- :mod:`.parse`: :func:`parse_reply`, which never raises: the authors' ``strict`` reading
  and our ``lenient`` one (``EnvConfig.parsing``), every problem or ambiguity an issue;
- :mod:`.turn`: :class:`Turn`, an agent's turn (a lost turn says so, never looks empty).
"""

from .kinds import (
    ACTION_TYPES,
    Action,
    Broadcast,
    Issue,
    SendInformation,
    SendMessage,
    SubmitTask,
    action_to_dict,
)
from .parse import PARSINGS, REPLY_KEYS, ParsedReply, object_spans, parse_action, parse_reply
from .turn import Turn

__all__ = [
    "ACTION_TYPES",
    "PARSINGS",
    "REPLY_KEYS",
    "Action",
    "Broadcast",
    "Issue",
    "ParsedReply",
    "SendInformation",
    "SendMessage",
    "SubmitTask",
    "Turn",
    "action_to_dict",
    "object_spans",
    "parse_action",
    "parse_reply",
]
