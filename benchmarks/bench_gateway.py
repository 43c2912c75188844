"""The gateway's failure scenarios (docs/PROVIDERS.md), through a real LiteLLM proxy beside direct.

Each row is one upstream behaviour: genuine replies and a seeded fault mix from ``coop serve``,
and the providers' documented failures from the conformance server. Each is played turn by
turn (the models file's default retry settings) three ways: direct; through the proxy as
the client talks to it (``gateway: litellm``, which sends ``x-litellm-num-retries: 0``); and
through the proxy with its router left retrying twice (its default, as a gateway that
ignores the header would). Per turn: how the turn ended (reply, provider_error, lost, stop),
upstream requests, retried attempts the run logs, and seconds.

Needs the proxy in its own environment (``.ci/run`` makes it):
    COOP_LITELLM_BIN=.venv-litellm/bin/litellm python benchmarks/bench_gateway.py [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from coop_utils.game.config import EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.prompts import render_messages
from coop_utils.llm.client import ClientPool, StopError
from coop_utils.llm.local import LocalServer

ROWS = {  # row -> (upstream: "serve" or a conformance scenario, LiteLLM's route, turns)
    "genuine reply": ("serve", "openai", None),
    "fault mix: 30% HTTP 500": ("serve", "openai", None),
    "OpenRouter finish_reason error (choice.error)": ("openrouter-finish-error", "openrouter", 3),
    "OpenAI 429 insufficient_quota": ("openai-quota", "openai", 1),
    "429 with Retry-After 3600": ("openai-long-retry-after", "openai", 3),
    "OpenRouter 200 with an error body": ("openrouter-error-body", "openrouter", 3),
    "401 from the provider (its key)": ("openai-bad-key", "openai", 1),
    "404 from the provider (its model id)": ("openai-model-not-found", "openai", 1),
}
WAYS = ("direct", "proxy", "proxy, router retrying")
TESTS = Path(__file__).resolve().parent.parent / "tests"
"""Where the conformance scenarios live (beside the tests that use them)."""


def first_prompt() -> list[dict[str, str]]:
    env = Environment(EnvConfig(), seed=1)
    i = env.start_round()[0]
    env.begin_turn(i)
    return render_messages(env.observe(i))


async def play(models_file: str, alias: str, turns: int) -> tuple[str, int, float]:
    """(how the turns ended, retried attempts logged, seconds) for ``turns`` turns in a row."""
    messages, ends, retried = first_prompt(), [], 0
    start = time.perf_counter()
    async with ClientPool("live", None, models_file=models_file) as pool:
        for t in range(turns):
            try:
                done = await pool.client(alias).complete(messages, f"bench/agent_{t}", seed=t)
            except StopError:
                ends.append("stop")
                break
            ends.append(done.failure or "reply")
            retried += done.attempts - 1
    kinds = {k: ends.count(k) for k in dict.fromkeys(ends)}
    ended = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    return ended, retried, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=30, help="turns for the coop serve rows")
    args = ap.parse_args()
    sys.path.insert(0, str(TESTS))
    from conformance import ConformanceServer
    from conformance.proxy import MASTER_KEY, LiteLLMProxy

    os.environ["COOP_BENCH_GATEWAY_KEY"] = MASTER_KEY
    with LocalServer(port=0, mode="process") as serve, ConformanceServer() as conf:
        upstream = {
            row: (f"{route}/scripted/cooperator", serve.base_url)
            if where == "serve"
            else (f"{route}/up-{where}", conf.base_url(where))
            for row, (where, route, _) in ROWS.items()
        }
        names = {row: f"row{k}" for k, row in enumerate(ROWS)}
        with (
            LiteLLMProxy({names[r]: u for r, u in upstream.items()}) as proxy,
            tempfile.TemporaryDirectory() as tmp,
        ):
            gw = {
                "base_url": proxy.base_url,
                "api_key_env": "COOP_BENCH_GATEWAY_KEY",
                "gateway": "litellm",
            }
            providers = {"gw": gw}
            models = {}
            for row, (where, _, _) in ROWS.items():
                url = serve.base_url if where == "serve" else conf.base_url(where)
                providers[names[row]] = {"base_url": url, "api_key_env": "COOP_BENCH_GATEWAY_KEY"}
                model = "scripted/cooperator" if where == "serve" else "up-model"
                models[f"direct-{names[row]}"] = {
                    "provider": names[row],
                    "model": model,
                    "send_seed": True,
                }
                models[f"proxy-{names[row]}"] = {
                    "provider": "gw",
                    "model": names[row],
                    "send_seed": True,
                }
                retrying = {"extra_headers": {"x-litellm-num-retries": "2"}}
                models[f"retrying-{names[row]}"] = {
                    **models[f"proxy-{names[row]}"],
                    "params": retrying,
                }
            path = Path(tmp) / "models.yaml"
            path.write_text(json.dumps({"providers": providers, "models": models}))
            for name in names.values():  # the proxy's first call to a model is slow: not timed
                asyncio.run(play(str(path), f"proxy-{name}", 1))
            print(
                "| scenario | way | ended | upstream requests / turn | retried attempts logged | s / turn |"
            )
            print("|---|---|---|---|---|---|")
            for row, (where, _, turns) in ROWS.items():
                turns = turns or args.turns
                for way, prefix in zip(WAYS, ("direct", "proxy", "retrying")):
                    serve.set_faults(rate_500=0.3 if "fault mix" in row else 0.0, fault_seed=7)
                    serve.reset()
                    before = len(conf.calls_to(where)) if where != "serve" else 0
                    ended, retried, secs = asyncio.run(
                        play(str(path), f"{prefix}-{names[row]}", turns)
                    )
                    sent = (
                        serve.stats()["requests"]
                        if where == "serve"
                        else len(conf.calls_to(where)) - before
                    )
                    played = sum(
                        int(p.rsplit("x", 1)[1]) if " x" in p else 1 for p in ended.split(", ")
                    )
                    print(
                        f"| {row} | {way} | {ended} | {sent / played:.2f} | {retried} | {secs / played:.3f} |"
                    )


if __name__ == "__main__":
    main()
