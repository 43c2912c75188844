"""The reply parser: a model's text into actions, every problem an :class:`Issue`.

A model's reply is one JSON object ``{"actions": [...], "private_thoughts": "..."}``.
``parse_reply`` never raises: whatever it cannot read becomes an :class:`Issue`
(``parse_error`` for the reply as a whole, ``invalid_action`` for one action,
``parse_ambiguity`` when the reply could be read more than one way and a rule chose),
which the environment logs as an event. Semantic checks that need the game state
(unknown agent, piece not held, ...) happen in the environment.

Two readings (``EnvConfig.parsing``), each one documented rule, both in linear time:

- ``strict``, the authors' reading: cut everything up to a ``</think>`` when the reply has
  both think tags; drop one leading code fence and one trailing fence; decode the rest as
  JSON, or else the balanced object that starts at the first ``{``. Actions need the key
  ``"action"``, a string ``"to"``, a list ``"information"`` and a ``"values"`` object with a
  number for exactly the pieces sent.
- ``lenient``, ours: strip a leading think block; among the top-level JSON objects anywhere
  in the reply, read the last one that looks like a reply (has ``"actions"``,
  ``"private_thoughts"`` or ``"action"``), repairing trailing commas; accept ``"type"`` for
  ``"action"``, agent numbers, a single piece name, numeric strings and missing values.

A reply holding more than one top-level object is ambiguous under either rule: the object
read and the number ignored are recorded as a ``parse_ambiguity``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ..observation import ANSWER_PREFIX
from .kinds import ACTION_TYPES, Action, Broadcast, Issue, SendInformation, SendMessage, SubmitTask


@dataclass(frozen=True, slots=True)
class ParsedReply:
    actions: tuple[Action, ...]
    private_thoughts: str
    issues: tuple[Issue, ...]


PARSINGS = ("strict", "lenient")
REPLY_KEYS = ("actions", "private_thoughts", "action")
"""A JSON object with one of these keys looks like a reply (lenient reading)."""

_LEADING_THINK = re.compile(r"^\s*<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_TOKEN = re.compile(r'\{\}|\{+|\}+|"')
_STRING_TAIL = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
"""The rest of a JSON string after its opening quote, up to and including the closing one."""
_REPLY_KEY = re.compile("|".join(f'"{k}"' for k in REPLY_KEYS))
_TRAILING_COMMA = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|,(\s*[}\]])', re.DOTALL)


def object_spans(text: str) -> tuple[list[tuple[int, int]], int]:
    """``(start, end)`` of every top-level balanced ``{...}`` in ``text``, in order, and the
    number of ``{`` that never close; one pass.

    Quotes open strings only inside braces (prose may hold stray quotes), so a brace inside
    a JSON string does not count. "Top-level" means contained in no other *closed* span: an
    object after a ``{`` that never closes is still found. Linear in ``len(text)``: the scan
    jumps from brace to quote with compiled regexes, and each span is recorded once.
    """
    closed: list[tuple[int, int, int]] = []  # (start, end, start of the enclosing '{' or -1)
    stack: list[int] = []
    pos, search, tail, find = 0, _TOKEN.search, _STRING_TAIL.match, text.find
    while True:
        if not stack and (pos := find("{", pos)) < 0:
            break  # between objects only a '{' matters: jump to the next one
        if not (m := search(text, pos)):
            break
        start, pos = m.span()
        ch = text[start : start + 2]
        if ch == "{}":  # an empty object, the commonest case in brace noise
            closed.append((start, pos, stack[-1] if stack else -1))
        elif ch[0] == "{":
            stack.extend(range(start, pos))  # a run of braces at once
        elif ch[0] == "}":
            for end in range(start + 1, pos + 1):
                if not stack:
                    pos = end  # the rest of the run closes nothing
                    break
                opened = stack.pop()
                closed.append((opened, end, stack[-1] if stack else -1))
        else:  # a quote inside braces opens a string
            if not (rest := tail(text, pos)):
                break  # an unterminated string: nothing after it can close
            pos = rest.end()
    unclosed = set(stack)
    # Braces close innermost first, so a span whose parent never closed has no closed ancestor;
    # such spans are disjoint and were closed in order of their starts.
    spans = [(a, b) for a, b, parent in closed if parent == -1 or parent in unclosed]
    return spans, len(stack)


def _keyed(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans holding a reply key (``"actions"``, ...): one regex pass and one sweep."""
    keys = [m.start() for m in _REPLY_KEY.finditer(text)]
    out, k = [], 0
    for a, b in spans:
        while k < len(keys) and keys[k] < a:
            k += 1
        if k < len(keys) and keys[k] < b:
            out.append((a, b))
    return out


def _decode(text: str) -> Any:
    return json.loads(text)


def _strict_text(text: str) -> str:
    """The authors' clean-up: think cut, one leading and one trailing fence dropped."""
    text = text.strip()
    if "<think>" in text and "</think>" in text:
        text = text[text.find("</think>") + len("</think>") :].strip()
    for fence in ("```json", "```"):
        if text.startswith(fence):
            text = text[len(fence) :]
    if text.endswith("```"):
        text = text[:-3]
    return text.strip()


def _read_strict(text: str, raw: str) -> tuple[Any, list[Issue]]:
    """Returns the decoded value (or raises ValueError with the reason) and any ambiguity."""
    text = _strict_text(text)
    try:
        return _decode(text), []
    except (ValueError, RecursionError):
        pass
    spans, _ = object_spans(text)
    first = text.find("{")
    chosen = next((s for s in spans if s[0] == first), None)
    if chosen is None:
        later = f"; {len(spans)} later object(s) ignored" if spans else ""
        raise ValueError(f"no complete JSON object from the first '{{'{later}")
    issues = []
    if len(spans) > 1:
        issues.append(
            Issue(
                "parse_ambiguity",
                f"{len(spans)} JSON objects in the reply; the first was read (strict reading)",
                raw,
            )
        )
    try:
        return _decode(text[chosen[0] : chosen[1]]), issues
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def _remove_trailing_commas(text: str) -> str:
    return _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)


def _read_lenient(text: str, raw: str) -> tuple[Any, list[Issue]]:
    text = _LEADING_THINK.sub("", text, count=1).strip()
    try:
        return _decode(text), []
    except (ValueError, RecursionError):
        pass
    spans, unclosed = object_spans(text)
    if not spans:
        raise ValueError("no JSON object found")
    keyed = _keyed(text, spans)  # only these can look like a reply; the others stay undecoded
    issues: list[Issue] = []
    if unclosed:
        issues.append(Issue("parse_ambiguity", f"{unclosed} '{{' that never close ignored", raw))
    for start, end in reversed(keyed or spans[-1:]):
        piece = text[start:end]
        try:
            value = _decode(piece)
        except (ValueError, RecursionError):
            try:
                value = _decode(_remove_trailing_commas(piece))
            except (ValueError, RecursionError):
                continue
            issues.append(Issue("parse_ambiguity", "trailing comma(s) ignored", raw))
        if not isinstance(value, dict) or (keyed and not any(k in value for k in REPLY_KEYS)):
            continue
        if len(spans) > 1:
            n = sum(1 for s in keyed if s[0] < start)
            which = "the last object that looks like a reply" + (
                f" ({n} earlier ignored)" if n else ""
            )
            issues.append(
                Issue(
                    "parse_ambiguity",
                    f"{len(spans)} JSON objects in the reply; read {which} (lenient reading)",
                    raw,
                )
            )
        return value, issues
    last = text[spans[-1][0] : spans[-1][1]]
    try:
        _decode(last)
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None
    raise ValueError("no JSON object with 'actions' found")


def _number(v: Any) -> int | None:
    """A JSON number as an integer (a float is truncated, as the authors' code did)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return int(v)
    return None


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


def _text(item: dict, key: str) -> str:
    """Strict: the key must be present and hold text (an empty text is allowed)."""
    if key not in item:
        raise ValueError(f"missing '{key}'")
    v = item[key]
    if not isinstance(v, str):
        raise ValueError(f"'{key}' must be a string, got {type(v).__name__}")
    return v


def _answer(item: dict, strict: bool) -> str:
    """The answer text; a list of names is read as the answer naming them."""
    v = item.get("answer")
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return f"{ANSWER_PREFIX} " + ", ".join(x.strip() for x in v)
    return _text(item, "answer") if strict else _str_field(item, "answer")


def _strict_values(item: dict, info: list[str]) -> dict[str, int]:
    """The authors' checks: a number for every piece sent, and for no other piece."""
    raw = item["values"] if "values" in item else None
    if not isinstance(raw, dict):
        raise ValueError("'values' must be an object mapping each piece sent to its value")
    values = {}
    for name in info:
        if name not in raw:
            raise ValueError(f"no value given for {name!r} (a value is required per piece)")
        v = raw[name]
        if isinstance(v, dict) and "value" in v:
            v = v["value"]
        if (iv := _number(v)) is None:
            raise ValueError(f"value for {name!r} must be a number, got {v!r}")
        values[name] = iv
    for name in raw:
        if name not in info:
            raise ValueError(f"a value is given for {name!r}, which is not in 'information'")
    return values


def parse_action(item: Any, parsing: str = "strict") -> Action:
    """One action from its JSON form; raises ValueError with a reason."""
    if not isinstance(item, dict):
        raise ValueError("an action must be a JSON object")
    strict = parsing == "strict"
    if strict and "action" not in item:
        hint = " (the type goes under 'action', not 'type')" if "type" in item else ""
        raise ValueError(f"missing 'action'{hint}")
    kind = item.get("action") if strict else item.get("type", item.get("action"))
    if kind == "send_message":
        if strict:
            return SendMessage(_text(item, "to"), _text(item, "content"))
        return SendMessage(_recipient(item), _str_field(item, "content"))
    if kind == "broadcast":
        return Broadcast(_text(item, "content") if strict else _str_field(item, "content"))
    if kind == "submit_task":
        task_id = item.get("task_id")
        return SubmitTask(_answer(item, strict), task_id if isinstance(task_id, str) else None)
    if kind == "send_information":
        if strict:
            to, info = _text(item, "to"), item.get("information")
            if not isinstance(info, list) or not info or not all(isinstance(p, str) for p in info):
                raise ValueError("'information' must be a non-empty list of piece names")
            return SendInformation(to, tuple(info), _strict_values(item, info))
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


def parse_reply(text: Any, parsing: str = "strict") -> ParsedReply:
    """Parse a model reply by the ``parsing`` rule ("strict" or "lenient"); never raises."""
    if parsing not in PARSINGS:
        raise ValueError(f"unknown parsing {parsing!r}; choose one of {', '.join(PARSINGS)}")
    raw = text if isinstance(text, str) else repr(text)
    if not isinstance(text, str) or not text.strip():
        return ParsedReply((), "", (Issue("parse_error", "empty reply", raw),))
    read = _read_strict if parsing == "strict" else _read_lenient
    try:
        obj, issues = read(text, raw)
    except ValueError as exc:
        return ParsedReply((), "", (Issue("parse_error", f"not JSON: {exc}", raw),))
    if not isinstance(obj, dict):
        issues.append(Issue("parse_error", "reply is not a JSON object", raw))
        return ParsedReply((), "", tuple(issues))
    thoughts = obj.get("private_thoughts")
    if not isinstance(thoughts, str):  # missing or null: "", anything else: its JSON
        thoughts = json.dumps(thoughts) if thoughts is not None else ""
    if "private_thoughts" not in obj:
        issues.append(Issue("parse_error", "missing 'private_thoughts'", raw))
    if "actions" in obj:
        items = obj["actions"]
        if isinstance(items, dict) and parsing == "lenient":
            items = [items]
        if not isinstance(items, list):
            issues.append(Issue("parse_error", "'actions' must be a list", raw))
            items = []
    elif "action" in obj:  # a single action at the top level, which both readings accept
        items = [obj]
    else:
        issues.append(Issue("parse_error", "missing 'actions'", raw))
        items = []
    actions: list[Action] = []
    for item in items:
        try:
            actions.append(parse_action(item, parsing))
        except (ValueError, TypeError) as exc:
            issues.append(Issue("invalid_action", str(exc), json.dumps(item)))  # decoded: dumps
    return ParsedReply(tuple(actions), thoughts, tuple(issues))
