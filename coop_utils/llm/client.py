"""One model call per agent turn, made robust, bounded, budgeted and accounted.

Every failed attempt falls in one class of :mod:`.failures` (retry, stop, this turn only,
declined) and enters the run's log with its reason, never as an empty turn that looks like
an agent refusing to help. A call returns a :class:`Completion` (a reply, or a lost turn
with ``failure`` set) or raises :class:`StopError`, after which the pool calls no more.
Before a call: the pool is not stopped, the prompt fits the context window, the budget holds
the worst case. After it: the reply is read in every shape providers use (:mod:`.responses`),
token counts are checked, the budget settled. The SDK's retries are off: all count here.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

from .budget import Budget, prompt_tokens_bound
from .cache import MODES, Mode, ResponseCache, request_key
from .completion import Completion, Usage
from .failures import (
    BadResponse,
    Failure,
    FatalLLMError,
    StopError,
    advice,
    classify,
    detail,
    unreachable,
)
from .models import ModelProfile, resolve
from .responses import GATEWAY_HEADERS, read_completion, retry_after
from .secrets import redact

__all__ = [
    "ClientPool",
    "ChatClient",
    "Completion",
    "FatalLLMError",
    "StopError",
    "Usage",
]


def provider_limit(profile: ModelProfile, overrides: dict[str, int], so_far: int | None) -> int:
    """Calls in flight on a provider: its override, else the profile's; the least seen wins."""
    limit = overrides.get(profile.provider, profile.concurrency)
    return limit if so_far is None else min(limit, so_far)


class ReplayMiss(FatalLLMError):
    """Replay mode found no recorded reply for a request (this run fails; others go on)."""


