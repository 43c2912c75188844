"""The local server's HTTP side: an OpenAI-compatible chat API over scripted policies.

Why it exists: our machines have no API keys and no internet, yet the LLM path (prompt
rendering, HTTP, retries, reply parsing, usage accounting) must be exercised for real in
tests, CI and the offline default. This server stands in for a hosted model: each chat
request is answered as :mod:`.replies` decides, possibly replaced by a fault
(:mod:`.faults`), and every outcome is counted, so a test can reconcile exactly what the
client saw with what the server did: ``requests == served + sum(injected) + sum(errors)``.
Nothing is logged per request: grids send thousands. Routes: ``POST /v1/chat/completions``,
``GET /v1/models``, and ``/control/stats``, ``/control/faults``, ``/control/reset`` for tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import FAULT_KINDS, MALFORMED_TEXT, FaultSettings
from .replies import (
    MODEL_PREFIX,
    UnknownModel,
    accepted,
    decide,
    model_ids,
    reply_text,
    resolve_model,
    responder,
)

__all__ = ["ServerState", "completion_body", "create_app", "read_messages"]

ERROR_CODES = ("400", "404")


# ---- state and counters -------------------------------------------------------------------------


class ServerState:
    """Settings, the fault generators and the counters; safe to read from another thread."""

    def __init__(
        self,
        faults: FaultSettings | None = None,
        reasoning: bool = False,
        responders: Mapping[str, str] | None = None,
    ):
        self.reasoning = reasoning
        self.responders = dict(responders or {})
        """Scripted stand-ins beside the policies: model name -> ``module:function``."""
        self._lock = threading.Lock()
        self._faults = faults or FaultSettings()
        self._seed_generators(self._faults.fault_seed)
        self._zero()

    def _seed_generators(self, seed: int) -> None:
        self._fault_rng = random.Random(seed)
        self._jitter_rng = random.Random(f"jitter-{seed}")

    def _zero(self) -> None:
        self._requests = 0
        self._served = 0
        self._injected = dict.fromkeys(FAULT_KINDS, 0)
        self._errors = dict.fromkeys(ERROR_CODES, 0)
        self._by_model: dict[str, int] = {}

    @property
    def faults(self) -> FaultSettings:
        return self._faults

    def set_faults(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Apply a subset of the fault fields (others keep their values); validates first."""
        with self._lock:
            new = self._faults.updated(changes)
            self._faults = new
            if "fault_seed" in changes:
                self._seed_generators(new.fault_seed)
        return new

    def delay(self) -> float:
        f = self._faults
        if not f.latency_jitter_s:
            return f.latency_s
        with self._lock:
            return f.latency_s + self._jitter_rng.uniform(0.0, f.latency_jitter_s)

    def arrived(self) -> None:
        with self._lock:
            self._requests += 1

    def errored(self, status: int) -> None:
        with self._lock:
            key = str(status)
            self._errors[key] = self._errors.get(key, 0) + 1

    def outcome(self, model: str) -> tuple[str | None, FaultSettings]:
        """Count a valid request for ``model`` and draw its fault (None = a normal reply),
        returned with the settings it was drawn under."""
        with self._lock:
            self._by_model[model] = self._by_model.get(model, 0) + 1
            fault = self._faults.draw(self._fault_rng.random())
            if fault is None:
                self._served += 1
            else:
                self._injected[fault] += 1
            return fault, self._faults

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "served": self._served,
                "injected": dict(self._injected),
                "by_model": dict(self._by_model),
                "errors": dict(self._errors),
            }

    def reset(self) -> dict[str, Any]:
        with self._lock:
            self._zero()
        return self.stats()


# ---- HTTP ---------------------------------------------------------------------------------------


