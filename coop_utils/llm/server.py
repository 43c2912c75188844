"""A local OpenAI-compatible chat server that answers as a scripted agent (``coop serve``).

Why it exists: our machines have no API keys and no internet, yet the LLM path
(prompt rendering, HTTP, retries, reply parsing, usage accounting) must be
exercised for real in tests, CI and the offline default. This server stands in
for a hosted model. It keeps no per-conversation state: each request is answered
from nothing but its own content. The prompt text is read back into an
observation (``prompts.parse_observation``), the scripted policy named by the
request's ``model`` decides, and the decision goes back as the JSON reply our
prompt asks for, with first-person private thoughts. The policies are pure, so
the same request always gets the same reply.

Real providers fail in ways the client must survive, so the server can inject
faults (429 with ``Retry-After``, 500, a reply slower than the client's timeout,
prose instead of JSON, JSON cut off partway) and a fixed or jittered latency.
Faults are drawn per request from one seeded generator owned by the server, and
every outcome is counted, so a test can reconcile exactly what the client saw
with what the server did: ``requests == served + sum(injected) + sum(errors)``.

Model names are ``scripted/<spec>`` (or the bare spec): ``perfect``, a preset from
``scripted.PRESETS``, or ``behaviour:KNOB=V:...``. The behaviour policy's seed is
the request's standard ``seed`` field (0 when absent).

Runs in three ways: :class:`LocalServer` in a background thread (tests) or a
subprocess (benchmarks and grids, so it does not share the caller's GIL), and
:func:`serve` in the foreground (``coop serve`` / ``python -m coop_utils.llm.server``).
Nothing is logged per request: grids send thousands.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import hashlib
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..actions import Action, SendInformation, SendMessage, SubmitTask, action_to_dict
from ..observation import Observation
from ..prompts import parse_observation
from ..scripted import (
    PRESETS,
    BehaviourKnobs,
    Plan,
    behaviour_plan,
    open_requests,
    perfect_policy,
    stated_reasons,
)

__all__ = [
    "FAULT_FIELDS",
    "FAULT_KINDS",
    "MODEL_PREFIX",
    "Decision",
    "FaultSettings",
    "LocalServer",
    "ServerState",
    "UnknownModel",
    "add_serve_arguments",
    "completion_body",
    "create_app",
    "decide",
    "model_ids",
    "narrate",
    "reply_text",
    "resolve_model",
    "serve",
    "serve_from_args",
    "summarise",
    "wire_action",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MODEL_PREFIX = "scripted/"
FAULT_KINDS = ("429", "500", "slow", "malformed", "truncated")
"""Injected fault kinds, in the order their rates are walked for each request."""
ERROR_CODES = ("400", "404")
MALFORMED_TEXT = (
    "Let me think about this turn. I should probably ask the holders for the pieces I am "
    "missing and send what was asked of me, then submit whatever I can complete."
)
"""What a malformed reply says: plausible model prose with no JSON object in it."""


# ---- fault settings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """What the server injects; every rate is a per-request probability (all off by default)."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_slow: float = 0.0
    rate_malformed: float = 0.0
    rate_truncated: float = 0.0
    retry_after_s: float = 0.05
    """Sent as ``Retry-After`` (seconds) and ``retry-after-ms`` on a 429."""
    slow_s: float = 5.0
    """How long a slow reply sleeps before answering (meant to exceed the client's timeout)."""
    latency_s: float = 0.0
    """Fixed delay before every chat request is answered."""
    latency_jitter_s: float = 0.0
    """Extra delay drawn uniformly from [0, latency_jitter_s] per request."""
    fault_seed: int = 0
    """Seed of the server's fault generator; setting it reseeds the generator."""

    def __post_init__(self) -> None:
        if sum(self.rates()) > 1 + 1e-9:
            terms = " + ".join(f"rate_{k} {r:g}" for k, r in zip(FAULT_KINDS, self.rates()) if r)
            raise ValueError(
                f"fault rates add up to {sum(self.rates()):g} ({terms}); they are chances of "
                "disjoint faults per request, so their sum must be <= 1"
            )

    def rates(self) -> tuple[float, ...]:
        return (
            self.rate_429,
            self.rate_500,
            self.rate_slow,
            self.rate_malformed,
            self.rate_truncated,
        )

    def draw(self, u: float) -> str | None:
        """The fault for a uniform draw ``u`` in [0, 1): the rates are walked in FAULT_KINDS order."""
        for kind, rate in zip(FAULT_KINDS, self.rates()):
            if u < rate:
                return kind
            u -= rate
        return None

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied; raises ValueError for an unknown field or a bad value."""
        known = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault field {name!r}; fields are {', '.join(known)}")
            clean[name] = _check_field(name, value)
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_field(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if name == "fault_seed":
        if not float(value).is_integer():
            raise ValueError(f"fault_seed must be an integer, got {value!r}")
        return int(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if name.startswith("rate_") and value > 1:
        raise ValueError(f"{name} is a probability and must be <= 1, got {value!r}")
    return float(value)


FAULT_FIELDS = tuple(f.name for f in dataclasses.fields(FaultSettings))


# ---- models and decisions -----------------------------------------------------------------------

Policy = Callable[[Observation, int], Plan]


class UnknownModel(LookupError):
    """The request names a model this server does not serve (answered with a 404)."""


def model_ids() -> list[str]:
    """Every fixed model id this server lists (``behaviour:...`` specs are accepted too)."""
    return [MODEL_PREFIX + spec for spec in ("perfect", *PRESETS, JUDGE)]


def _accepted() -> str:
    return (
        f"accepted models: {', '.join(model_ids())}, or "
        f"{MODEL_PREFIX}behaviour:KNOB=V:KNOB=V with knobs "
        f"{', '.join(f.name for f in dataclasses.fields(BehaviourKnobs))} "
        f"(the '{MODEL_PREFIX}' prefix is optional)"
    )


def _perfect(obs: Observation, seed: int) -> Plan:
    return Plan(*perfect_policy(obs))


def _behave(knobs: BehaviourKnobs, obs: Observation, seed: int) -> Plan:
    return behaviour_plan(obs, knobs, seed)


@lru_cache(maxsize=256)
def resolve_model(model: str) -> Policy:
    """The policy for a model name; raises :class:`UnknownModel` with what is accepted."""
    spec = model.removeprefix(MODEL_PREFIX)
    if spec == "perfect":
        return _perfect
    if spec in PRESETS:
        return partial(_behave, PRESETS[spec])
    if spec == "behaviour" or spec.startswith("behaviour:"):
        try:
            knobs = BehaviourKnobs.parse(spec.partition(":")[2])
        except (TypeError, ValueError) as exc:
            raise UnknownModel(f"model {model!r}: {exc}; {_accepted()}") from exc
        return partial(_behave, knobs)
    raise UnknownModel(f"unknown model {model!r}; {_accepted()}")


JUDGE = "judge"
"""A scripted stand-in for an LLM judge of private thoughts: it answers with the regex
classes of ``coop_utils.thoughts``, so the judge path can run offline (trivially in
agreement with the regexes)."""


def judge_reply(messages: Sequence[Mapping[str, Any]]) -> str:
    """The judge's JSON answer for the note at the end of the last user message."""
    from ..thoughts import CLASSES, classify

    text = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    if "Note:\n" not in text:
        raise ValueError("a judge request ends with 'Note:' and the note to label")
    labels = classify(text.rsplit("Note:\n", 1)[1])
    return json.dumps({c: bool(labels[c]) for c in CLASSES})


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided for one request, with its first-person account."""

    actions: tuple[Action, ...]
    thoughts: str
    summary: str


def decide(model: str, messages: Sequence[Mapping[str, Any]], seed: int) -> Decision:
    """Run the named policy on the prompt; raises UnknownModel or ValueError (not our prompt)."""
    policy = resolve_model(model)
    obs = parse_observation(list(messages))
    plan = policy(obs, seed)
    actions = plan.actions
    return Decision(tuple(actions), narrate(obs, actions, plan), summarise(actions, obs))


def wire_action(action: Action) -> dict[str, Any]:
    """An action as our prompt asks for it: the type under the key ``"action"``."""
    d = action_to_dict(action)
    return {"action": d.pop("type"), **d}


def reply_text(decision: Decision) -> str:
    """The reply content: one JSON object with ``actions`` and ``private_thoughts``."""
    body = {
        "actions": [wire_action(a) for a in decision.actions],
        "private_thoughts": decision.thoughts,
    }
    return json.dumps(body, ensure_ascii=False)


# ---- private thoughts ---------------------------------------------------------------------------


def _names(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _it(items: Sequence[str]) -> str:
    return "it" if len(items) == 1 else "them"


def _asking(obs: Observation, actions: Sequence[Action]) -> list[str]:
    messages = [a for a in actions if isinstance(a, SendMessage)]
    by_task: dict[str, list[str]] = {}
    earlier = not_now = 0
    first_task: dict[str, str] = {}
    for task, p in obs.missing():
        first_task.setdefault(p, task.task_id)
    for p, task_id in first_task.items():
        holders = [m.to for m in messages if p in m.content]
        if holders:
            by_task.setdefault(task_id, []).append(f"{_names(holders)} for {p}")
        elif obs.history.asked_for(p):
            earlier += 1
        else:
            not_now += 1
    out = [f"For {task_id} I am asking {_names(asks)}." for task_id, asks in by_task.items()]
    if earlier:
        out.append(
            f"I asked for {_plural(earlier, 'other missing piece')} in earlier turns "
            "and am giving the holders time to answer."
        )
    if not_now:
        out.append(
            f"I still lack {_plural(not_now, 'other piece')}, but I am not asking for "
            f"{'it' if not_now == 1 else 'them'} this turn."
        )
    return out


def _sending(obs: Observation, actions: Sequence[Action]) -> list[str]:
    out = []
    for a in actions:
        if not isinstance(a, SendInformation):
            continue
        pieces = list(a.information)
        out.append(f"{a.to} asked me for {_names(pieces)}, so I am sending {_it(pieces)}.")
        for p in pieces:
            true, sent = obs.holdings.get(p), a.values.get(p)
            if true is not None and sent != true:
                out.append(f"I am telling {a.to} that {p} is worth {sent}, though I hold {true}.")
    return out


def _holding_back(
    obs: Observation, actions: Sequence[Action], plan: Plan | None = None
) -> list[str]:
    """Pieces kept for no stated reason (the answer draw said no). With the policy's plan, its
    own list of such holds; without one, every open request the actions leave unanswered."""
    kept: dict[str, list[str]] = {}
    if plan is not None:
        for h in plan.holds:
            if h.reason == "withheld":
                kept.setdefault(h.requester, []).append(h.piece)
    else:
        sent = {(a.to, p) for a in actions if isinstance(a, SendInformation) for p in a.information}
        for who, p in open_requests(obs):
            if (who, p) not in sent:
                kept.setdefault(who, []).append(p)
    return [
        f"{who} asked me for {_names(ps)}, but I am holding {_it(ps)} back for now."
        for who, ps in kept.items()
    ]


def _submitting(obs: Observation, actions: Sequence[Action]) -> list[str]:
    submitted = {a.task_id for a in actions if isinstance(a, SubmitTask)}
    out = []
    for t in obs.completable():
        if t.task_id in submitted:
            out.append(f"I hold every piece of {t.task_id}, so I am submitting it.")
        else:
            out.append(f"I could complete {t.task_id}, but I am putting off submitting it.")
    return out


def narrate(obs: Observation, actions: Sequence[Action], plan: Plan | None = None) -> str:
    """First-person private thoughts: what it asks for, sends, holds back and submits, and why.

    With the policy's ``plan``, the reasons it states (``scripted.stated_reasons``: the
    protocol, the bonus, reciprocity, the board) come after the plain holds, in the policy's
    own words, so served and in-process agents give the same reasons."""
    parts = [f"It is round {obs.round} of {obs.rounds}."]
    parts += _asking(obs, actions) + _sending(obs, actions) + _holding_back(obs, actions, plan)
    if plan is not None:
        parts += stated_reasons(plan)
    parts += _submitting(obs, actions)
    if len(parts) == 1:
        parts.append("I have nothing to ask for, send or submit, so I take no action this turn.")
    return " ".join(parts)


def summarise(actions: Sequence[Action], obs: Observation) -> str:
    """One sentence for ``reasoning_content``."""
    asks = sum(isinstance(a, SendMessage) for a in actions)
    sends = sum(len(a.information) for a in actions if isinstance(a, SendInformation))
    submits = sum(isinstance(a, SubmitTask) for a in actions)
    return (
        f"As {obs.agent} in round {obs.round}, I decided on {len(actions)} action(s): "
        f"{asks} request(s), {sends} piece(s) sent and {submits} task submission(s)."
    )


# ---- state and counters -------------------------------------------------------------------------


class ServerState:
    """Settings, the fault generators and the counters; safe to read from another thread."""

    def __init__(self, faults: FaultSettings | None = None, reasoning: bool = False):
        self.reasoning = reasoning
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


def _read_messages(body: Mapping[str, Any]) -> list[dict[str, str]]:
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


def _validate(body: Any) -> _Valid | JSONResponse:
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
        return _bad_request("'model' must be a non-empty string; " + _accepted())
    if isinstance(seed, bool) or not isinstance(seed, int):
        return _bad_request(f"'seed' must be an integer, got {seed!r}", "invalid_seed")
    judge = model.removeprefix(MODEL_PREFIX) == JUDGE
    try:
        if not judge:
            resolve_model(model)
    except UnknownModel as exc:
        return _error(404, str(exc), "invalid_request_error", "model_not_found")
    try:
        messages = _read_messages(body)
        if judge:
            content, summary = judge_reply(messages), "Labelled the note with the regex classes."
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
        checked = _validate(json.loads(raw))
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
    data = [
        {"id": m, "object": "model", "created": 0, "owned_by": "coop-scripted"} for m in model_ids()
    ]
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


def create_app(faults: FaultSettings | None = None, reasoning: bool = False) -> Starlette:
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
    app.state.coop = ServerState(faults, reasoning)
    return app


# ---- running it ---------------------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only
    # then, and without it every reply waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _uvicorn(app: Starlette, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def _split_settings(settings: Mapping[str, Any]) -> tuple[FaultSettings, bool, str]:
    rest = dict(settings)
    reasoning = bool(rest.pop("reasoning", False))
    log_level = str(rest.pop("log_level", "warning"))
    return FaultSettings().updated(rest), reasoning, log_level


def exit_with_parent(pid: int, every_s: float = 0.2) -> None:
    """End this process once ``pid``, the process that started it, is gone, however it
    ended (SIGKILL included): its parent then changes. A grid's server never outlives it."""

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    parent_pid: int | None = None,
    **settings: Any,
) -> None:
    """Serve in the foreground until interrupted (or until ``parent_pid`` is gone).
    ``settings``: fault fields, reasoning, log_level."""
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    faults, reasoning, log_level = _split_settings(settings)
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    app = create_app(faults, reasoning)
    # This process only serves: freeze what is loaded so far out of the garbage collector's
    # reach, so full collections stay short instead of pausing a request for tens of ms.
    gc.collect()
    gc.freeze()
    print(f"coop serve: scripted models at http://{host}:{real_port}/v1", flush=True)
    _uvicorn(app, log_level).run(sockets=[sock])


