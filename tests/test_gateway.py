"""One real LiteLLM proxy between the client and our stand-ins (docs/PROVIDERS.md, "Behind a
gateway"): the happy path is the direct run's, and each failure keeps its class.

The proxy lives in its own environment (``.ci/run`` makes ``.venv-litellm`` and sets
COOP_LITELLM_BIN); without it this test is skipped. Upstream: ``coop serve`` for genuine
replies, the conformance server for each provider's documented failures.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from conformance import ConformanceServer
from conformance.proxy import MASTER_KEY, LiteLLMProxy, litellm_bin
from test_providers import observation

from coop_utils.game.events import read_events
from coop_utils.game.prompts import render_messages
from coop_utils.llm.client import ClientPool, StopError
from coop_utils.run.grid import run_grid
from coop_utils.run.plan import GridSpec

pytestmark = pytest.mark.skipif(
    litellm_bin() is None, reason="no LiteLLM proxy (set COOP_LITELLM_BIN; .ci/run installs one)"
)

FAILURES = {  # scenario -> (LiteLLM's route to it, the class the turn must end in)
    "openrouter-finish-error": ("openrouter", "provider_error"),
    "openrouter-error-body": ("openrouter", "provider_error"),
    "openai-quota": ("openai", "stop"),
    "openai-long-retry-after": ("openai", "lost"),
    "openai-bad-key": ("openai", "stop"),
    "openai-server-error": ("openai", None),
}


def test_a_litellm_proxy_keeps_replies_failure_classes_and_the_upstream_model(
    tmp_path, server, monkeypatch
):
    monkeypatch.setenv("LITELLM_API_KEY", MASTER_KEY)
    with ConformanceServer() as conf:
        upstreams = {"cooperator": ("openai/scripted/cooperator", server.base_url)}
        upstreams |= {
            s: (f"{route}/up-{s}", conf.base_url(s)) for s, (route, _) in FAILURES.items()
        }
        with LiteLLMProxy(upstreams) as proxy:
            gw = {
                "base_url": proxy.base_url,
                "api_key_env": "LITELLM_API_KEY",
                "gateway": "litellm",
            }
            gw |= {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_retry_s": 30}
            models = {s: {"provider": "gw", "model": s} for s in FAILURES}
            models["gw-cooperator"] = {"provider": "gw", "model": "cooperator", "send_seed": True}
            path = tmp_path / "models.yaml"
            path.write_text(json.dumps({"providers": {"gw": gw}, "models": models}))

            # the happy path: the same episode as direct, the upstream model beside the alias
            runs = {}
            for model in ("local:cooperator", "gw-cooperator"):
                spec = GridSpec(name=model.replace(":", "-"), models=[model], runs=1, env={"rounds": 2}, models_file=str(path))  # fmt: skip
                result = run_grid(spec, tmp_path / spec.name, progress=False, base_urls={"local": server.base_url})  # fmt: skip
                (runs[model],) = result.summaries
            direct, gated = runs["local:cooperator"], runs["gw-cooperator"]
            assert gated["tasks"] == direct["tasks"] and gated["messages"] == direct["messages"]
            (folder,) = (tmp_path / "gw-cooperator").rglob("events.jsonl")
            calls = [e.payload for e in read_events(folder) if e.kind == "llm_call"]
            assert calls and {c["upstream_model"] for c in calls} == {"openai/scripted/cooperator"}
            run = json.loads((folder.parent / "run.json").read_text())
            assert run["upstream_models"] == {"gw-cooperator": ["openai/scripted/cooperator"]}
            assert run["llm"]["gw-cooperator"]["model"] == "cooperator", "the alias, beside it"

            # each failure through the proxy: its class, and one upstream request per attempt
            messages = render_messages(observation())

            async def turn(alias: str):
                async with ClientPool("live", None, models_file=str(path)) as pool:
                    try:
                        done = await pool.client(alias).complete(messages, "run/agent_0")
                    except StopError as exc:
                        return "stop", 1, str(exc)
                    return done.failure, done.attempts, done.error

            for scenario, (_, expected) in FAILURES.items():
                before = len(conf.calls_to(scenario))
                kind, attempts, said = asyncio.run(turn(scenario))
                assert kind == expected, (scenario, said)
                assert len(conf.calls_to(scenario)) - before == attempts, scenario
                if scenario == "openai-bad-key":
                    assert "key in the gateway's config" in said
