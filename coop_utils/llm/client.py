"""One model call per agent turn, made robust, bounded and accounted.

Why a layer over the ``openai`` client: the authors' code turned every API failure into
an empty turn, which looks exactly like an agent refusing to help. Here a call either
returns a :class:`Completion` or a completion with ``error`` set after bounded retries,
and every failed attempt's reason travels with it into the run's log. Configuration
errors that would fail every call (bad key, unknown model) and replay misses raise
:class:`FatalLLMError` instead, so a grid reports them rather than logging thousands of
lost turns.

Retries (tenacity): 429, 5xx, timeouts and connection errors, exponential backoff with
jitter, never sooner than the server's ``Retry-After``, bounded in attempts and seconds.
The ``openai`` client's own retries are off so every attempt is counted here.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from .cache import MODES, Mode, ResponseCache, request_key
from .models import ModelProfile, resolve


class FatalLLMError(RuntimeError):
    """A failure no retry can fix (authentication, unknown model, replay miss)."""


class ReplayMiss(FatalLLMError):
    """Replay mode found no recorded reply for a request."""


class BadResponse(Exception):
    """The server answered 200 but not with a usable chat completion."""


@dataclass(frozen=True)
class Completion:
    """One turn's call, as recorded in the cache and, minus ``text``, in the run's log."""

    key: str
    text: str | None = None
    reasoning: str | None = None
    model: str = ""
    finish_reason: str | None = None
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 1
    faults: tuple[str, ...] = ()
    error: str | None = None
    from_cache: bool = field(default=False, compare=False)

    def record(self) -> dict[str, Any]:
        rec = asdict(self)
        rec.pop("from_cache")
        rec["faults"] = list(self.faults)
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Completion:
        known = {f.name for f in fields(cls)} - {"from_cache"}
        kw = {k: v for k, v in rec.items() if k in known}
        kw["faults"] = tuple(kw.get("faults", ()))
        return cls(**kw, from_cache=True)

    def call_event(self) -> dict[str, Any]:
        """The payload of the run's ``llm_call`` event."""
        rec = self.record()
        for k in ("text", "reasoning", "error"):
            rec.pop(k)
        return rec


@dataclass
class Usage:
    """Running totals for a pool: what was spent now versus served from the cache."""

    live_calls: int = 0
    cached_calls: int = 0
    failed_turns: int = 0
    retried_attempts: int = 0
    spent_usd: float = 0.0
    recorded_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, c: Completion) -> None:
        self.live_calls += not c.from_cache
        self.cached_calls += c.from_cache
        self.failed_turns += c.error is not None
        self.retried_attempts += len(c.faults) - (c.error is not None)
        self.spent_usd += 0.0 if c.from_cache else c.cost_usd
        self.recorded_usd += c.cost_usd
        self.input_tokens += c.input_tokens
        self.output_tokens += c.output_tokens


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (openai.APIConnectionError, BadResponse)):
        return True
    status = _status(exc)
    return status is not None and (status in (408, 409, 425, 429) or status >= 500)


