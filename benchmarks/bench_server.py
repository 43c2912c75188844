"""Time the local scripted server: CPU per request, and requests/s over HTTP with N clients.

Why: grids send thousands of requests to ``coop serve``, so its per-request cost bounds
how fast an offline grid can go. Part 1 times the server's own work (parse the prompt,
run the policy, write the reply) in process, over every prompt of a default episode
(10 agents, 20 rounds), so late-round prompts (long message histories) are included.
Part 2 starts the server as a subprocess (its own GIL) and sends the same prompts with
N concurrent async openai clients, reporting requests/s and client-side latency.

Usage: python benchmarks/bench_server.py [--requests 400] [--clients 1 20] [--mode process]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time

import openai

from coop_utils.agents import scripted_agent
from coop_utils.game.config import EnvConfig
from coop_utils.game.env import Environment
from coop_utils.game.prompts import parse_observation, render_messages
from coop_utils.llm.local import LocalServer, decide, reply_text
from coop_utils.llm.local.app import completion_body

MODEL = "scripted/cooperator"


def episode_prompts(seed: int = 0) -> list[list[dict[str, str]]]:
    """Every prompt of one default episode played by cooperators, in turn order."""
    env = Environment(EnvConfig(), seed=seed)
    agents = [
        scripted_agent("cooperator", seed * 100 + k) for k in range(env.state.config.n_agents)
    ]
    prompts = []
    for _ in range(env.state.config.rounds):
        for i in env.start_round():
            env.begin_turn(i)
            obs = env.observe(i)
            prompts.append(render_messages(obs))
            env.apply_turn(i, asyncio.run(agents[i].act(obs)))
        env.end_round()
    return prompts


def _ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20, method="inclusive")
    return (
        f"mean {statistics.mean(samples) * 1e3:6.2f}  median {statistics.median(samples) * 1e3:6.2f}"
        f"  p95 {q[-1] * 1e3:6.2f}  max {max(samples) * 1e3:6.2f} ms"
    )


def time_in_process(prompts: list[list[dict[str, str]]]) -> None:
    decide(MODEL, prompts[0], 0)  # warm up (regex compilation)
    parse, total = [], []
    for messages in prompts:
        start = time.perf_counter()
        parse_observation(messages)
        parse.append(time.perf_counter() - start)
        start = time.perf_counter()
        decision = decide(MODEL, messages, 0)
        completion_body(MODEL, "chatcmpl-x", reply_text(decision), 0)
        total.append(time.perf_counter() - start)
    chars = [len(m[-1]["content"]) for m in prompts]
    print(f"server work per request, {len(prompts)} prompts of one default episode")
    print(f"  prompt size   mean {statistics.mean(chars):,.0f} chars, max {max(chars):,} chars")
    print(f"  parse only    {_ms(parse)}")
    print(f"  whole answer  {_ms(total)}")
    per_round = len(prompts) // EnvConfig().rounds
    print(f"  last round    {_ms(total[-per_round:])}")


async def _load(base_url: str, prompts: list, n_requests: int, clients: int) -> list[float]:
    latencies: list[float] = []
    queue = list(range(n_requests))
    async with openai.AsyncOpenAI(base_url=base_url, api_key="local", max_retries=0) as client:

        async def worker() -> None:
            while queue:
                k = queue.pop()
                start = time.perf_counter()
                await client.chat.completions.create(
                    model=MODEL, messages=prompts[k % len(prompts)], seed=k
                )
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def time_over_http(prompts: list, n_requests: int, clients: list[int], mode: str) -> None:
    print(f"\nHTTP, server in a {mode}, {n_requests} requests per row")
    with LocalServer(port=0, mode=mode) as srv:
        asyncio.run(_load(srv.base_url, prompts, 20, 1))  # warm up
        for n in clients:
            srv.reset()
            start = time.perf_counter()
            latencies = asyncio.run(_load(srv.base_url, prompts, n_requests, n))
            wall = time.perf_counter() - start
            served = srv.stats()["served"]
            print(f"  N={n:<3} {n_requests / wall:7.1f} req/s  latency {_ms(latencies)}")
            assert served == n_requests, f"server served {served} of {n_requests}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--mode", choices=["process", "thread"], default="process")
    args = parser.parse_args()
    prompts = episode_prompts()
    # Keep the episode's objects out of the timings: without this, full garbage collections
    # over them add pauses that the server process (which freezes its heap) does not have.
    gc.collect()
    gc.freeze()
    time_in_process(prompts)
    time_over_http(prompts, args.requests, args.clients, args.mode)


if __name__ == "__main__":
    main()