_FLAGS = {
    "latency_s": ("--latency", "seconds added to every chat request"),
    "latency_jitter_s": ("--latency-jitter", "extra seconds, uniform in [0, this], per request"),
    "rate_429": ("--rate-429", "share of requests answered 429 with Retry-After"),
    "rate_500": ("--rate-500", "share of requests answered 500"),
    "rate_slow": ("--rate-slow", "share of requests answered only after --slow seconds"),
    "rate_malformed": ("--rate-malformed", "share of replies that are prose, not JSON"),
    "rate_truncated": ("--rate-truncated", "share of replies cut off halfway"),
    "retry_after_s": ("--retry-after", "seconds a 429 asks the client to wait"),
    "slow_s": ("--slow", "seconds a slow reply takes"),
    "fault_seed": ("--fault-seed", "seed of the fault generator"),
}
"""Command-line flag and help of each fault field."""


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the server's options (host, port, faults, reasoning, log level) to ``parser``."""
    defaults = FaultSettings()
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 = any free one)")
    for name, (flag, text) in _FLAGS.items():
        kind = int if name == "fault_seed" else float
        parser.add_argument(
            flag,
            dest=name,
            type=kind,
            default=getattr(defaults, name),
            help=f"{text} (default %(default)s)",
        )
    parser.add_argument(
        "--reasoning", action="store_true", help="add a one-sentence reasoning_content to replies"
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="how much the web server logs (default %(default)s)",
    )
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # exit with it
    return parser


