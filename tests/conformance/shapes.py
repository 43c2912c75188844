"""What every conformance scenario is built from: the request as received, a chat completion
in OpenAI's shape carrying the scripted cooperator's answer, and OpenAI's error shape.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from coop_utils.llm.local.app import read_messages
from coop_utils.llm.local.replies import decide, reply_text

Answer = tuple[int, Any, dict[str, str]]
"""(status, body as JSON-able object or raw bytes, headers)."""


@dataclass
class Call:
    """One request as received: the scenario, the JSON body, its position in the scenario."""

    scenario: str
    body: dict[str, Any]
    n: int
    authorization: str = field(repr=False, default="")
    path: str = field(repr=False, default="")
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    """The request's other headers (``authorization`` apart), lower-cased."""


def cooperator_answer(body: dict[str, Any]) -> tuple[str, int]:
    """The cooperator's reply to the prompt and the prompt's size in (estimated) tokens."""
    messages = read_messages(body)
    chars = sum(len(m["content"]) for m in messages)
    return reply_text(decide("cooperator", messages, 0)), math.ceil(chars / 4)


def completion(
    body: dict[str, Any],
    content: Any = None,
    usage: dict[str, Any] | None = None,
    finish: str = "stop",
    **message: Any,
) -> dict[str, Any]:
    """A chat.completion in OpenAI's shape; ``content`` defaults to the genuine answer."""
    answer, prompt = cooperator_answer(body)
    content = answer if content is None else content
    out = math.ceil(len(str(content)) / 4)
    base_usage = {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}
    return {
        "id": "chatcmpl-conformance",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish,
            }
        ],
        "usage": {**base_usage, **(usage or {})},
    }


def error_answer(status: int, message: str, kind: str, code: Any = None, **headers: str) -> Answer:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    return (
        status,
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        headers,
    )


def ok_answer(body: dict, **kw: Any) -> Answer:
    return 200, completion(body, **kw), {}
