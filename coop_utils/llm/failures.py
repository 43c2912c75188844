"""What to do when a call fails: one table, four classes, one function that decides.

Why a table: a provider answers "no" in many shapes (an HTTP status, an error code in the
body, an error inside a 200 reply, a refusal), and each shape calls for one of only four
responses. Getting the class wrong costs money or data: retrying an exhausted quota pays
nothing but stalls the grid and then records a "finished" run of lost turns; blaming a
provider's error on the model makes it look like an agent that chose not to help.

==========  =====================================================  ==========================
class       what it covers                                         what happens
==========  =====================================================  ==========================
retry       429 rate limit, 408/409/425, 5xx (529 overloaded),     tenacity retries (backoff,
            timeouts, connection errors, an empty or non-JSON      Retry-After within
            200 body                                               ``max_retry_s``); then the
                                                                   turn is lost (``llm_error``)
stop        401, 403 permission, 404 model, 402, 429               no further call by anyone;
            ``insufficient_quota`` (or its message), a gateway's   one line naming the model
            ``budget_exceeded``, any other 4xx (an invalid         and what to do; runs in
            parameter), a local error building the request, the    flight stay unfinished
            budget, a prompt that cannot fit the context window,
            nothing answering before a first answer
turn        400 ``context_length_exceeded``, 403 moderation, 413,  this turn is lost as a
            ``finish_reason: "error"``, a 200 body with ``error``  ``provider_error`` event
            and no choices (or, behind LiteLLM, as a 5xx without   (never a parse error)
            the provider's headers), content that is not text, a
            prompt the server truncated
declined    ``message.refusal``, ``finish_reason:                  a ``refusal`` event with
            "content_filter"``                                     the model's text
==========  =====================================================  ==========================

Only genuine replies are ever served from the cache as replies: a failure is recorded
(so replay reproduces the run) but marked, and cache mode asks again.

Behind a gateway (a profile with ``gateway: litellm``) the provider's meaning survives only
in the gateway's wording: LiteLLM names the provider in its message (``OpenAIException``)
when the provider made the error and forwards the provider's headers with an
``llm_provider-`` prefix; an error it made itself names no provider. :func:`advice` says
which side to fix (https://docs.litellm.ai/docs/proxy/error_reference).
"""

from __future__ import annotations

import json
import re
import socket
import textwrap
from enum import StrEnum
from typing import Any

import openai


class Failure(StrEnum):
    RETRY = "retry"
    STOP = "stop"
    TURN = "turn"
    DECLINED = "declined"


class FatalLLMError(RuntimeError):
    """A failure no retry can fix (authentication, unknown model, replay miss)."""


class StopError(FatalLLMError):
    """A stop-class failure: no further call is made by anyone in the pool, and the runs in
    flight are left unfinished so that rerunning the same command redoes them."""


class BadResponse(Exception):
    """A 200 that is not a chat completion at all (empty or HTML body): worth retrying."""


class ProviderTurnError(Exception):
    """The provider failed this one turn (error inside a 200, moderation, context length)."""


QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
        "billing_hard_limit_reached",
    }
)
"""429 codes that mean "no money left", not "slow down" (OpenAI error codes)."""
QUOTA_MESSAGES = ("exceeded your current quota", "insufficient_quota")
"""The same, as a gateway that rewrites the code keeps it: in the message (LiteLLM's 429
becomes ``type: "throttling_error"``, ``code: "429"``)."""
BUDGET_CODE = "budget_exceeded"
"""A gateway's own spending cap (LiteLLM: a 422, a 429 in older versions): no retry helps."""
CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
GATEWAY_PREFIX = "llm_provider-"
"""How LiteLLM forwards the provider's own headers (``llm_provider-retry-after``)."""
_PROVIDER_NAMED = re.compile(r"\b[A-Z]\w*Exception\b")
"""LiteLLM names the provider that made an error (``OpenAIException -``); its own name none."""