def serve_from_args(args: argparse.Namespace) -> None:
    """Run :func:`serve` with options parsed by :func:`add_serve_arguments`."""
    settings = {name: getattr(args, name) for name in _FLAGS}
    try:
        serve(
            args.host,
            args.port,
            getattr(args, "parent_pid", None),
            reasoning=args.reasoning,
            log_level=args.log_level,
            **settings,
        )
    except (ValueError, OSError) as exc:
        raise SystemExit(f"coop serve: {exc}") from exc


class LocalServer:
    """The server as a context manager, in a background thread or a subprocess.

    ``with LocalServer(port=0) as srv: client = AsyncOpenAI(base_url=srv.base_url, ...)``.
    ``faults`` (a :class:`FaultSettings` or a mapping) and any fault field given as a keyword
    (``rate_429=0.1``) set the initial faults; ``latency_s`` is the fixed per-request delay.
    """

    def __init__(
        self,
        port: int = 0,
        latency_s: float = 0.0,
        faults: FaultSettings | Mapping[str, Any] | None = None,
        reasoning: bool = False,
        mode: str = "thread",
        host: str = DEFAULT_HOST,
        log_level: str = "warning",
        startup_timeout_s: float = 20.0,
        **fault_fields: Any,
    ):
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', got {mode!r}")
        base = (
            faults if isinstance(faults, FaultSettings) else FaultSettings().updated(faults or {})
        )
        changes = {"latency_s": latency_s} if latency_s else {}
        self.faults = base.updated({**changes, **fault_fields})
        self.host, self.port, self.mode = host, port, mode
        self.reasoning, self.log_level = reasoning, log_level
        self.startup_timeout_s = startup_timeout_s
        self._state: ServerState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None
        self._http: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start_thread() if self.mode == "thread" else self._start_process()
        except BaseException:
            self.stop()
            raise

    def _start_thread(self) -> None:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        app = create_app(self.faults, self.reasoning)
        self._state = app.state.coop
        self._server = _uvicorn(app, self.log_level)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="coop-serve", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local server thread did not start")
            time.sleep(0.005)

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "coop_utils.llm.server", "--host", self.host]
        cmd += ["--port", str(self.port), "--log-level", self.log_level]
        cmd += ["--parent-pid", str(os.getpid())]  # dies with us, even on SIGKILL
        for name, (flag, _) in _FLAGS.items():
            cmd += [flag, str(getattr(self.faults, name))]
        return cmd + (["--reasoning"] if self.reasoning else [])

    def _start_process(self) -> None:
        if self.port == 0:
            with _bind(self.host, 0) as probe:
                self.port = probe.getsockname()[1]
        root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            self._command(), env=env, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local server process did not start: {self._stderr_tail()}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            return self._client().get("/v1/models", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def _client(self) -> httpx.Client:
        if self._proc is None:
            raise RuntimeError("the local server process is not running")
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, trust_env=False, timeout=5.0)
        return self._http

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for handle in (self._http, self._stderr):
            if handle is not None:
                handle.close()
        self._server = self._thread = self._proc = self._http = self._stderr = None

    def _control(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        resp = self._client().request(method, path, json=body)
        if resp.status_code != 200:
            raise ValueError(resp.json().get("error", {}).get("message", resp.text))
        return resp.json()

    def stats(self) -> dict[str, Any]:
        """The counters (see ``GET /control/stats``)."""
        if self._state is not None:
            return self._state.stats()
        return self._control("GET", "/control/stats")

    def set_faults(self, **fields: Any) -> dict[str, Any]:
        """Change some fault fields (the rest keep their values); returns all current settings."""
        if self._state is not None:
            return self._state.set_faults(fields).as_dict()
        return self._control("POST", "/control/faults", fields)

    def reset(self) -> dict[str, Any]:
        """Zero the counters; returns them."""
        if self._state is not None:
            return self._state.reset()
        return self._control("POST", "/control/reset")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m coop_utils.llm.server",
        description="Serve scripted agents as an OpenAI-compatible chat API.",
    )
    serve_from_args(add_serve_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    main()
