"""Typed actions and the reply parser.

A model's reply is one JSON object ``{"actions": [...], "private_thoughts": "..."}``.
``parse_reply`` never raises: whatever it cannot read becomes an :class:`Issue`
(``parse_error`` for the reply as a whole, ``invalid_action`` for one action),
which the environment logs as an event. Semantic checks that need the game
state (unknown agent, piece not held, ...) happen in the environment.
"""

from __future__ import annotations

import json
import re
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
    """Something in a reply that could not become an action."""

    kind: str  # "parse_error" | "invalid_action"
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class ParsedReply:
    actions: tuple[Action, ...]
    private_thoughts: str
    issues: tuple[Issue, ...]


_THINK = re.compile(r"^\s*<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _strip(text: str) -> str:
    text = _THINK.sub("", text, count=1).strip()
    fenced = _FENCE.search(text)
    return fenced.group(1).strip() if fenced else text


def _first_object(text: str) -> Any:
    """Decode the first JSON value that starts at a '{' in ``text``."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            return decoder.raw_decode(text, start)[0]
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    raise ValueError("no JSON object found")


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    return None


def _str_field(item: dict, key: str) -> str:
    v = item.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"'{key}' must be a non-empty string")
    return v.strip()


def _recipient(item: dict) -> str:
    v = item.get("to", item.get("recipient"))
    if isinstance(v, int) and not isinstance(v, bool):
        return f"agent_{v}"
    return _str_field({"to": v}, "to")


def parse_action(item: Any) -> Action:
    """One action from its JSON form; raises ValueError with a reason."""
    if not isinstance(item, dict):
        raise ValueError("an action must be a JSON object")
    kind = item.get("type", item.get("action"))
    if kind == "send_message":
        return SendMessage(_recipient(item), _str_field(item, "content"))
    if kind == "broadcast":
        return Broadcast(_str_field(item, "content"))
    if kind == "submit_task":
        task_id = item.get("task_id")
        return SubmitTask(_str_field(item, "answer"), task_id if isinstance(task_id, str) else None)
    if kind == "send_information":
        info = item.get("information", item.get("pieces"))
        if isinstance(info, str):
            info = [info]
        if not isinstance(info, list) or not info or not all(isinstance(p, str) for p in info):
            raise ValueError("'information' must be a non-empty list of piece names")
        raw_values = item.get("values", {})
        if not isinstance(raw_values, dict):
            raise ValueError("'values' must be an object mapping piece name to integer")
        values = {}
        for name, v in raw_values.items():
            iv = _as_int(v)
            if iv is None:
                raise ValueError(f"value for {name!r} must be an integer, got {v!r}")
            values[str(name)] = iv
        return SendInformation(_recipient(item), tuple(p.strip() for p in info), values)
    raise ValueError(f"unknown action type {kind!r}; expected one of {', '.join(ACTION_TYPES)}")


def parse_reply(text: Any) -> ParsedReply:
    """Parse a model reply; never raises. Problems come back as issues."""
    raw = text if isinstance(text, str) else repr(text)
    if not isinstance(text, str) or not text.strip():
        return ParsedReply((), "", (Issue("parse_error", "empty reply", raw),))
    try:
        obj = _first_object(_strip(text))
    except (ValueError, RecursionError) as exc:
        return ParsedReply((), "", (Issue("parse_error", f"not JSON: {exc}", raw),))
    if not isinstance(obj, dict):
        return ParsedReply((), "", (Issue("parse_error", "reply is not a JSON object", raw),))
    issues: list[Issue] = []
    thoughts = obj.get("private_thoughts", "")
    if not isinstance(thoughts, str):
        thoughts = json.dumps(thoughts) if thoughts is not None else ""
    if "private_thoughts" not in obj:
        issues.append(Issue("parse_error", "missing 'private_thoughts'", raw))
    items = obj.get("actions", [])
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        issues.append(Issue("parse_error", "'actions' must be a list", raw))
        items = []
    actions: list[Action] = []
    for item in items:
        try:
            actions.append(parse_action(item))
        except (ValueError, TypeError) as exc:
            issues.append(Issue("invalid_action", str(exc), _dump(item)))
    return ParsedReply(tuple(actions), thoughts, tuple(issues))


def _dump(item: Any) -> str:
    try:
        return json.dumps(item)
    except (TypeError, ValueError):
        return repr(item)


@dataclass(frozen=True, slots=True)
class Turn:
    """What an agent hands back for one turn.

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
    def from_reply(cls, text: str, **extra: Any) -> Turn:
        """Parse a model's reply text into a turn (never raises)."""
        parsed = parse_reply(text)
        return cls(parsed.actions, parsed.private_thoughts, text, parsed.issues, **extra)
