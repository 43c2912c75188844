"""What a provider's chat reply means, read in every shape providers send it.

Why: providers put the same facts in different places. Reasoning comes as
``reasoning_content`` (DeepSeek, vLLM), ``reasoning`` (OpenRouter, Ollama) or
``reasoning_details``; cached tokens as ``prompt_tokens_details.cached_tokens`` or
``prompt_cache_hit_tokens``; Gemini's thinking tokens only in the total; OpenRouter's cost
as ``usage.cost``; an error can arrive inside a 200. :func:`read_completion` turns a reply
into a :class:`~.completion.Completion`: a genuine reply, a turn lost to the provider
(``provider_error``) or a refusal, with validated token counts (unknown is not zero).
``docs/PROVIDERS.md`` has each shape and the conformance scenario that pins it.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, replace
from typing import Any

from .completion import Completion
from .failures import GATEWAY_PREFIX, BadResponse, ProviderTurnError, body_error, sdk_field
from .models import ModelProfile
from .secrets import redact

__all__ = ["message_text", "read_completion", "read_usage", "reasoning_text", "retry_after"]

TRUNCATION_CHARS_PER_TOKEN = 8
"""A prompt read back as fewer tokens than characters / 8 was cut by the server (no
tokenizer packs English or JSON that densely): Ollama does this silently past num_ctx."""


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``, or the
    provider's, forwarded by a gateway as ``llm_provider-retry-after(-ms)``), if any."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    for prefix in ("", GATEWAY_PREFIX):
        if ms := headers.get(f"{prefix}retry-after-ms"):
            try:
                return float(ms) / 1000
            except ValueError:
                pass
    value = headers.get("retry-after") or headers.get(f"{GATEWAY_PREFIX}retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0) if when else None


def _count(value: Any) -> int | None:
    """A token count as reported, if it is one (a non-negative integer)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def message_text(content: Any) -> tuple[str | None, str | None]:
    """(text, reasoning) of a message's content: a string, or a list of parts whose text
    parts are joined and whose thinking parts are reasoning. Anything else is not a reply."""
    if content is None or isinstance(content, str):
        return content, None
    if isinstance(content, list):
        texts, thoughts = [], []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type") in ("thinking", "reasoning"):
                    thoughts.append(str(part.get("thinking") or part.get("text") or ""))
                elif isinstance(part.get("text"), str):
                    texts.append(part["text"])
        return "".join(texts), "\n".join(thoughts) or None
    raise ProviderTurnError(f"reply content is a {type(content).__name__}, not text")


def reasoning_text(message: Any) -> str | None:
    """Reasoning as providers return it: ``reasoning_content`` (DeepSeek, vLLM),
    ``reasoning`` (OpenRouter, Ollama), or ``reasoning_details`` (OpenRouter)."""
    for name in ("reasoning_content", "reasoning"):
        value = sdk_field(message, name)
        if isinstance(value, str) and value.strip():
            return value
    details = sdk_field(message, "reasoning_details")
    if isinstance(details, list):
        parts = [
            str(d.get("text") or d.get("summary") or "")
            for d in details
            if isinstance(d, dict) and (d.get("text") or d.get("summary"))
        ]
        return "\n".join(parts) or None
    return None


@dataclass(frozen=True)
class _Counts:
    input: int | None
    cached: int | None
    output: int | None
    reasoning: int | None
    provider_cost: float | None
    error: str | None


