"""The providers' documented shapes, one scenario each, for the conformance server.

Each *scenario* reproduces one shape a provider's documentation gives (its page is cited
beside it and in ``docs/PROVIDERS.md``): reasoning fields, usage details, costs and errors.
A handler takes the :class:`Call` as received and returns ``(status, body, headers)``.
Genuine replies carry the scripted cooperator's answer to the prompt (as ``coop serve``
does), so whole episodes can run through any scenario.
"""

from __future__ import annotations

from collections.abc import Callable

from .litellm import LITELLM_SCENARIOS
from .shapes import Answer, Call, completion, cooperator_answer, error_answer, ok_answer

__all__ = ["SCENARIOS", "Answer", "Call", "completion"]

# ---- scenarios: one documented shape each -------------------------------------------------------
# OpenAI: https://platform.openai.com/docs/guides/error-codes ,
#         https://platform.openai.com/docs/guides/reasoning ,
#         https://platform.openai.com/docs/api-reference/chat/object


def openai_reasoning(call: Call) -> Answer:
    """o-series: max_completion_tokens only, no temperature; reasoning and cached tokens."""
    if "max_tokens" in call.body:
        return error_answer(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "invalid_request_error",
            "unsupported_parameter",
        )
    if "temperature" in call.body:
        return error_answer(
            400,
            "Unsupported value: 'temperature' does not support 0.2 with this model.",
            "invalid_request_error",
            "unsupported_value",
        )
    usage = {
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 640, "audio_tokens": 0},
    }
    reply = completion(call.body, usage=usage, refusal=None)
    reply["usage"]["completion_tokens"] += 640
    reply["usage"]["total_tokens"] += 640
    return 200, reply, {}


def openai_rate_limit(call: Call) -> Answer:
    if call.n == 0:
        return error_answer(
            429,
            "Rate limit reached for o3 on tokens per min (TPM): Limit 30000, Used 30000.",
            "tokens",
            "rate_limit_exceeded",
            **{"retry-after-ms": "50"},
        )
    return ok_answer(call.body)


def openai_long_retry_after(call: Call) -> Answer:
    return error_answer(
        429,
        "Rate limit reached for requests",
        "requests",
        "rate_limit_exceeded",
        **{"retry-after": "3600"},
    )


def openai_quota(call: Call) -> Answer:
    return error_answer(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )


def openai_bad_key(call: Call) -> Answer:
    """401 that echoes the request's key, as some gateways do."""
    key = call.authorization.removeprefix("Bearer ")
    return error_answer(
        401, f"Incorrect API key provided: {key}.", "invalid_request_error", "invalid_api_key"
    )


def openai_model_not_found(call: Call) -> Answer:
    return error_answer(
        404,
        f"The model `{call.body.get('model')}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def openai_context(call: Call) -> Answer:
    return error_answer(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted "
        "in 12000 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
    )


def openai_refusal(call: Call) -> Answer:
    return 200, completion(call.body, content="", refusal="I'm sorry, I can't help with that."), {}


def openai_server_error(call: Call) -> Answer:
    if call.n < 2:
        return error_answer(503, "The server is overloaded or not ready yet.", "server_error", None)
    return ok_answer(call.body)


# Anthropic (OpenAI SDK compatibility): https://platform.claude.com/docs/en/api/openai-sdk ,
#   errors: https://docs.claude.com/en/api/errors (529 overloaded_error)


def anthropic_ok(call: Call) -> Answer:
    if not isinstance(call.body.get("max_tokens"), int):
        return 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                "message": "max_tokens: Field required"}}, {}  # fmt: skip
    return ok_answer(call.body)


def anthropic_overloaded(call: Call) -> Answer:
    if call.n == 0:
        return (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            {},
        )
    return ok_answer(call.body)


# OpenRouter: https://openrouter.ai/docs/api/reference/errors-and-debugging ,
#   https://openrouter.ai/docs/use-cases/usage-accounting ,
#   https://openrouter.ai/docs/use-cases/reasoning-tokens