def error_code(exc: BaseException) -> str:
    """The provider's error code or type, lower-cased ('' when there is none)."""
    parts = [getattr(exc, "code", None), getattr(exc, "type", None)]
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        parts += [body.get("code"), body.get("type")]
    return " ".join(str(p).lower() for p in parts if p is not None)


def _moderation(exc: BaseException) -> bool:
    """OpenRouter's 403 for flagged input carries moderation metadata (or says so)."""
    body = getattr(exc, "body", None)
    meta = body.get("metadata") if isinstance(body, dict) else None
    if isinstance(meta, dict) and ("flagged_input" in meta or "reasons" in meta):
        return True
    text = str(getattr(exc, "message", "") or exc).lower()
    return "moderation" in text or "flagged" in text


def classify(exc: BaseException) -> Failure:
    """The class of a failed attempt raised as an exception (see the module's table); the
    ``declined`` class and errors inside a 200 reply are read from the reply itself."""
    if isinstance(exc, ProviderTurnError):
        return Failure.TURN
    retry = (BadResponse, json.JSONDecodeError, openai.APIConnectionError)
    if isinstance(exc, retry + (openai.APIResponseValidationError,)):
        return Failure.RETRY  # a body that is not JSON (empty, HTML) or not a completion
    status = getattr(exc, "status_code", None)
    if status is None:
        return Failure.STOP  # a local error building the request: it would fail every call
    code = error_code(exc)
    message = str(getattr(exc, "message", "") or "").lower()
    if _budget(exc):
        return Failure.STOP
    if status == 429:
        quota = any(c in code for c in QUOTA_CODES) or any(m in message for m in QUOTA_MESSAGES)
        return Failure.STOP if quota else Failure.RETRY
    if status >= 500 and _body_error_behind_gateway(exc):
        return Failure.TURN
    if status in (408, 409, 425) or status >= 500:
        return Failure.RETRY
    if status == 400 and (any(c in code for c in CONTEXT_CODES) or "context length" in message):
        return Failure.TURN
    if status == 413 or (status == 403 and _moderation(exc)):
        return Failure.TURN
    return Failure.STOP


def _budget(exc: BaseException) -> bool:
    message = str(getattr(exc, "message", "") or "").lower()
    return BUDGET_CODE in error_code(exc) or "budget has been exceeded" in message


def upstream(exc: BaseException) -> bool:
    """Whether a gateway's error was made by the provider behind it (LiteLLM names it)."""
    return bool(_PROVIDER_NAMED.search(str(getattr(exc, "message", "") or exc)))