def read_usage(usage: Any) -> _Counts:
    """Validated token counts and provider cost from a ``usage`` object (see the docstring)."""
    if usage is None:
        return _Counts(None, None, None, None, None, "no usage reported")
    raw = {k: sdk_field(usage, k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    inp, out = _count(raw["prompt_tokens"]), _count(raw["completion_tokens"])
    bad = [f"{k}={v!r}" for k, v in raw.items() if v is not None and _count(v) is None]
    cached = _count(sdk_field(sdk_field(usage, "prompt_tokens_details"), "cached_tokens"))
    if cached is None:
        cached = _count(sdk_field(usage, "prompt_cache_hit_tokens"))  # DeepSeek
    reasoning = _count(sdk_field(sdk_field(usage, "completion_tokens_details"), "reasoning_tokens"))
    total = _count(raw["total_tokens"])
    if total is not None and inp is not None and out is not None and total > inp + out:
        hidden = total - inp - out  # Gemini: thinking tokens appear only in the total
        out += hidden
        reasoning = (reasoning or 0) + hidden
    cost = sdk_field(usage, "cost")  # OpenRouter, in credits = USD
    cost = float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    if cost is not None and cost < 0:
        bad.append(f"cost={cost!r}")
        cost = None
    if inp is None or out is None:
        bad.append("prompt_tokens or completion_tokens missing")
    error = ("invalid usage: " + ", ".join(bad)) if bad else None
    return _Counts(inp, cached or 0, out, reasoning, cost, error)


GATEWAY_HEADERS = {"x-litellm-num-retries": "0"}
"""Sent to a LiteLLM gateway: its router would retry each attempt twice more by default, unseen
by the run's fault counts and budget (https://docs.litellm.ai/docs/proxy/request_headers)."""
UPSTREAM_MODEL = "x-litellm-model-name"
"""The model a LiteLLM gateway called for the alias asked (its reply's ``model`` is the alias)."""
GATEWAY_RETRIES = "x-litellm-attempted-retries"
"""Upstream attempts a LiteLLM gateway retried before the reply it sends: faults of this turn."""


def gateway_faults(headers: Any) -> list[str]:
    """One fault per upstream attempt the gateway retried (its router retries unless told not)."""
    try:
        n = int((headers or {}).get(GATEWAY_RETRIES) or 0)
    except ValueError:
        return []
    return [
        f"the gateway retried the upstream call ({k} of {n}, {GATEWAY_RETRIES})"
        for k in range(1, n + 1)
    ]


def read_completion(
    profile: ModelProfile,
    key: str,
    resp: Any,
    latency: float,
    faults: list,
    prompt_chars: int,
    headers: Any = None,
) -> Completion:
    """Read a 200 reply: a genuine reply, or a provider error / refusal inside it. ``faults``
    are the reasons of the attempts that failed before it; ``headers`` the reply's (a
    gateway's name the upstream model and the retries it made)."""
    faults = [*faults, *gateway_faults(headers)]
    if resp is None or isinstance(resp, str | bytes):
        raise BadResponse(f"the 200 body is not a chat completion ({str(resp)[:80]!r})")
    choices = sdk_field(resp, "choices")
    counts = read_usage(sdk_field(resp, "usage"))
    priced = (
        profile.cost(counts.input, counts.cached or 0, counts.output)
        if counts.input is not None and counts.output is not None
        else None
    )
    base = Completion(
        key,
        model=sdk_field(resp, "model") or profile.model,
        input_tokens=counts.input,
        cached_input_tokens=counts.cached,
        output_tokens=counts.output,
        reasoning_tokens=counts.reasoning,
        latency_s=round(latency, 4),
        cost_usd=counts.provider_cost if counts.provider_cost is not None else priced,
        provider_cost_usd=counts.provider_cost,
        priced_cost_usd=priced,
        usage_error=counts.error if choices else None,
        attempts=len(faults) + 1,
        upstream_model=(headers or {}).get(UPSTREAM_MODEL),
    )
    if not choices:
        if error := body_error(resp):
            return _turn_lost(base, faults, f"error in a 200 reply: {error}")
        if sdk_field(resp, "id") is None and sdk_field(resp, "usage") is None:
            raise BadResponse("empty reply body (no choices, no id, no usage)")
        return _turn_lost(base, faults, "a 200 reply with no choices")
    choice = choices[0]
    message = sdk_field(choice, "message")
    finish = sdk_field(choice, "finish_reason")
    base = replace(base, finish_reason=finish)
    # LiteLLM maps OpenRouter's finish_reason "error" to "stop" and keeps the provider's
    # meaning under provider_specific_fields (error, native_finish_reason)
    kept = sdk_field(choice, "provider_specific_fields")
    finishes = {finish, sdk_field(kept, "native_finish_reason")}
    error = body_error(choice) or body_error(kept)  # named even when finish alone says error
    if "error" in finishes or error:
        return _turn_lost(base, faults, f"finish_reason=error: {error}")
    try:
        text, part_reasoning = message_text(sdk_field(message, "content"))
    except ProviderTurnError as exc:
        return _turn_lost(base, faults, str(exc))
    refusal = sdk_field(message, "refusal")
    if refusal or "content_filter" in finishes:
        said = refusal if isinstance(refusal, str) else text
        reason = "refusal" if refusal else "finish_reason=content_filter"
        return _declined(base, faults, reason, said)
    input_tokens = counts.input
    if (
        input_tokens is not None
        and prompt_chars > 2000
        and input_tokens * TRUNCATION_CHARS_PER_TOKEN < prompt_chars
    ):
        return _turn_lost(
            base,
            faults,
            f"the server read {input_tokens} prompt tokens of a {prompt_chars}-character "
            "prompt: it truncated the prompt (Ollama does past num_ctx)",
        )
    reasoning = reasoning_text(message) or part_reasoning
    return replace(base, text=text, reasoning=redact(reasoning), faults=tuple(faults))


def _turn_lost(base: Completion, faults: list[str], reason: str) -> Completion:
    reason = redact(reason)
    return replace(base, faults=(*faults, reason), error=reason, failure="provider_error")


def _declined(base: Completion, faults: list[str], reason: str, text: str | None) -> Completion:
    return replace(
        base,
        faults=tuple(faults),
        error=f"the model declined ({reason})",
        failure="refusal",
        refusal=redact(text) or "",
    )