def openrouter_ok(call: Call) -> Answer:
    """Reasoning in `reasoning` and `reasoning_details`, usage with `cost` in credits (USD)."""
    usage = {
        "cost": 0.00123,
        "cost_details": {"upstream_inference_cost": None},
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    details = [
        {"type": "reasoning.text", "text": "I will send what was asked.", "format": "unknown"}
    ]
    return ok_answer(
        call.body, usage=usage, reasoning="I will send what was asked.", reasoning_details=details
    )


def openrouter_details_only(call: Call) -> Answer:
    details = [{"type": "reasoning.summary", "summary": "Summarised: send, then submit."}]
    return ok_answer(call.body, reasoning_details=details)


def openrouter_credits(call: Call) -> Answer:
    message = "Insufficient credits. Add more using https://openrouter.ai/credits"
    return 402, {"error": {"code": 402, "message": message}}, {}


def openrouter_moderation(call: Call) -> Answer:
    meta = {"reasons": ["harassment"], "flagged_input": "agent_3 asked...", "provider_name": "x"}
    message = "google/gemini-2.5-pro requires moderation on OpenRouter. Your input was flagged."
    return 403, {"error": {"code": 403, "message": message, "metadata": meta}}, {}


def openrouter_finish_error(call: Call) -> Answer:
    reply = completion(call.body, content="", finish="error")
    reply["choices"][0]["error"] = {"code": 502, "message": "Upstream provider error"}
    return 200, reply, {}


def openrouter_error_body(call: Call) -> Answer:
    return 200, {"error": {"code": 502, "message": "Provider returned error"}}, {}


def openrouter_content_filter(call: Call) -> Answer:
    return 200, completion(call.body, content="", finish="content_filter"), {}


# DeepSeek (served by DeepInfra): https://api-docs.deepseek.com/guides/reasoning_model ,
#   https://api-docs.deepseek.com/guides/kv_cache , https://deepinfra.com/docs/openai_api


def deepseek_ok(call: Call) -> Answer:
    usage = {"prompt_cache_hit_tokens": 512, "prompt_cache_miss_tokens": 100}
    return ok_answer(call.body, usage=usage, reasoning_content="They asked; I send and submit.")


def deepseek_close_only(call: Call) -> Answer:
    """R1's template opens <think> in the prompt: the reply carries only its end."""
    answer, _ = cooperator_answer(call.body)
    draft = 'A draft I will not send: {"actions": [], "private_thoughts": "draft"}'
    return ok_answer(call.body, content=f"{draft}\n</think>\n\n{answer}")


# vLLM: https://docs.vllm.ai/en/latest/features/reasoning_outputs.html (without
#   --reasoning-parser the tags stay in content; with it, `reasoning_content` / `reasoning`)


def vllm_no_parser(call: Call) -> Answer:
    answer, _ = cooperator_answer(call.body)
    return ok_answer(
        call.body, content=f'<think>\nDrafting {{"actions": []}} first.\n</think>\n{answer}'
    )


# Ollama: https://docs.ollama.com/api/openai-compatibility ,
#   https://docs.ollama.com/faq#how-can-i-specify-the-context-window-size


def ollama_truncating(call: Call) -> Answer:
    """Reads only the last num_ctx tokens of the prompt (2048 by default), silently."""
    num_ctx = ((call.body.get("options") or {}).get("num_ctx")) or 2048
    reply = completion(call.body)
    reply["usage"]["prompt_tokens"] = min(reply["usage"]["prompt_tokens"], num_ctx)
    reply["usage"]["total_tokens"] = (
        reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]
    )
    return 200, reply, {}


# Gemini (OpenAI compatibility): https://ai.google.dev/gemini-api/docs/openai ; thinking
#   tokens are billed as output but reported only in total_tokens.


def gemini_hidden_thinking(call: Call) -> Answer:
    reply = completion(call.body)
    reply["usage"]["total_tokens"] += 900
    return 200, reply, {}


# Shapes no documentation promises but servers send: they must not fail a run.


def empty_body_once(call: Call) -> Answer:
    return (200, b"", {"content-type": "application/json"}) if call.n == 0 else ok_answer(call.body)


def html_body_once(call: Call) -> Answer:
    page = b"<html><body>502 Bad Gateway</body></html>"
    return (200, page, {"content-type": "text/html"}) if call.n == 0 else ok_answer(call.body)


def list_content(call: Call) -> Answer:
    answer, _ = cooperator_answer(call.body)
    parts = [
        {"type": "thinking", "thinking": "Weighing the requests."},
        {"type": "text", "text": answer},
    ]
    return ok_answer(call.body, content=parts)


def number_content(call: Call) -> Answer:
    return ok_answer(call.body, content=42)


def bad_usage(call: Call) -> Answer:
    return ok_answer(
        call.body, usage={"prompt_tokens": "many", "completion_tokens": -5, "total_tokens": None}
    )


def echo_key(call: Call) -> Answer:
    """A gateway that echoes the request's key and URL in a moderation-like 403."""
    message = f"flagged request {call.path} with {call.authorization}: moderation"
    return 403, {"error": {"code": 403, "message": message, "metadata": {"reasons": ["x"]}}}, {}


SCENARIOS: dict[str, Callable[[Call], Answer]] = {
    "openai-reasoning": openai_reasoning,
    "openai-rate-limit": openai_rate_limit,
    "openai-long-retry-after": openai_long_retry_after,
    "openai-quota": openai_quota,
    "openai-bad-key": openai_bad_key,
    "openai-model-not-found": openai_model_not_found,
    "openai-context": openai_context,
    "openai-refusal": openai_refusal,
    "openai-server-error": openai_server_error,
    "anthropic-ok": anthropic_ok,
    "anthropic-overloaded": anthropic_overloaded,
    "openrouter-ok": openrouter_ok,
    "openrouter-details-only": openrouter_details_only,
    "openrouter-credits": openrouter_credits,
    "openrouter-moderation": openrouter_moderation,
    "openrouter-finish-error": openrouter_finish_error,
    "openrouter-error-body": openrouter_error_body,
    "openrouter-content-filter": openrouter_content_filter,
    "deepseek-ok": deepseek_ok,
    "deepseek-close-only": deepseek_close_only,
    "vllm-no-parser": vllm_no_parser,
    "ollama-truncating": ollama_truncating,
    "gemini-hidden-thinking": gemini_hidden_thinking,
    "empty-body-once": empty_body_once,
    "html-body-once": html_body_once,
    "list-content": list_content,
    "number-content": number_content,
    "bad-usage": bad_usage,
    "echo-key": echo_key,
    **LITELLM_SCENARIOS,
}
"""Scenario name (``openai-quota``, ``empty-body-once``, ...) -> handler."""