def _provider_headers(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    return response is not None and any(h.startswith(GATEWAY_PREFIX) for h in response.headers)


def _body_error_behind_gateway(exc: BaseException) -> bool:
    """LiteLLM turns a provider's 200 whose body is an error (OpenRouter) into a 5xx
    ``litellm.APIError`` that names the provider but carries none of its headers (an HTTP
    error from the provider keeps them as ``llm_provider-*``): this turn only, as direct."""
    text = str(getattr(exc, "message", "") or "")
    return "litellm.APIError" in text and upstream(exc) and not _provider_headers(exc)


def unreachable(exc: BaseException) -> str | None:
    """Why nothing answers at the address, when a connection error says so: the connection
    was refused, the host name is unknown, or the server closed it without a word. ``None``
    for anything else, a timeout included (a slow server is not a wrong address). Before an
    endpoint has answered once, the client takes this as a stop: a wrong port or host is
    certain at once, and retrying it only stalls the run (after an answer it is retried)."""
    if not isinstance(exc, openai.APIConnectionError) or isinstance(exc, openai.APITimeoutError):
        return None
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if "without sending a response" in str(seen):  # httpx's RemoteProtocolError
            return "closed without a response"
        seen = seen.__cause__ or seen.__context__
    return None


UNREACHABLE = (  # the advice for unreachable(): a configuration error, not an outage
    "nothing answers at {url}: start the model server there, or point the provider's "
    "base_url (in the models file, or the variable it names) at where it listens"
)


ADVICE = {
    401: "check the key in {env} (it was refused)",
    402: "add credit to the account (the provider says it cannot pay for this request)",
    403: "the key has no access to this model; use another key or model",
    404: "check the model id in the models file (the provider does not know it)",
    400: "fix the request parameters in the models file (`params`)",
    422: "fix the request parameters in the models file (`params`)",
    429: "add credit or raise the spend limit (the quota is exhausted; retrying cannot help)",
}


GATEWAY_ADVICE = {
    401: "the gateway accepted the key in {env}, but the provider refused the key in the "
    "gateway's config (model_list: litellm_params.api_key); fix it there",
    403: "the provider refused the gateway's key for this model; fix the key or model in the "
    "gateway's config (model_list: litellm_params)",
    404: "the provider does not know the model id in the gateway's config "
    "(model_list: litellm_params.model); fix it there",
    429: "add credit or raise the spend limit at the provider behind the gateway (its quota "
    "is exhausted; retrying cannot help)",
}
"""Advice for an error the provider behind a gateway made: the fix is in the gateway's config."""


def _gateway_advice(exc: BaseException, env: str) -> str | None:
    """What to do about a stop behind a LiteLLM gateway, by which side made the error (None:
    the provider's error is about our request, and the usual advice holds)."""
    code, message = error_code(exc), str(getattr(exc, "message", "") or "")
    if _budget(exc):
        return "a budget in the gateway is spent (its message names which); raise it there or ask its owner, then rerun"
    if upstream(exc):
        status = getattr(exc, "status_code", None)
        return GATEWAY_ADVICE.get(status) if isinstance(status, int) else None
    if "no_db_connection" in code:
        return (
            f"the gateway has no key database, so it accepts only its master key: set {env} "
            "to it, or connect the gateway's database"
        )
    if "invalid model name" in message.lower():
        return (
            "the gateway has no model by this name: set `model` in the models file to a "
            "model_name of the gateway's config (GET /v1/models lists them)"
        )
    if getattr(exc, "status_code", None) in (401, 403):
        return f"the gateway refused the key in {env} (or its access to this model); check it with the gateway's owner"
    return "the gateway refused the request (see its message above); fix the gateway's config"


def advice(
    exc: BaseException,
    api_key_env: str | None,
    gateway: str | None = None,
    url: str = "its base URL",
) -> str:
    """What the user should do about a stop-class failure at ``url``; behind a ``gateway``,
    whether to fix the models file, the key, or the gateway's own config."""
    status = getattr(exc, "status_code", None)
    if unreachable(exc):
        return UNREACHABLE.format(url=url)
    if status is None:
        if isinstance(exc, TypeError):
            return (
                "the SDK refused a request parameter: provider-specific fields go under "
                "`params: {extra_body: {...}}` in the models file"
            )
        return "fix the models file"
    env = api_key_env or "the key variable"
    if gateway and (said := _gateway_advice(exc, env)):
        return said
    return ADVICE.get(status, "see the provider's message above").format(env=env)


def detail(exc: BaseException) -> str:
    """A short reason for a failed attempt, as logged (status, type, message)."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        why = unreachable(exc)
        return f"connection error ({why})" if why else "connection error"
    status = getattr(exc, "status_code", None)
    head = f"{status} {type(exc).__name__}" if status else type(exc).__name__
    code = getattr(exc, "code", None)
    head += f" ({code})" if code else ""
    text = textwrap.shorten(str(getattr(exc, "message", "") or exc), 300, placeholder=" …")
    return f"{head}: {text}" if text else head


def sdk_field(obj: Any, name: str) -> Any:
    """A field of an SDK object, declared or extra (providers add their own)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        value = (getattr(obj, "model_extra", None) or {}).get(name)
    return value


def body_error(obj: Any) -> str | None:
    """The error message carried inside a 200 body or a choice (OpenRouter), if any."""
    err = sdk_field(obj, "error")
    if err is None:
        return None
    if isinstance(err, dict):
        code = err.get("code")
        return f"{code}: {err.get('message', '')}" if code is not None else str(err.get("message"))
    return str(err)