def _fatal(exc: BaseException) -> bool:
    return isinstance(
        exc, (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    status = _status(exc)
    head = f"{status} {type(exc).__name__}" if status else type(exc).__name__
    detail = str(getattr(exc, "message", "") or exc)[:200]
    return f"{head}: {detail}" if detail else head


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if any."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if ms := headers.get("retry-after-ms"):
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0) if when else None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class ChatClient:
    """Calls one model profile through the pool's cache, limits and usage accounting."""

    def __init__(self, profile: ModelProfile, pool: ClientPool):
        self.profile, self.pool = profile, pool
        self._api: openai.AsyncOpenAI | None = None

    def params(self, seed: int | None = None) -> dict[str, Any]:
        extra = {"seed": seed} if self.profile.send_seed and seed is not None else {}
        return {**self.profile.params, **extra}

    async def complete(
        self, messages: list[dict[str, str]], sample: str, seed: int | None = None
    ) -> Completion:
        """The reply to ``messages``; ``sample`` names the draw (``run_id/agent``), see cache."""
        p = self.profile
        params = self.params(seed)
        key = request_key(p.provider, p.model, messages, params, sample)
        done = self._cached(key, sample)
        if done is None:
            done = await self._live(key, messages, params)
            self.pool.cache.put(done.record())
        self.pool.usage.add(done)
        return done

    def _cached(self, key: str, sample: str) -> Completion | None:
        mode, rec = self.pool.mode, self.pool.cache.get(key)
        if mode == "replay":
            if rec is None:
                raise ReplayMiss(
                    f"replay: no recorded reply for model {self.profile.alias!r} "
                    f"({self.profile.model}), sample {sample!r}, request key {key[:16]}; "
                    "record it with --cache-mode live or cache first"
                )
            return Completion.from_record(rec)
        if mode == "cache" and rec is not None and rec.get("error") is None:
            return Completion.from_record(rec)
        return None

    def _wait(self, state: RetryCallState) -> float:
        p = self.profile
        backoff = wait_exponential(multiplier=p.backoff_initial_s, max=p.backoff_max_s)
        base = (backoff + wait_random(0, p.backoff_initial_s))(state)
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        return max(base, asked) if asked is not None else base

    def _client(self) -> openai.AsyncOpenAI:
        if self._api is None:
            p = self.profile
            self._api = openai.AsyncOpenAI(
                base_url=p.base_url, api_key=p.api_key(), timeout=p.timeout_s, max_retries=0
            )
        return self._api

    async def _live(self, key: str, messages: list[dict], params: dict) -> Completion:
        p, faults = self.profile, []
        retrying = AsyncRetrying(
            stop=stop_after_attempt(p.max_attempts) | stop_after_delay(p.max_retry_s),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        async with self.pool.slot(p.provider):
                            start = time.perf_counter()
                            resp = await self._client().chat.completions.create(
                                model=p.model, messages=messages, **params
                            )
                            latency = time.perf_counter() - start
                        return self._completion(key, resp, latency, len(faults) + 1, faults)
                    except Exception as exc:
                        if _fatal(exc):
                            raise FatalLLMError(
                                f"{p.alias} ({p.base_url}): {_reason(exc)}"
                            ) from exc
                        faults.append(_reason(exc))
                        raise
        except FatalLLMError:
            raise
        except Exception:
            n = len(faults)
            error = f"gave up after {n} attempt{'s' * (n != 1)}: {faults[-1]}"
            return Completion(key, model=p.model, attempts=n, faults=tuple(faults), error=error)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _completion(
        self, key: str, resp: Any, latency: float, attempts: int, faults: list
    ) -> Completion:
        try:
            choice = resp.choices[0]
            message = choice.message
        except (AttributeError, IndexError, TypeError) as exc:
            raise BadResponse(f"malformed response: no choices ({exc})") from exc
        extra = message.model_extra or {}
        usage = resp.usage
        inp = getattr(usage, "prompt_tokens", 0) or 0
        out = getattr(usage, "completion_tokens", 0) or 0
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", 0) or 0
        out_details = getattr(usage, "completion_tokens_details", None)
        reasoning_tokens = getattr(out_details, "reasoning_tokens", 0) or 0
        return Completion(
            key=key,
            text=message.content,
            reasoning=_text(extra.get("reasoning_content") or extra.get("reasoning")),
            model=resp.model or self.profile.model,
            finish_reason=choice.finish_reason,
            input_tokens=inp,
            cached_input_tokens=cached,
            output_tokens=out,
            reasoning_tokens=reasoning_tokens,
            latency_s=round(latency, 4),
            cost_usd=self.profile.prices.cost(inp, cached, out),
            attempts=attempts,
            faults=tuple(faults),
        )


class ClientPool:
    """The clients of one grid: one per model, a concurrency limit per provider, one cache.

    Use as ``async with ClientPool(...) as pool``: clients and limits belong to the event
    loop they were made in.
    """

    def __init__(
        self,
        mode: Mode = "cache",
        cache: ResponseCache | str | Path | None = None,
        base_urls: dict[str, str] | None = None,
        concurrency: dict[str, int] | None = None,
        models_file: str | Path | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.base_urls = dict(base_urls or {})
        self.concurrency = dict(concurrency or {})
        self.models_file = models_file
        self.usage = Usage()
        self._clients: dict[str, ChatClient] = {}
        self._limits: dict[str, int] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}

    def profile(self, alias: str) -> ModelProfile:
        """The resolved profile, with this pool's base URL override for its provider."""
        profile = resolve(alias, self.models_file)
        if profile.provider in self.base_urls:
            profile = profile.model_copy(update={"base_url": self.base_urls[profile.provider]})
        return profile

    def client(self, alias: str) -> ChatClient:
        """The (shared) client for a model; checks its key now unless replaying."""
        if alias not in self._clients:
            profile = self.profile(alias)
            if self.mode != "replay":
                profile.api_key()
            self._clients[alias] = ChatClient(profile, self)
            limit = self.concurrency.get(profile.provider, profile.concurrency)
            self._limits[profile.provider] = min(limit, self._limits.get(profile.provider, limit))
        return self._clients[alias]

    @contextmanager
    def local_server(self, aliases: Iterable[str], **settings: Any) -> Iterator[Any]:
        """Start ``coop serve`` (in its own process) for ``local:`` models while in the block,
        unless COOP_LOCAL_URL or a base URL override points at one, or we only replay."""
        needed = self.mode != "replay" and "local" not in self.base_urls
        needed = needed and not os.environ.get("COOP_LOCAL_URL")
        if not needed or not any(self.profile(a).provider == "local" for a in aliases):
            yield None
            return
        from .server import LocalServer

        with LocalServer(port=0, mode="process", **settings) as server:
            self.base_urls["local"] = server.base_url
            try:
                yield server
            finally:
                self.base_urls.pop("local", None)

    def slot(self, provider: str) -> asyncio.Semaphore:
        """The provider's limit, fixed at its first use (the smallest of its profiles' limits)."""
        if provider not in self._slots:
            self._slots[provider] = asyncio.Semaphore(self._limits[provider])
        return self._slots[provider]

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for c in self._clients.values():
            if c._api is not None:
                await c._api.close()
        self.cache.close()
