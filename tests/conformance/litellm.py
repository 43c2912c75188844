"""A LiteLLM proxy (1.108) in front of a provider, answering as its documentation and its replies
show: what a gateway keeps of the provider's meaning, and where.

LiteLLM's pages: the error body and which side made an error,
https://docs.litellm.ai/docs/proxy/error_reference and
https://docs.litellm.ai/docs/proxy/error_diagnosis (a provider's error names it,
``OpenAIException``; the gateway's own names none); its budget error,
https://docs.litellm.ai/docs/proxy/budget_exceeded_errors (``budget_exceeded``, 422, or 429
where ``budget_exceeded_status_code`` asks for it as older versions sent); its headers,
https://docs.litellm.ai/docs/proxy/response_headers (the provider's own forwarded as
``llm_provider-*``, ``x-litellm-model-name``, ``x-litellm-attempted-retries``) and
https://docs.litellm.ai/docs/proxy/request_headers (``x-litellm-num-retries``); its router
retries twice by default, https://docs.litellm.ai/docs/proxy/reliability. The error texts
are those a real proxy sent in front of the conformance server (``tests/test_gateway.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from .shapes import Answer, Call, completion

__all__ = ["LITELLM_SCENARIOS"]

FORWARDED = {"llm_provider-content-type": "application/json", "llm_provider-server": "uvicorn"}
"""The provider's own headers, as the proxy forwards them on an error the provider sent."""


def _error(status: int, message: str, kind: str, **headers: str) -> Answer:
    """The proxy's error body: its message, a coarse type, and the status again as ``code``."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return status, body, headers


def _upstream(status: int, exception: str, message: str, kind: str, **headers: str) -> Answer:
    """An error the provider made, as the proxy relays it: named, with the provider's headers."""
    text = (
        f"litellm.{exception}: {exception}: OpenAIException - {message}\n\nLiteLLM: model group "
        "'m' failed with the error above. No fallback was attempted."
    )
    return _error(status, text, kind, **FORWARDED, **headers)


def _retries(call: Call) -> int:
    """What the proxy's router does to a failing upstream call: two retries unless told."""
    return int(call.headers.get("x-litellm-num-retries", 2))


def litellm_choice_error(call: Call) -> Answer:
    """OpenRouter's 200 with finish_reason "error" and choice.error, after the proxy: "stop",
    empty content, the provider's meaning under provider_specific_fields."""
    reply = completion(call.body, content="")
    reply["choices"][0]["provider_specific_fields"] = {
        "error": {"code": 502, "message": "Upstream provider error"},
        "native_finish_reason": "error",
    }
    return 200, reply, {}


def litellm_quota(call: Call) -> Answer:
    """OpenAI's insufficient_quota 429 after the proxy: only the message still says so."""
    said = "You exceeded your current quota, please check your plan and billing details."
    return _upstream(429, "RateLimitError", said, "throttling_error")


def litellm_budget(call: Call) -> Answer:
    said = "Budget has been exceeded! Current cost: 0.99, Max budget: 0.5"
    return _error(422, said, "budget_exceeded")


def litellm_budget_429(call: Call) -> Answer:
    said = "Budget has been exceeded! Current cost: 0.99, Max budget: 0.5"
    return _error(429, said, "budget_exceeded")


def litellm_retry_after(call: Call) -> Answer:
    """A daily limit: the provider's Retry-After, forwarded with the proxy's prefix."""
    said = "Rate limit reached for requests per day (RPD)"
    return _upstream(
        429, "RateLimitError", said, "throttling_error", **{"llm_provider-retry-after": "3600"}
    )


def litellm_retried(call: Call) -> Answer:
    """A reply after the router's own retries, naming the upstream model it called."""
    reply = completion(call.body)
    headers = {
        "x-litellm-model-name": "openai/gpt-4o-2024-08-06",
        "x-litellm-attempted-retries": str(_retries(call)),
        "x-litellm-max-retries": str(_retries(call)),
    }
    return 200, reply, headers


def litellm_body_error(call: Call) -> Answer:
    """OpenRouter's 200 whose body is an error: a 502 naming the provider, none of its headers."""
    text = (
        "litellm.APIError: APIError: OpenrouterException - Provider returned error\n\nLiteLLM: "
        "model group 'm' failed with the error above. No fallback was attempted."
    )
    return _error(502, text, "internal_server_error")


def litellm_upstream_503(call: Call) -> Answer:
    """An HTTP 503 from the provider: retried (it carries the provider's headers)."""
    if call.n == 0:
        said = "The server is overloaded or not ready yet."
        return _upstream(503, "ServiceUnavailableError", said, "internal_server_error")
    return 200, completion(call.body), {}


def litellm_upstream_401(call: Call) -> Answer:
    """The gateway took our key; the provider refused the one in the gateway's config."""
    said = "Incorrect API key provided: sk-upstream."
    return _upstream(401, "AuthenticationError", said, "authentication_error")


def litellm_upstream_404(call: Call) -> Answer:
    said = "The model `gpt-4o-typo` does not exist or you do not have access to it."
    return _upstream(404, "NotFoundError", said, "invalid_request_error")


def litellm_unknown_model(call: Call) -> Answer:
    said = (
        f"/chat/completions: Invalid model name passed in model={call.body.get('model')}. "
        "Call `/v1/models` to view available models for your key."
    )
    return _error(400, said, "invalid_request_error")


def litellm_no_db(call: Call) -> Answer:
    """A proxy with a master key and no key database, sent any other key."""
    return _error(400, "No connected db.", "no_db_connection")


LITELLM_SCENARIOS: dict[str, Callable[[Call], Answer]] = {
    "litellm-choice-error": litellm_choice_error,
    "litellm-quota": litellm_quota,
    "litellm-budget": litellm_budget,
    "litellm-budget-429": litellm_budget_429,
    "litellm-retry-after": litellm_retry_after,
    "litellm-retried": litellm_retried,
    "litellm-body-error": litellm_body_error,
    "litellm-upstream-503": litellm_upstream_503,
    "litellm-upstream-401": litellm_upstream_401,
    "litellm-upstream-404": litellm_upstream_404,
    "litellm-unknown-model": litellm_unknown_model,
    "litellm-no-db": litellm_no_db,
}
"""Scenario name -> handler, merged into the providers' ``SCENARIOS``."""
