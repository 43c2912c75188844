"""Provider conformance: one test per row of the provider x concern table in docs/PROVIDERS.md.

Each test points a models file at a scenario of the conformance server
(``tests/conformance/``), which answers in the shape the cited documentation
gives, and checks what the client, the agent and the grid make of it: parameters sent,
reasoning and usage read, and every failure in its class (retry, stop everything, this
turn only, the model declined), never cached as a reply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from pathlib import Path

import pytest
from conformance import ConformanceServer

from coop_utils.agents import expand_agents, scripted_agent
from coop_utils.cli import main as coop
from coop_utils.game.config import EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.events import read_events
from coop_utils.game.prompts import render_messages
from coop_utils.llm.agent import LLMAgent, split_think
from coop_utils.llm.client import ClientPool, Completion, StopError
from coop_utils.llm.models import ParamError, resolve

KEY_VAR = "COOP_CONFORMANCE_KEY"


@pytest.fixture(scope="module")
def conf():
    with ConformanceServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fake_key(monkeypatch) -> str:
    key = f"sk-fake-{uuid.uuid4().hex}"  # unique per test: any hit in an output is a leak
    monkeypatch.setenv(KEY_VAR, key)
    return key


def models_file(tmp_path: Path, conf, scenario: str, model: str = "some-model", **entry) -> str:
    """A models file with provider 'p' at the scenario and alias 'm' for ``model``."""
    provider = {
        "base_url": conf.base_url(scenario),
        "api_key_env": KEY_VAR,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "max_attempts": 3,
        "prices": {"input": 2.0, "cached_input": 0.5, "output": 8.0},
    }
    provider.update(entry.pop("provider", {}))
    data = {
        "providers": {"p": provider},
        "models": {"m": {"provider": "p", "model": model, **entry}},
    }
    path = tmp_path / f"{scenario}-{uuid.uuid4().hex[:8]}.yaml"  # files are read once
    path.write_text(json.dumps(data))  # JSON is YAML
    return str(path)


def observation(rounds: int = 1):
    """An observation after ``rounds`` scripted rounds (prompts grow with the history)."""
    env = Environment(EnvConfig(), seed=1)
    agents = [scripted_agent(s, k) for k, s in enumerate(expand_agents("cooperator", 10))]
    obs = None
    for r in range(rounds):
        for i in env.start_round():
            env.begin_turn(i)
            obs = env.observe(i)
            if r == rounds - 1:
                return obs
            env.apply_turn(i, asyncio.run(agents[i].act(obs)))
        env.end_round()
    return obs


def complete(tmp_path, conf, scenario, obs=None, mode="live", pool_kw=None, **entry):
    """One call through a pool: (completion, pool) or raises."""
    messages = render_messages(obs or observation())

    async def go():
        pool = ClientPool(mode, None, models_file=models_file(tmp_path, conf, scenario, **entry))
        for k, v in (pool_kw or {}).items():
            setattr(pool, k, v)
        async with pool:
            return await pool.client("m").complete(
                messages, "run/agent_0", where="run r, round 1"
            ), pool

    return asyncio.run(go())


def act(tmp_path, conf, scenario, obs=None, **entry):
    """One agent turn through the LLM agent (what the environment would log)."""

    async def go():
        pool = ClientPool("live", None, models_file=models_file(tmp_path, conf, scenario, **entry))
        async with pool:
            return await LLMAgent(pool.client("m"), "run").act(obs or observation())

    return asyncio.run(go())


# ---- OpenAI ------------------------------------------------------------------------------------
# https://platform.openai.com/docs/guides/reasoning (o-series parameters)


def test_openai_reasoning_model_gets_max_completion_tokens_and_no_temperature(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "openai-reasoning", model="o3-2025-04-16",
                       params={"max_completion_tokens": 4000})  # fmt: skip
    assert done.failure is None and done.text.startswith("{")
    (sent,) = conf.calls_to("openai-reasoning")
    assert sent.body["max_completion_tokens"] == 4000 and "temperature" not in sent.body
    for bad, says in (
        ({"max_tokens": 100}, "max_completion_tokens"),
        ({"temperature": 0.2}, "temperature"),
    ):
        with pytest.raises(ParamError, match=says):
            complete(tmp_path, conf, "openai-reasoning", model="o3-2025-04-16", params=bad)
    assert len(conf.calls_to("openai-reasoning")) == 1, "refused before any call"


# https://platform.openai.com/docs/api-reference/chat/object (usage details)
def test_openai_usage_reasoning_and_cached_tokens(tmp_path, conf):
    done, pool = complete(tmp_path, conf, "openai-reasoning", model="o3-2025-04-16")
    assert done.reasoning_tokens == 640 and done.cached_input_tokens == 1024
    fresh = done.input_tokens - 1024
    expected = (fresh * 2.0 + 1024 * 0.5 + done.output_tokens * 8.0) / 1e6
    assert done.cost_usd == pytest.approx(expected) and done.provider_cost_usd is None
    assert pool.budget.spent == pytest.approx(expected)


# https://platform.openai.com/docs/guides/error-codes (429 rate limit: retry with backoff)
def test_openai_rate_limit_is_retried(tmp_path, conf):
    done, pool = complete(tmp_path, conf, "openai-rate-limit")
    assert done.failure is None and done.attempts == 2
    assert done.faults[0].startswith("429 RateLimitError") and pool.usage.retried_attempts == 1


def test_openai_retry_after_beyond_max_retry_s_gives_the_turn_up_at_once(tmp_path, conf):
    start = time.perf_counter()
    done, _ = complete(tmp_path, conf, "openai-long-retry-after", max_retry_s=30)
    assert time.perf_counter() - start < 5, "never sleeps an hour"
    assert done.failure == "lost" and "asked to wait 3600 s" in done.error


# https://platform.openai.com/docs/guides/error-codes (429 insufficient_quota: do not retry)
def test_openai_insufficient_quota_stops_everything(tmp_path, conf):
    with pytest.raises(StopError, match="quota is exhausted"):
        complete(tmp_path, conf, "openai-quota")
    assert len(conf.calls_to("openai-quota")) == 1, "never retried"


# https://platform.openai.com/docs/guides/error-codes (401 invalid authentication)
def test_openai_401_stops_and_an_echoed_key_is_redacted(tmp_path, conf, fake_key):
    with pytest.raises(StopError) as err:
        complete(tmp_path, conf, "openai-bad-key")
    assert "401" in str(err.value) and KEY_VAR in str(err.value)
    assert fake_key not in str(err.value) and "[redacted]" in str(err.value)


# https://platform.openai.com/docs/guides/error-codes (404 model not found)
def test_openai_unknown_model_stops(tmp_path, conf):
    with pytest.raises(StopError, match="check the model id"):
        complete(tmp_path, conf, "openai-model-not-found")


# https://platform.openai.com/docs/guides/error-codes (400 context_length_exceeded)
def test_openai_context_length_loses_this_turn_only(tmp_path, conf):
    turn = act(tmp_path, conf, "openai-context")
    assert turn.error_kind == "provider_error" and "context_length" in turn.error
    assert turn.issues == (), "not the model's parse error"


# https://platform.openai.com/docs/api-reference/chat/object (message.refusal)
def test_openai_refusal_is_a_refusal_event_with_its_text(tmp_path, conf):
    turn = act(tmp_path, conf, "openai-refusal")
    assert turn.error_kind == "refusal" and turn.raw == "I'm sorry, I can't help with that."
    assert turn.calls, "the declined call was billed and is logged"


# https://platform.openai.com/docs/guides/error-codes (503: retry after a brief wait)
def test_openai_5xx_is_retried(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "openai-server-error")
    assert done.failure is None and done.attempts == 3


# ---- Anthropic's OpenAI-compatible endpoint ----------------------------------------------------
# https://platform.claude.com/docs/en/api/openai-sdk (max_tokens supported; model names)


def test_anthropic_profile_sends_max_tokens(tmp_path, conf):
    paper = resolve("claude-sonnet-4")
    done, _ = complete(tmp_path, conf, "anthropic-ok", model=paper.model, params=paper.params)
    assert done.failure is None
    assert conf.calls_to("anthropic-ok")[-1].body["max_tokens"] == 1000  # as the authors sent it


# https://docs.claude.com/en/api/errors (529 overloaded_error)
def test_anthropic_529_overloaded_is_retried(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "anthropic-overloaded")
    assert done.failure is None and done.faults[0].startswith("529")


# ---- OpenRouter ---------------------------------------------------------------------------------
# https://openrouter.ai/docs/use-cases/usage-accounting (usage.cost)


def test_openrouter_reported_cost_is_preferred_and_both_recorded(tmp_path, conf):
    done, pool = complete(tmp_path, conf, "openrouter-ok")
    assert done.provider_cost_usd == 0.00123 and done.cost_usd == 0.00123
    assert done.priced_cost_usd and done.priced_cost_usd != done.cost_usd
    assert pool.budget.spent == pytest.approx(0.00123)
    assert set(done.call_event()) >= {"cost_usd", "provider_cost_usd", "priced_cost_usd"}


# https://openrouter.ai/docs/use-cases/reasoning-tokens (reasoning, reasoning_details)
def test_openrouter_reasoning_and_reasoning_details(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "openrouter-ok")
    assert done.reasoning == "I will send what was asked." and done.reasoning_tokens == 12
    only, _ = complete(tmp_path, conf, "openrouter-details-only")
    assert only.reasoning == "Summarised: send, then submit."


# https://openrouter.ai/docs/api/reference/errors-and-debugging (402 insufficient credits)
def test_openrouter_402_stops_everything(tmp_path, conf):
    with pytest.raises(StopError, match="add credit"):
        complete(tmp_path, conf, "openrouter-credits")
    assert len(conf.calls_to("openrouter-credits")) == 1


# https://openrouter.ai/docs/api/reference/errors-and-debugging (403 moderation)
def test_openrouter_moderation_403_loses_this_turn_only(tmp_path, conf):
    turn = act(tmp_path, conf, "openrouter-moderation")
    assert turn.error_kind == "provider_error" and "moderation" in turn.error


def _complete_twice(tmp_path, conf, scenario: str, **profile):
    """One turn asked twice through a cache: what a resume makes of the first answer."""
    cache = tmp_path / "cache.jsonl"
    f = models_file(tmp_path, conf, scenario, **profile)
    messages = render_messages(observation())

    async def twice():
        for _ in range(2):
            async with ClientPool("cache", cache, models_file=f) as pool:
                done = await pool.client("m").complete(messages, "run/agent_0")
        return done

    return asyncio.run(twice())


# https://openrouter.ai/docs/api/reference/errors-and-debugging (errors after the model
# started: a 200 with finish_reason "error" and an error on the choice)
def test_openrouter_finish_reason_error_is_a_provider_error_not_cached(tmp_path, conf):
    done = _complete_twice(tmp_path, conf, "openrouter-finish-error")
    assert done.failure == "provider_error" and "Upstream provider error" in done.error
    assert len(conf.calls_to("openrouter-finish-error")) == 2, "asked again, never replayed"


def test_openrouter_error_body_without_choices_is_a_provider_error(tmp_path, conf):
    turn = act(tmp_path, conf, "openrouter-error-body")
    assert turn.error_kind == "provider_error" and "Provider returned error" in turn.error


def test_openrouter_content_filter_is_a_refusal(tmp_path, conf):
    turn = act(tmp_path, conf, "openrouter-content-filter")
    assert turn.error_kind == "refusal" and "content_filter" in turn.error


# ---- DeepSeek (DeepInfra) -----------------------------------------------------------------------
# https://api-docs.deepseek.com/guides/reasoning_model , https://api-docs.deepseek.com/guides/kv_cache


def test_deepseek_reasoning_content_and_cache_hit_tokens(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "deepseek-ok")
    assert done.reasoning == "They asked; I send and submit." and done.cached_input_tokens == 512
    assert done.reasoning_tokens is None, "not reported: unknown, not zero"


# https://api-docs.deepseek.com/guides/reasoning_model (R1 chat template opens <think>)
def test_deepseek_closing_think_tag_alone_splits_reasoning(tmp_path, conf):
    lenient = dataclasses.replace(observation(), parsing="lenient")
    turn = act(tmp_path, conf, "deepseek-close-only", obs=lenient)
    assert "A draft I will not send" in turn.reasoning
    assert turn.private_thoughts != "draft" and "draft" not in turn.raw
    assert split_think("x</think>y") == ("x", "y") and split_think("plain") == (None, "plain")
    # The authors' reading (strict, the default) cuts only with both tags: the draft is read.
    turn = act(tmp_path, conf, "deepseek-close-only")
    assert turn.reasoning is None and turn.private_thoughts == "draft"
    assert split_think("x</think>y", "strict") == (None, "x</think>y")
    assert split_think("<think>x</think>y", "strict") == ("x", "y")


# ---- vLLM ---------------------------------------------------------------------------------------
# https://docs.vllm.ai/en/latest/features/reasoning_outputs.html


def test_vllm_think_tags_in_content_without_a_reasoning_parser(tmp_path, conf):
    turn = act(tmp_path, conf, "vllm-no-parser")
    assert turn.reasoning.startswith("Drafting") and turn.actions
    assert turn.calls[0]["reasoning_tokens"] is None


def test_vllm_extra_fields_must_sit_in_extra_body(tmp_path, conf):
    with pytest.raises(ParamError, match="extra_body"):
        complete(tmp_path, conf, "vllm-no-parser", params={"top_k": 20})
    done, _ = complete(tmp_path, conf, "vllm-no-parser", params={"extra_body": {"top_k": 20}})
    assert done.failure is None and conf.calls_to("vllm-no-parser")[-1].body["top_k"] == 20


def test_an_output_cap_that_is_not_a_whole_number_is_refused_before_any_call(tmp_path, conf):
    before = len(conf.calls_to("vllm-no-parser"))
    for bad in ("1000", 0, 2.5, True):
        with pytest.raises(ParamError, match="positive whole number"):
            complete(tmp_path, conf, "vllm-no-parser", params={"max_tokens": bad})
    assert len(conf.calls_to("vllm-no-parser")) == before, "no call was sent"


# ---- Ollama -------------------------------------------------------------------------------------
# https://docs.ollama.com/faq#how-can-i-specify-the-context-window-size (num_ctx; silent cut)


def test_ollama_num_ctx_is_sent_from_the_context_window(tmp_path, conf):
    ollama = resolve("ollama:llama3.1")
    kw = {"context_window": ollama.context_window, "num_ctx_from_window": True}
    done, _ = complete(tmp_path, conf, "ollama-truncating", obs=observation(12), **kw)
    assert done.failure is None
    assert conf.calls_to("ollama-truncating")[-1].body["options"]["num_ctx"] == 32768


def test_ollama_silent_truncation_is_a_provider_error(tmp_path, conf):
    turn = act(tmp_path, conf, "ollama-truncating", obs=observation(12))
    assert turn.error_kind == "provider_error" and "truncated the prompt" in turn.error


def test_a_prompt_that_cannot_fit_is_refused_before_sending(tmp_path, conf):
    with pytest.raises(StopError, match=r"run r, round 1.*cannot fit.*context window of 1,000"):
        complete(tmp_path, conf, "anthropic-ok", context_window=1000, params={"max_tokens": 10})
    assert not conf.calls_to("anthropic-ok") or all(
        c.body.get("max_tokens") != 10 for c in conf.calls_to("anthropic-ok")
    )


# ---- Gemini's OpenAI-compatible endpoint --------------------------------------------------------
# https://ai.google.dev/gemini-api/docs/openai (thinking tokens: in total_tokens only)


def test_gemini_hidden_thinking_tokens_are_counted_and_priced(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "gemini-hidden-thinking")
    assert done.reasoning_tokens == 900
    visible = done.output_tokens - 900
    assert done.cost_usd == pytest.approx((done.input_tokens * 2.0 + (visible + 900) * 8.0) / 1e6)


# ---- a LiteLLM proxy in front of a provider -----------------------------------------------------
# https://docs.litellm.ai/docs/proxy/error_reference , .../proxy/error_diagnosis ,
# .../proxy/budget_exceeded_errors , .../proxy/response_headers , .../proxy/request_headers
GATEWAY = {"provider": {"gateway": "litellm"}}


def test_litellm_choice_error_kept_under_provider_specific_fields_is_a_provider_error(
    tmp_path, conf
):
    done = _complete_twice(tmp_path, conf, "litellm-choice-error", **GATEWAY)
    assert done.failure == "provider_error" and "Upstream provider error" in done.error
    assert len(conf.calls_to("litellm-choice-error")) == 2, "asked again, never replayed"
    turn = act(tmp_path, conf, "litellm-choice-error", **GATEWAY)
    assert turn.error_kind == "provider_error" and turn.issues == (), "not the model's"


@pytest.mark.parametrize("scenario", ["litellm-quota", "litellm-budget", "litellm-budget-429"])
def test_litellm_quota_and_budget_stop_at_once(tmp_path, conf, scenario):
    with pytest.raises(StopError) as err:
        complete(tmp_path, conf, scenario, **GATEWAY)
    assert len(conf.calls_to(scenario)) == 1, "never retried"
    said = (
        "budget in the gateway is spent" if "budget" in scenario else "provider behind the gateway"
    )
    assert said in str(err.value)


def test_litellm_forwarded_retry_after_gives_the_turn_up_at_once(tmp_path, conf):
    start = time.perf_counter()
    done, _ = complete(tmp_path, conf, "litellm-retry-after", max_retry_s=30, **GATEWAY)
    assert time.perf_counter() - start < 5, "never sleeps an hour"
    assert done.failure == "lost" and "asked to wait 3600 s" in done.error
    assert len(conf.calls_to("litellm-retry-after")) == 1


def test_litellm_router_retries_are_turned_off_and_counted_as_faults(tmp_path, conf):
    done, pool = complete(tmp_path, conf, "litellm-retried", **GATEWAY)
    assert conf.calls_to("litellm-retried")[-1].headers["x-litellm-num-retries"] == "0"
    assert done.failure is None and done.attempts == 1
    # a gateway that ignores the header: its retries are this turn's faults
    done, pool = complete(tmp_path, conf, "litellm-retried", params={"extra_headers": {"x-litellm-num-retries": "2"}}, **GATEWAY)  # fmt: skip
    assert done.attempts == 3 and pool.usage.retried_attempts == 2
    assert all("x-litellm-attempted-retries" in f for f in done.faults)


def test_litellm_200_error_body_relayed_as_a_502_loses_this_turn_only(tmp_path, conf):
    turn = act(tmp_path, conf, "litellm-body-error", **GATEWAY)
    assert turn.error_kind == "provider_error" and "Provider returned error" in turn.error
    assert len(conf.calls_to("litellm-body-error")) == 1, "not retried"
    done, _ = complete(tmp_path, conf, "litellm-upstream-503", **GATEWAY)
    assert done.failure is None and done.attempts == 2, "an HTTP 5xx is still retried"


@pytest.mark.parametrize(
    "scenario, says",
    [
        ("litellm-upstream-401", "provider refused the key in the gateway's config"),
        ("litellm-upstream-404", "model id in the gateway's config"),
        ("litellm-unknown-model", "model_name of the gateway's config"),
        ("litellm-no-db", "no key database"),
        ("litellm-budget", "budget in the gateway"),
    ],
)
def test_litellm_advice_says_which_side_to_fix(tmp_path, conf, scenario, says):
    with pytest.raises(StopError) as err:
        complete(tmp_path, conf, scenario, **GATEWAY)
    assert says in str(err.value) and "`params`" not in str(err.value)


def test_litellm_upstream_model_is_recorded_beside_the_alias(tmp_path, conf):
    turn = act(tmp_path, conf, "litellm-retried", **GATEWAY)
    (call,) = turn.calls
    assert call["upstream_model"] == "openai/gpt-4o-2024-08-06" and call["model"] == "some-model"
    done, _ = complete(tmp_path, conf, "openai-server-error")
    assert "upstream_model" not in done.call_event(), "only behind a gateway"


# ---- any server ---------------------------------------------------------------------------------


def test_empty_200_body_is_retried(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "empty-body-once")
    assert done.failure is None and done.attempts == 2


def test_html_200_body_is_retried(tmp_path, conf):
    done, _ = complete(tmp_path, conf, "html-body-once")
    assert done.failure is None and done.attempts == 2


def test_content_as_list_of_parts_is_normalised(tmp_path, conf):
    turn = act(tmp_path, conf, "list-content")
    assert turn.error is None and turn.actions and turn.reasoning == "Weighing the requests."


def test_content_as_a_number_loses_the_turn_and_is_not_cached(tmp_path, conf):
    turn = act(tmp_path, conf, "number-content")
    assert turn.error_kind == "provider_error" and "not text" in turn.error
    rec = Completion(key="k", error="x", failure="provider_error").record()
    assert rec["error"], "a failure record is never served as a reply (see cache mode test)"


def test_invalid_token_counts_are_unknown_and_charged_at_worst(tmp_path, conf):
    done, pool = complete(tmp_path, conf, "bad-usage", max_output_tokens=100)
    assert done.input_tokens is None and done.output_tokens is None
    assert "prompt_tokens='many'" in done.usage_error and "completion_tokens=-5" in done.usage_error
    assert pool.budget.unsure == pytest.approx(pool.budget.largest_reservation)
    assert pool.budget.unsure > 0, "an unreadable usage is charged at the call's worst case"


def test_unpriced_live_model_is_refused_under_a_cap_unless_allowed(tmp_path, conf):
    with pytest.raises(StopError, match="no known price"):
        _capped(tmp_path, conf, allow=False)
    done, _ = _capped(tmp_path, conf, allow=True)
    assert done.failure is None


def _capped(tmp_path, conf, allow):
    f = models_file(tmp_path, conf, "anthropic-ok", params={"max_tokens": 10})
    data = json.loads(Path(f).read_text())
    data["providers"]["p"].pop("prices")
    Path(f).write_text(json.dumps(data))

    async def go():
        async with ClientPool(
            "live", None, models_file=f, max_cost=1.0, allow_unpriced=allow
        ) as pool:
            return await pool.client("m").complete(render_messages(observation()), "s"), pool

    return asyncio.run(go())


def test_an_echoed_key_reaches_no_file_and_no_console(
    tmp_path, conf, fake_key, capsys, monkeypatch
):
    """A gateway echoes the key and a token in the URL: search every output for both."""
    token = f"tok-{uuid.uuid4().hex}"
    monkeypatch.setenv("COOP_URL_TOKEN", token)
    url = f"http://{conf.host}:{conf.port}/echo-key/t/${{COOP_URL_TOKEN}}/v1"
    data = {
        "providers": {
            "echo": {"base_url": url, "api_key_env": KEY_VAR, "prices": {"input": 1, "output": 1},
                     "max_output_tokens": 100},
            "bad": {"base_url": conf.base_url("openai-bad-key"), "api_key_env": KEY_VAR,
                    "prices": {"input": 1, "output": 1}, "max_output_tokens": 100},
        },
        "models": {"echoing": {"provider": "echo", "model": "x"}, "refused": {"provider": "bad", "model": "y"}},
    }  # fmt: skip
    mf = tmp_path / "models.yaml"
    mf.write_text(json.dumps(data))
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps({
        "models": ["echoing", "refused"], "runs": 1, "mode": "live",
        "env": {"rounds": 1, "on_agent_error": "lose_turn"},
        "episodes_in_flight": 1, "models_file": str(mf), "max_cost": 5,
    }))  # fmt: skip
    out = tmp_path / "out"
    code = coop(["grid", str(grid), "--out", str(out), "--json"])
    console = capsys.readouterr()
    code2 = coop(["grid", str(grid), "--out", str(out)])
    console2 = capsys.readouterr()
    assert code == code2 == 2, "stopped by the 401"
    summary = json.loads(console.out)
    assert summary["provider_errors"] == 10 and summary["stopped"]
    texts = [console.out, console.err, console2.out, console2.err]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(texts) > 8 and any("[redacted]" in t for t in texts)
    for text in texts:
        assert fake_key not in text and token not in text
    run = json.loads(next(out.rglob("run.json")).read_text())
    assert run["llm"]["echoing"]["base_url"] == url, "the template, not its expansion"
    events = list(read_events(next(out.rglob("events.jsonl"))))
    assert sum(e.kind == "provider_error" for e in events) == 10