class ChatClient:
    """Calls one model profile through the pool's cache, limits, budget and accounting."""

    def __init__(self, profile: ModelProfile, pool: ClientPool):
        self.profile, self.pool = profile, pool
        self._api: openai.AsyncOpenAI | None = None

    def params(self, seed: int | None = None) -> dict[str, Any]:
        p = self.profile
        params = {**p.params, **({"seed": seed} if p.send_seed and seed is not None else {})}
        if p.num_ctx_from_window and p.context_window:
            body = dict(params.get("extra_body") or {})
            body["options"] = {**(body.get("options") or {}), "num_ctx": p.context_window}
            params["extra_body"] = body
        if p.gateway == "litellm":  # retries happen here, once, where they are counted
            params["extra_headers"] = {**GATEWAY_HEADERS, **(params.get("extra_headers") or {})}
        return params

    async def complete(
        self,
        messages: list[dict[str, str]],
        sample: str,
        seed: int | None = None,
        where: str | None = None,
    ) -> Completion:
        """The reply to ``messages``; ``sample`` names the draw (``run_id/agent``), see cache;
        ``where`` names the turn in errors (default: the sample)."""
        self.pool.raise_if_stopped()
        p = self.profile
        params = self.params(seed)
        key = request_key(p.provider, p.model, messages, params, sample)
        done = self._cached(key, sample)
        if done is None:
            try:
                prompt = self._fits(messages, where or sample)
                done = await self._live(key, messages, params, prompt)
                self.pool.cache.put(done.record())
                self.pool.watch(p, done)
            except StopError as exc:
                self.pool.stop(exc)
                raise
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
            return Completion.from_record(rec)  # only genuine replies are served
        return None

    def _fits(self, messages: list[dict], where: str) -> int:
        """The prompt's token bound, after checking it fits the context window."""
        p, prompt = self.profile, prompt_tokens_bound(messages)
        if p.context_window is None:
            return prompt
        out = p.requested_output_cap() or 0
        if prompt + out > p.context_window:
            chars = sum(len(str(m.get("content") or "")) for m in messages)
            raise StopError(
                f"{where}: the prompt ({chars:,} characters, up to {prompt:,} tokens) plus "
                f"{out:,} output tokens cannot fit {p.alias}'s context window of "
                f"{p.context_window:,} tokens; use a model with a larger window, fewer rounds, "
                "or raise context_window in the models file if the model allows it"
            )
        return prompt

    def worst_cost(self, prompt_tokens: int) -> float:
        """The most one call can cost: the prompt bound at the input price plus the output
        cap (or the window left) at the output price; 0 when the model is unpriced."""
        p = self.profile
        out = p.output_cap()
        if out is None and p.context_window:
            out = max(p.context_window - prompt_tokens, 0)
        return p.cost(prompt_tokens, 0, out or 0) or 0.0

    def _wait(self, state: RetryCallState) -> float:
        p = self.profile
        backoff = wait_exponential(multiplier=p.backoff_initial_s, max=p.backoff_max_s)
        base = (backoff + wait_random(0, p.backoff_initial_s))(state)
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        return max(base, asked) if asked is not None else base

    def _asks_too_long(self, state: RetryCallState) -> bool:
        """A Retry-After beyond what is left of ``max_retry_s``: give the turn up now."""
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        left = self.profile.max_retry_s - (state.seconds_since_start or 0.0)
        return asked is not None and asked > left

    def _client(self) -> openai.AsyncOpenAI:
        if self._api is None:
            p = self.profile
            self._api = openai.AsyncOpenAI(
                base_url=p.base_url, api_key=p.api_key(), timeout=p.timeout_s, max_retries=0
            )
        return self._api

    async def _live(self, key: str, messages: list[dict], params: dict, prompt: int) -> Completion:
        p = self.profile
        faults: list[str] = []
        chars = sum(len(str(m.get("content") or "")) for m in messages)
        spent = stop_after_attempt(p.max_attempts) | stop_after_delay(p.max_retry_s)
        retrying = AsyncRetrying(
            stop=lambda state: spent(state) or self._asks_too_long(state),
            wait=self._wait,
            retry=retry_if_exception(lambda e: self._classify(e) is Failure.RETRY),
            reraise=True,
        )
        worst = self.worst_cost(prompt)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(key, messages, params, worst, chars, faults)
        except StopError:
            raise
        except Exception as exc:
            return self._failed(key, exc, faults)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt(
        self, key: str, messages: list, params: dict, worst: float, chars: int, faults: list
    ) -> Completion:
        p, pool = self.profile, self.pool
        async with pool.slot(p.provider):
            pool.raise_if_stopped()
            held = await pool.budget.reserve(worst, p.alias)
            start = time.perf_counter()
            try:
                raw = await self._client().chat.completions.with_raw_response.create(
                    model=p.model, messages=messages, **params
                )
                latency = time.perf_counter() - start
                pool.answered.add(p.base_url)  # see _classify
                done = read_completion(p, key, raw.parse(), latency, faults, chars, raw.headers)
            except BaseException as exc:
                unsure = isinstance(exc, openai.APITimeoutError | BadResponse)
                await pool.budget.settle(held, 0.0, unsure=unsure)
                if not isinstance(exc, StopError):
                    faults.append(redact(detail(exc)))
                raise
            await pool.budget.settle(held, done.cost_usd, unsure=done.usage_error is not None)
            return done

    def _classify(self, exc: BaseException) -> Failure:
        """:func:`classify`, but a stop where nothing answers before a first answer."""
        first = self.profile.base_url not in self.pool.answered
        return Failure.STOP if first and unreachable(exc) else classify(exc)

    def _failed(self, key: str, exc: Exception, faults: list) -> Completion:
        """A completion for a turn lost to a retry-class or turn-class failure, or a stop."""
        p, n = self.profile, max(len(faults), 1)
        kind = self._classify(exc)
        last = faults[-1] if faults else redact(detail(exc))
        if kind is Failure.STOP:
            where = p.base_url_template or p.base_url
            what = advice(exc, p.api_key_env, p.gateway, where)
            why = f"{p.alias} ({p.provider}, {where}): {last}. What to do: {what}"
            raise StopError(redact(why)) from None
        if kind is Failure.TURN:
            return Completion(
                key, model=p.model, attempts=n, faults=tuple(faults), error=last,
                failure="provider_error", cost_usd=None,
            )  # fmt: skip
        error = f"gave up after {n} attempt{'s' * (n != 1)}: {last}"
        asked = retry_after(exc)
        if asked is not None and asked > p.max_retry_s:
            error += (
                f" (the server asked to wait {asked:g} s, beyond max_retry_s={p.max_retry_s:g})"
            )
        return Completion(
            key, model=p.model, attempts=n, faults=tuple(faults), error=error, failure="lost",
            cost_usd=None,
        )  # fmt: skip