def _error(
    status: int, message: str, kind: str, code: str | None, headers: dict | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _bad_request(message: str, code: str | None = None) -> JSONResponse:
    return _error(400, message, "invalid_request_error", code)


def _tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def _content_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def read_messages(body: Mapping[str, Any]) -> list[dict[str, str]]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw or not all(isinstance(m, dict) for m in raw):
        raise ValueError("'messages' must be a non-empty list of message objects")
    return [
        {"role": str(m.get("role", "")), "content": _content_text(m.get("content"))} for m in raw
    ]


def _request_id(model: str, seed: int, messages: list[dict[str, str]]) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{model}\0{seed}".encode())
    for m in messages:
        h.update(f"\0{m['role']}\0{m['content']}".encode())
    return "chatcmpl-" + h.hexdigest()


def completion_body(
    model: str,
    request_id: str,
    content: str,
    prompt_chars: int,
    finish_reason: str = "stop",
    reasoning: str | None = None,
) -> dict[str, Any]:
    """A standard ``chat.completion`` object with token counts estimated as ceil(chars / 4)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    prompt_tokens, completion_tokens = _tokens(prompt_chars), _tokens(len(content))
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


@dataclass(frozen=True, slots=True)
class _Valid:
    """A chat request that passed validation, with the policy's decision."""

    model: str
    request_id: str
    prompt_chars: int
    content: str
    summary: str


def _validate(body: Any, responders: Mapping[str, str]) -> _Valid | JSONResponse:
    """The decision for a request body, or the 400/404 response explaining why there is none."""
    if not isinstance(body, dict):
        return _bad_request("the request body must be a JSON object")
    if body.get("stream"):
        return _bad_request(
            "streaming is not supported by this server; send the request with stream=false",
            "unsupported_parameter",
        )
    model, seed = body.get("model"), body.get("seed", 0)
    if seed is None:
        seed = 0
    if not isinstance(model, str) or not model:
        return _bad_request("'model' must be a non-empty string; " + accepted(responders))
    if isinstance(seed, bool) or not isinstance(seed, int):
        return _bad_request(f"'seed' must be an integer, got {seed!r}", "invalid_seed")
    stand_in = responders.get(model.removeprefix(MODEL_PREFIX))
    try:
        if stand_in is None:
            resolve_model(model)
    except UnknownModel as exc:
        hint = (
            "; a scripted stand-in such as the thought judge is served only by a server started"
            " with it: `coop serve` starts the judge, or LocalServer(responders=STAND_INS) with"
            " coop_utils.analysis.thoughts.judge.STAND_INS"
        )
        return _error(404, f"{exc}{hint}", "invalid_request_error", "model_not_found")
    try:
        messages = read_messages(body)
        if stand_in is not None:
            content, summary = responder(stand_in)(messages)
        else:
            decision = decide(model, messages, seed)
            content, summary = reply_text(decision), decision.summary
    except ValueError as exc:
        return _bad_request(f"cannot answer this request: {exc}", "invalid_prompt")
    chars = sum(len(m["content"]) for m in messages)
    return _Valid(model, _request_id(model, seed, messages), chars, content, summary)


def _faulty(fault: str, valid: _Valid, faults: FaultSettings) -> JSONResponse:
    if fault == "429":
        wait = faults.retry_after_s
        headers = {"Retry-After": f"{wait:g}", "retry-after-ms": str(round(wait * 1000))}
        message = f"rate limit reached (injected); retry after {wait:g} s"
        return _error(429, message, "rate_limit_error", "rate_limit_exceeded", headers)
    if fault == "500":
        return _error(500, "internal server error (injected)", "server_error", "server_error")
    if fault == "malformed":
        body = completion_body(valid.model, valid.request_id, MALFORMED_TEXT, valid.prompt_chars)
        return JSONResponse(body)
    cut = valid.content[: max(1, len(valid.content) // 2)]
    body = completion_body(valid.model, valid.request_id, cut, valid.prompt_chars, "length")
    return JSONResponse(body)


async def chat_completions(request: Request) -> Response:
    """Count, delay, validate, draw a fault, answer. The counters record what the server did:
    a client that gave up during a delay still has its request counted as served or faulted."""
    state: ServerState = request.app.state.coop
    try:
        raw = await request.body()
    except ClientDisconnect:
        return Response(status_code=499)  # gone before its request arrived: nothing to count
    state.arrived()
    if (delay := state.delay()) > 0:
        await asyncio.sleep(delay)
    try:
        checked = _validate(json.loads(raw), state.responders)
    except ValueError:
        checked = _bad_request("the request body is not valid JSON")
    if isinstance(checked, JSONResponse):
        state.errored(checked.status_code)
        return checked
    fault, faults = state.outcome(checked.model)
    if fault == "slow":
        await asyncio.sleep(faults.slow_s)
    elif fault is not None:
        return _faulty(fault, checked, faults)
    reasoning = checked.summary if state.reasoning else None
    return JSONResponse(
        completion_body(
            checked.model,
            checked.request_id,
            checked.content,
            checked.prompt_chars,
            "stop",
            reasoning,
        )
    )


async def list_models(request: Request) -> JSONResponse:
    ids = model_ids(request.app.state.coop.responders)
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "coop-scripted"} for m in ids]
    return JSONResponse({"object": "list", "data": data})


async def get_stats(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.coop.stats())


async def post_faults(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.coop
    try:
        changes = json.loads(await request.body() or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object of fault fields")
        return JSONResponse(state.set_faults(changes).as_dict())
    except ValueError as exc:
        return _bad_request(str(exc), "invalid_faults")


async def post_reset(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.coop.reset())


def create_app(
    faults: FaultSettings | None = None,
    reasoning: bool = False,
    responders: Mapping[str, str] | None = None,
) -> Starlette:
    """The Starlette app; its :class:`ServerState` is ``app.state.coop``."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/control/stats", get_stats, methods=["GET"]),
            Route("/control/faults", post_faults, methods=["POST"]),
            Route("/control/reset", post_reset, methods=["POST"]),
        ]
    )
    app.state.coop = ServerState(faults, reasoning, responders)
    return app
