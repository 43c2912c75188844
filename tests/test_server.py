"""The local server answers over real HTTP, through the real openai client, as the policies would.

Everything here goes through `openai.OpenAI` / `openai.AsyncOpenAI` against a running
:class:`LocalServer`, so the tests cover what the LLM agent will meet: the wire format,
error classes, headers and the exact fault accounting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from coop_utils.agents import (
    PRESETS,
    BehaviourKnobs,
    behaviour_plan,
    behaviour_policy,
    expand_agents,
    perfect_policy,
    scripted_agent,
    stated_reasons,
)
from coop_utils.analysis.thoughts.judge import STAND_INS
from coop_utils.game.actions import action_to_dict, parse_reply
from coop_utils.game.config import EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.observation import Observation
from coop_utils.game.prompts import render_messages
from coop_utils.llm.local import FAULT_KINDS, FaultSettings, LocalServer, model_ids

DEFAULTS = FaultSettings().as_dict()


def first_observation() -> Observation:
    env = Environment(EnvConfig(), seed=0)
    env.start_round()
    return env.observe(0)


def later_observations(rounds: int = 4, spec: str = "withholder") -> list[Observation]:
    """Observations from a short episode, so requests and held pieces appear in the prompt.
    ``spec`` is a population ('withholder', '5*reciprocator,5*withholder')."""
    env = Environment(EnvConfig(), seed=1)
    agents = [scripted_agent(s, k) for k, s in enumerate(expand_agents(spec, 10))]
    seen = []
    for _ in range(rounds):
        for i in env.start_round():
            env.begin_turn(i)
            obs = env.observe(i)
            seen.append(obs)
            env.apply_turn(i, asyncio.run(agents[i].act(obs)))
        env.end_round()
    return seen


@pytest.fixture(scope="module")
def running() -> Iterator[LocalServer]:
    with LocalServer(port=0, responders=STAND_INS) as srv:
        yield srv


@pytest.fixture
def srv(running: LocalServer) -> LocalServer:
    running.set_faults(**DEFAULTS)
    running.reset()
    return running


@pytest.fixture
def client(srv: LocalServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="local", max_retries=0, timeout=10)


def ask(client: openai.OpenAI, model: str, obs: Observation, **extra):
    return client.chat.completions.create(model=model, messages=render_messages(obs), **extra)


def wire(actions) -> list[dict]:
    return [action_to_dict(a) for a in actions]


def test_perfect_reply_is_what_the_policy_computes(client: openai.OpenAI) -> None:
    obs = first_observation()
    resp = ask(client, "scripted/perfect", obs)
    parsed = parse_reply(resp.choices[0].message.content)
    assert parsed.issues == ()
    expected, _ = perfect_policy(obs)
    assert expected, "round 1 perfect play must request something"
    assert wire(parsed.actions) == wire(expected)
    assert parsed.private_thoughts.startswith("It is round 1 of 20.")
    assert "I am asking" in parsed.private_thoughts
    assert json.loads(resp.choices[0].message.content)["actions"][0]["action"] == "send_message"
    assert resp.model == "scripted/perfect" and resp.choices[0].finish_reason == "stop"


def test_usage_and_id_are_deterministic(client: openai.OpenAI) -> None:
    obs = first_observation()
    a, b = ask(client, "scripted/perfect", obs), ask(client, "scripted/perfect", obs)
    assert a.id == b.id and a.id.startswith("chatcmpl-")
    assert a.choices[0].message.content == b.choices[0].message.content
    chars = sum(len(m["content"]) for m in render_messages(obs))
    usage = a.usage
    assert usage.prompt_tokens == -(-chars // 4)
    assert usage.completion_tokens == -(-len(a.choices[0].message.content) // 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert (a.choices[0].message.model_extra or {}).get("reasoning_content") is None


def test_behaviour_knobs_and_seed(client: openai.OpenAI) -> None:
    obs = first_observation()
    spec = "behaviour:p_answer=0.3:p_request=0.5"
    knobs = BehaviourKnobs.parse("p_answer=0.3:p_request=0.5")
    replies = {}
    for seed in (1, 2):
        content = ask(client, "scripted/" + spec, obs, seed=seed).choices[0].message.content
        parsed = parse_reply(content)
        assert parsed.issues == ()
        assert wire(parsed.actions) == wire(behaviour_policy(obs, knobs, seed)[0])
        again = ask(client, "scripted/" + spec, obs, seed=seed).choices[0].message.content
        assert again == content
        replies[seed] = content
    assert replies[1] != replies[2]


def test_bare_preset_defaults_to_seed_zero(client: openai.OpenAI) -> None:
    obs = later_observations()[-1]
    resp = ask(client, "withholder", obs)
    assert resp.model == "withholder"
    parsed = parse_reply(resp.choices[0].message.content)
    assert wire(parsed.actions) == wire(behaviour_policy(obs, PRESETS["withholder"], 0)[0])


def test_thoughts_say_what_is_held_back(client: openai.OpenAI) -> None:
    knobs = "scripted/behaviour:p_answer=0"
    held = [o for o in later_observations() if any(m.to == o.agent for m in o.messages)]
    assert held, "the short episode must deliver some requests"
    thoughts = [
        parse_reply(ask(client, knobs, o).choices[0].message.content).private_thoughts
        for o in held[-3:]
    ]
    assert any("but I am holding it back for now" in t for t in thoughts)


def test_reasoning_content_when_enabled(srv: LocalServer) -> None:
    with LocalServer(reasoning=True) as other:
        c = openai.OpenAI(base_url=other.base_url, api_key="local", max_retries=0)
        resp = ask(c, "scripted/perfect", first_observation())
    reasoning = resp.choices[0].message.model_extra["reasoning_content"]
    assert reasoning.startswith("As agent_0 in round 1, I decided on")


def test_unknown_model_is_404(client: openai.OpenAI, srv: LocalServer) -> None:
    obs = first_observation()
    with pytest.raises(openai.NotFoundError) as err:
        ask(client, "scripted/gpt-9", obs)
    body = err.value.body
    assert body["code"] == "model_not_found" and body["type"] == "invalid_request_error"
    assert "scripted/withholder" in body["message"] and "behaviour:" in body["message"]
    with pytest.raises(openai.NotFoundError, match="unknown knob"):
        ask(client, "scripted/behaviour:p_share=1", obs)
    assert srv.stats()["errors"] == {"400": 0, "404": 2}


def test_foreign_prompt_and_stream_are_400(client: openai.OpenAI, srv: LocalServer) -> None:
    with pytest.raises(openai.BadRequestError, match="not a coop prompt"):
        client.chat.completions.create(
            model="scripted/perfect", messages=[{"role": "user", "content": "Hello there"}]
        )
    with pytest.raises(openai.BadRequestError, match="stream"):
        ask(client, "scripted/perfect", first_observation(), stream=True)
    stats = srv.stats()
    assert stats["errors"]["400"] == 2 and stats["served"] == 0 and stats["requests"] == 2


def test_models_lists_every_spec(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == model_ids(STAND_INS)
    assert {"scripted/perfect", *(f"scripted/{p}" for p in PRESETS), "scripted/judge"} == set(ids)
    assert {"scripted/rival", "scripted/reciprocator"} <= set(ids)


@pytest.mark.parametrize(
    ("spec", "population", "reason"),
    [("rival", "rival", "ahead"), ("reciprocator", "5*reciprocator,5*withholder", "reciprocal")],
)
def test_new_presets_are_served_with_their_reasons(
    client: openai.OpenAI, spec: str, population: str, reason: str
) -> None:
    knobs = PRESETS[spec]
    plans = ((o, behaviour_plan(o, knobs, 0)) for o in later_observations(6, population))
    obs, plan = next((o, p) for o, p in plans if reason in {h.reason for h in p.holds})
    parsed = parse_reply(ask(client, f"scripted/{spec}", obs).choices[0].message.content)
    assert wire(parsed.actions) == wire(plan.actions)
    assert stated_reasons(plan) and all(s in parsed.private_thoughts for s in stated_reasons(plan))


def test_429_carries_retry_after(client: openai.OpenAI, srv: LocalServer) -> None:
    srv.set_faults(rate_429=1.0, retry_after_s=0.25)
    with pytest.raises(openai.RateLimitError) as err:
        ask(client, "scripted/perfect", first_observation())
    assert err.value.response.headers["retry-after"] == "0.25"
    assert err.value.response.headers["retry-after-ms"] == "250"
    assert srv.stats()["injected"]["429"] == 1


def test_500_and_bad_replies(client: openai.OpenAI, srv: LocalServer) -> None:
    obs = first_observation()
    srv.set_faults(rate_500=1.0)
    with pytest.raises(openai.InternalServerError):
        ask(client, "scripted/perfect", obs)
    srv.set_faults(rate_500=0.0, rate_malformed=1.0)
    malformed = ask(client, "scripted/perfect", obs).choices[0].message.content
    assert [i.kind for i in parse_reply(malformed).issues] == ["parse_error"]
    srv.set_faults(rate_malformed=0.0, rate_truncated=1.0)
    resp = ask(client, "scripted/perfect", obs)
    cut = resp.choices[0].message.content
    srv.set_faults(rate_truncated=0.0)
    full = ask(client, "scripted/perfect", obs).choices[0].message.content
    assert (
        full.startswith(cut) and len(cut) < len(full) and resp.choices[0].finish_reason == "length"
    )
    assert any(i.kind == "parse_error" for i in parse_reply(cut).issues)
    stats = srv.stats()
    assert stats["injected"] == {"429": 0, "500": 1, "slow": 0, "malformed": 1, "truncated": 1}
    assert stats["served"] == 1 and stats["requests"] == 4


def test_slow_reply_times_out_the_client(srv: LocalServer) -> None:
    srv.set_faults(rate_slow=1.0, slow_s=1.0)
    quick = openai.OpenAI(base_url=srv.base_url, api_key="local", max_retries=0, timeout=0.2)
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        ask(quick, "scripted/perfect", first_observation())
    assert time.perf_counter() - start < 0.9
    assert srv.stats()["injected"]["slow"] == 1


def test_latency_is_added_and_abandoned_requests_still_count(
    client: openai.OpenAI, srv: LocalServer
) -> None:
    srv.set_faults(latency_s=0.15)
    start = time.perf_counter()
    ask(client, "scripted/perfect", first_observation())
    assert time.perf_counter() - start >= 0.15
    impatient = openai.OpenAI(base_url=srv.base_url, api_key="local", max_retries=0, timeout=0.05)
    with pytest.raises(openai.APITimeoutError):
        ask(impatient, "scripted/perfect", first_observation())
    time.sleep(0.3)
    stats = srv.stats()
    assert stats["requests"] == stats["served"] == 2


@pytest.mark.slow
async def test_counters_add_up_under_concurrency(srv: LocalServer) -> None:
    srv.set_faults(
        rate_429=0.1,
        rate_500=0.1,
        rate_slow=0.1,
        rate_malformed=0.1,
        rate_truncated=0.1,
        slow_s=0.02,
        latency_s=0.002,
        latency_jitter_s=0.004,
        fault_seed=7,
    )
    messages = render_messages(first_observation())
    models = ["scripted/perfect", "cooperator", "scripted/free_rider", "scripted/nope"]
    async with openai.AsyncOpenAI(
        base_url=srv.base_url, api_key="local", max_retries=0, timeout=10
    ) as client:

        async def one(k: int) -> str:
            foreign = k % 17 == 0
            try:
                await client.chat.completions.create(
                    model=models[k % len(models)],
                    messages=[{"role": "user", "content": "hi"}] if foreign else messages,
                    seed=k,
                )
                return "ok"
            except openai.APIStatusError as exc:
                return str(exc.status_code)

        outcomes = await asyncio.gather(*(one(k) for k in range(200)))
    stats = srv.stats()
    assert stats["requests"] == 200
    total = stats["served"] + sum(stats["injected"].values()) + sum(stats["errors"].values())
    assert total == stats["requests"]
    assert all(stats["injected"][kind] > 0 for kind in FAULT_KINDS)
    assert stats["errors"]["404"] == outcomes.count("404") == 50
    assert stats["errors"]["400"] == outcomes.count("400") > 0
    assert stats["injected"]["429"] == outcomes.count("429")
    assert stats["injected"]["500"] == outcomes.count("500")
    ok = outcomes.count("ok")
    assert ok == stats["served"] + sum(
        stats["injected"][k] for k in ("slow", "malformed", "truncated")
    )
    assert sum(stats["by_model"].values()) == 200 - 50 - stats["errors"]["400"]
    assert "scripted/nope" not in stats["by_model"] and stats["by_model"]["cooperator"] > 0


def test_set_faults_and_reset_over_http(srv: LocalServer) -> None:
    with httpx.Client(base_url=srv.url, trust_env=False) as http:
        got = http.post("/control/faults", json={"rate_500": 0.5, "slow_s": 2}).json()
        assert got == {**DEFAULTS, "rate_500": 0.5, "slow_s": 2.0}
        assert http.post("/control/faults", json={"rate_9": 1}).status_code == 400
        assert http.post("/control/faults", json={"rate_429": 1.5}).status_code == 400
        assert srv.set_faults(rate_malformed=0.25)["rate_500"] == 0.5
        http.get("/v1/models")
        http.post("/v1/chat/completions", content=b"{not json")
        assert http.get("/control/stats").json()["errors"]["400"] == 1
        zero = http.post("/control/reset").json()
    assert zero["requests"] == 0 and zero["errors"] == {"400": 0, "404": 0}
    assert srv.stats() == zero


@pytest.mark.slow
def test_process_mode_serves() -> None:
    obs = first_observation()
    with LocalServer(mode="process", rate_malformed=0.0, fault_seed=3) as proc:
        c = openai.OpenAI(base_url=proc.base_url, api_key="local", max_retries=0, timeout=10)
        parsed = parse_reply(ask(c, "scripted/perfect", obs).choices[0].message.content)
        assert wire(parsed.actions) == wire(perfect_policy(obs)[0])
        assert proc.set_faults(rate_500=1.0)["fault_seed"] == 3
        with pytest.raises(openai.InternalServerError):
            ask(c, "scripted/perfect", obs)
        stats = proc.stats()
        assert stats["served"] == 1 and stats["injected"]["500"] == 1
        assert proc.reset()["requests"] == 0


def test_a_responder_answers_only_where_it_is_named_and_a_broken_one_is_a_400() -> None:
    """Responders (scripted stand-ins beside the policies) are named by whoever starts the
    server: one started without them does not know ``judge``; one named wrongly says so."""
    note = [{"role": "user", "content": "Label it.\nNote:\nI will withhold my data."}]
    with LocalServer(port=0, responders={"broken": "coop_utils.nowhere:reply"}) as other:
        c = openai.OpenAI(base_url=other.base_url, api_key="local", max_retries=0, timeout=10)
        with pytest.raises(openai.NotFoundError, match="unknown model"):
            c.chat.completions.create(model="scripted/judge", messages=note)
        with pytest.raises(openai.BadRequestError, match="cannot be loaded"):
            c.chat.completions.create(model="scripted/broken", messages=note)
        assert "scripted/broken" in [m.id for m in c.models.list()]


def test_the_judge_answers_with_the_regex_classes(client: openai.OpenAI) -> None:
    note = [{"role": "user", "content": "Label it.\nNote:\nI will withhold my data."}]
    reply = client.chat.completions.create(model="scripted/judge", messages=note)
    assert json.loads(reply.choices[0].message.content) == {
        "hard_defection": True,
        "soft_conditional": False,
    }