class ClientPool:
    """The clients of one grid: one per model, a concurrency limit per provider, one cache,
    one budget, and one stop switch.

    Use as ``async with ClientPool(...) as pool``: clients, limits and the budget belong to
    the event loop they were made in.
    """

    def __init__(
        self,
        mode: Mode = "cache",
        cache: ResponseCache | str | Path | None = None,
        base_urls: dict[str, str] | None = None,
        concurrency: dict[str, int] | None = None,
        models_file: str | Path | None = None,
        max_cost: float | None = None,
        allow_unpriced: bool = False,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.base_urls = dict(base_urls or {})
        self.concurrency = dict(concurrency or {})
        self.models_file = models_file
        self.allow_unpriced = allow_unpriced
        self.usage = Usage()
        self.budget = Budget(max_cost)
        self.stopped: StopError | None = None
        self.answered: set[str] = set()  # base URLs that have answered a call
        self._clients: dict[str, ChatClient] = {}
        self._limits: dict[str, int] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._lost_streak: dict[str, int] = {}

    def profile(self, alias: str) -> ModelProfile:
        """The resolved profile, with this pool's base URL override for its provider."""
        profile = resolve(alias, self.models_file)
        if profile.provider in self.base_urls:
            profile = profile.model_copy(update={"base_url": self.base_urls[profile.provider]})
        return profile

    def client(self, alias: str) -> ChatClient:
        """The (shared) client for a model. Unless replaying, checks now, before any call,
        its key, its parameters and, under a cap, that its calls can be priced."""
        if alias not in self._clients:
            profile = self.profile(alias)
            if self.mode != "replay":
                profile.api_key()
                profile.check_params()
                self._check_priced(profile)
            self._clients[alias] = ChatClient(profile, self)
            so_far = self._limits.get(profile.provider)
            self._limits[profile.provider] = provider_limit(profile, self.concurrency, so_far)
        return self._clients[alias]

    def _check_priced(self, p: ModelProfile) -> None:
        if self.budget.cap is None or self.allow_unpriced or p.cost(1, 0, 1) == 0:
            return
        if not p.priced:
            raise StopError(
                f"--max-cost is set but model {p.alias!r} ({p.provider}:{p.model}) has no "
                "known price, so its spending could not be counted; add prices to its entry "
                "in a models file (prices: {input: USD/M, cached_input: USD/M, output: USD/M}) "
                "or pass --allow-unpriced to count it as $0. No call was made."
            )
        if p.output_cap() is None and p.context_window is None:
            raise StopError(
                f"--max-cost is set but model {p.alias!r} has no bound on a call's output "
                "tokens, so no call's worst case is known; set params.max_tokens (or "
                "max_completion_tokens), max_output_tokens or context_window in a models "
                "file. No call was made."
            )

    def stop(self, exc: StopError) -> None:
        """Make no further call (the first reason wins)."""
        if self.stopped is None:
            self.stopped = exc
            self.budget.close()

    def raise_if_stopped(self) -> None:
        if self.stopped is not None:
            raise StopError(f"stopped: {self.stopped}")

    def watch(self, profile: ModelProfile, done: Completion) -> None:
        """Stop everything after ``stop_after_lost_turns`` turns in a row lost on a provider:
        an outage or a closed port would otherwise finish runs made of lost turns."""
        if done.failure != "lost":
            self._lost_streak[profile.provider] = 0
            return
        n = self._lost_streak.get(profile.provider, 0) + 1
        self._lost_streak[profile.provider] = n
        if n >= profile.stop_after_lost_turns:
            where = profile.base_url_template or profile.base_url
            raise StopError(
                redact(
                    f"{profile.alias} ({profile.provider}, {where}): {n} turns in a row lost "
                    f"after retries, the last: {done.error}. What to do: check that the "
                    "provider is up and reachable, then rerun the same command"
                )
            )

    @contextmanager
    def local_server(self, aliases: Iterable[str], **settings: Any) -> Iterator[Any]:
        """Start ``coop serve`` (in its own process) for ``local:`` models while in the block,
        unless COOP_LOCAL_URL or a base URL override points at one, or we only replay."""
        needed = self.mode != "replay" and "local" not in self.base_urls
        needed = needed and not os.environ.get("COOP_LOCAL_URL")
        if not needed or not any(self.profile(a).provider == "local" for a in aliases):
            yield None
            return
        from .local import LocalServer

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
