"""Model profiles, the response cache and the client's fault handling, without a server."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from coop_utils.game.config import PAPER_MODELS
from coop_utils.llm.cache import ResponseCache, request_key
from coop_utils.llm.completion import Completion, Usage
from coop_utils.llm.failures import Failure, classify, detail
from coop_utils.llm.models import MissingKeyError, UnknownModelError, load_models, resolve
from coop_utils.llm.responses import retry_after


def test_the_papers_eight_models_have_profiles_with_prices():
    for alias in PAPER_MODELS:
        p = resolve(alias)
        assert p.base_url.startswith("https://") and p.api_key_env
        assert p.prices.input > 0 and p.prices.output > p.prices.input
        assert p.context_window, "prompts are measured and a call's worst case is bounded"
        assert not p.scripted and "temperature" not in p.params, "provider defaults"
    assert resolve("claude-sonnet-4").base_url.startswith("https://api.anthropic.com")
    assert resolve("gemini-2.5-pro").model == "google/gemini-2.5-pro"
    assert "deepinfra" in resolve("deepseek-r1").base_url


def test_provider_prefix_and_local_scripted_models(monkeypatch):
    monkeypatch.delenv("COOP_LOCAL_URL", raising=False)
    assert resolve("openai:gpt-4o").model == "gpt-4o"
    local = resolve("local:withholder")
    assert local.model == "scripted/withholder" and local.scripted and local.send_seed
    assert local.base_url == "http://127.0.0.1:8765/v1"
    monkeypatch.setenv("COOP_LOCAL_URL", "http://127.0.0.1:9999/v1")
    assert resolve("local:perfect").base_url == "http://127.0.0.1:9999/v1"
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434/v1")
    assert resolve("ollama:llama3.1").base_url == "http://gpu-box:11434/v1"


def test_unknown_model_and_missing_key_say_what_to_do(monkeypatch):
    with pytest.raises(UnknownModelError, match="PROVIDER:MODEL_ID"):
        resolve("gpt-9")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY.*No call was made"):
        resolve("o3").api_key()
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    assert resolve("vllm:my-model").api_key() == "not-needed", "vLLM without auth"


def test_user_models_file_is_merged_over_ours(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        "providers:\n  openai:\n    concurrency: 2\n"
        "models:\n  my-model:\n    provider: openai\n    model: gpt-4o\n"
        "    params: {temperature: 0}\n"
    )
    providers, models = load_models(f)
    assert providers["openai"]["concurrency"] == 2 and "o3" in models
    p = resolve("my-model", f)
    assert p.params == {"temperature": 0} and p.concurrency == 2
    assert "api_key" not in json.dumps(p.public()).replace("api_key_env", "")


def test_cost_counts_cached_input_at_its_own_price():
    prices = resolve("o3").prices
    assert prices.cost(1_000_000, 0, 0) == pytest.approx(2.0)
    assert prices.cost(1_000_000, 1_000_000, 0) == pytest.approx(0.5)
    assert prices.cost(0, 0, 1_000_000) == pytest.approx(8.0)


def test_request_key_covers_everything_that_determines_a_reply():
    base = ("openai", "o3", [{"role": "user", "content": "hi"}], {}, "run/agent_0")
    k = request_key(*base)
    assert k == request_key(*base)
    variants = [
        ("local", *base[1:]),
        (base[0], "o3-mini", *base[2:]),
        (*base[:2], [{"role": "user", "content": "hi!"}], *base[3:]),
        (*base[:3], {"temperature": 0}, base[4]),
        (*base[:4], "run/agent_1"),
    ]
    assert len({request_key(*v) for v in variants} | {k}) == 6


def test_cache_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = ResponseCache(path)
    cache.put(Completion("k1", text="one").record())
    cache.put(Completion("k2", text="two").record())
    with open(path, "a") as fh:
        fh.write('{"key": "k3", "text": "cut of')  # a crash mid-write
    again = ResponseCache(path)
    assert again.torn_lines == 1 and len(again) == 2
    again.put(Completion("k3", text="three").record())
    final = ResponseCache(path)
    assert final.get("k3")["text"] == "three" and final.torn_lines == 0, "the cut was cut off"
    assert Completion.from_record(final.get("k1")).text == "one"


def _status_error(cls, status: int, headers: dict[str, str] | None = None):
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return cls("boom", response=response, body=None)


def test_retry_classification_and_retry_after():
    limited = _status_error(openai.RateLimitError, 429, {"retry-after": "2"})
    assert classify(limited) is Failure.RETRY and retry_after(limited) == 2.0
    assert detail(limited).startswith("429 RateLimitError")
    ms = _status_error(openai.RateLimitError, 429, {"retry-after-ms": "150"})
    assert retry_after(ms) == pytest.approx(0.15)
    assert classify(_status_error(openai.InternalServerError, 503)) is Failure.RETRY
    bad = _status_error(openai.BadRequestError, 400)
    assert classify(bad) is Failure.STOP and retry_after(bad) is None
    timeout = openai.APITimeoutError(request=httpx.Request("POST", "http://x"))
    assert classify(timeout) is Failure.RETRY and detail(timeout) == "timeout"


def test_usage_separates_spent_from_replayed():
    u = Usage()
    u.add(Completion("a", cost_usd=1.0, attempts=2, faults=("429 x",)))
    u.add(Completion("b", cost_usd=2.0, attempts=4, from_cache=True))
    u.add(Completion("c", attempts=3, faults=("500 x",) * 3, error="gave up", failure="lost"))
    assert (u.live_calls, u.cached_calls, u.lost_turns) == (2, 1, 1)
    assert u.spent_usd == 1.0 and u.recorded_usd == 3.0
    assert u.retried_attempts == 3, "retries of live calls only, never replayed ones"


def test_a_gzip_cache_reads_and_appends(tmp_path):
    path = tmp_path / "cache.jsonl.gz"
    cache = ResponseCache(path)
    cache.put(Completion("k1", text="one").record())
    cache.close()
    again = ResponseCache(path)
    again.put(Completion("k2", text="two").record())  # a second gzip member
    again.close()
    final = ResponseCache(path)
    assert final.get("k1")["text"] == "one" and final.get("k2")["text"] == "two"
    assert final.torn_lines == 0


def test_written_files_are_readable_by_others(tmp_path):
    import os
    import stat

    from coop_utils.game.events import write_atomic

    write_atomic(tmp_path / "run.json", "{}")
    mode = stat.S_IMODE(os.stat(tmp_path / "run.json").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
