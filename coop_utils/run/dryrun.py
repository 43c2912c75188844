"""What a grid will cost before it costs anything: ``coop grid GRID.yaml --dry-run``.

Why measure rather than guess: our prompts grow from about 8,000 characters in round 1 to
44–67k by round 20 as the history fills, so a flat per-call guess is off by a factor of
several. Here one episode per (setting, condition) is played by scripted agents, which
see exactly the prompts a model would, and every prompt is measured. What a model writes
back cannot be measured without calling it, so the output side and the latency are stated
assumptions (``ASSUMED``), by whether the model reasons before it answers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ..agents import play_as, scripted_agent
from ..game.actions import Turn
from ..game.config import EnvConfig
from ..game.observation import Observation
from ..game.prompts import render_messages
from ..llm.client import provider_limit
from ..llm.models import resolve
from .plan import GridSpec, is_scripted_spec, missing_keys, plan
from .runner import run_episode

CHARS_PER_TOKEN = 4
"""Characters per token for the estimate (English and JSON average 3.5–4.5); the budget
bounds calls with 3 instead (``llm/budget.py``)."""
ASSUMED = {
    "reasoning": {"output_tokens": 4000, "latency_s": 40.0},
    "plain": {"output_tokens": 500, "latency_s": 8.0},
}
"""Output tokens (reasoning included) and seconds per call, by kind of model."""
REASONING_MODELS = ("o1", "o3", "o4", "gpt-5", "gemini-2.5", "deepseek-r1", "r1", "qwq")


class _Measuring:
    """A scripted agent that measures the prompt a model in its seat would be sent."""

    def __init__(self, seat: int, sizes: dict[int, list[int]]):
        self._inner = scripted_agent("cooperator", seat)
        play_as(self, self._inner)
        self._seat, self._sizes = seat, sizes

    async def act(self, obs: Observation) -> Turn:
        self._sizes[self._seat].append(sum(len(m["content"]) for m in render_messages(obs)))
        return await self._inner.act(obs)


def measure(config: EnvConfig, seed: int) -> dict[int, list[int]]:
    """Per seat, the characters of every prompt of one scripted episode."""
    sizes: dict[int, list[int]] = defaultdict(list)
    agents = [_Measuring(i, sizes) for i in range(config.n_agents)]
    run_episode(config, agents, seed, "dry-run")
    return sizes


def _kind(alias: str, model: str) -> str:
    name = f"{alias} {model}".lower()
    return "reasoning" if any(r in name for r in REASONING_MODELS) else "plain"


def estimate(spec: GridSpec) -> dict[str, Any]:
    """Calls, tokens, cost per model and wall time per provider for every run of ``spec``."""
    runs = plan(spec, None)
    measured: dict[tuple, dict[int, list[int]]] = {}
    models: dict[str, dict[str, Any]] = {}
    episodes: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        cell = (run.setting, run.condition)
        if cell not in measured:
            measured[cell] = measure(run.config, run.seed)
        for seat, alias in enumerate(run.seats):
            if is_scripted_spec(alias):
                continue
            row = models.get(alias)
            if row is None:
                p = resolve(alias, spec.models_file)
                kind = "scripted" if p.scripted else _kind(alias, p.model)
                row = models[alias] = {
                    "model": alias,
                    "provider": p.provider,
                    "kind": kind,
                    "calls": 0,
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "_profile": p,
                }
            sizes = measured[cell][seat]
            row["calls"] += len(sizes)
            row["input_tokens"] += sum(math.ceil(c / CHARS_PER_TOKEN) for c in sizes)
            out = 0 if row["kind"] == "scripted" else ASSUMED[row["kind"]]["output_tokens"]
            row["output_tokens"] += out * len(sizes)
            episodes[row["provider"]].add(run.run_id)
    providers: dict[str, dict[str, Any]] = {}
    for row in models.values():
        p = row.pop("_profile")
        cost = p.cost(row["input_tokens"], 0, row["output_tokens"])
        row["cost_usd"] = None if cost is None else round(cost, 2)
        latency = 0.05 if row["kind"] == "scripted" else ASSUMED[row["kind"]]["latency_s"]
        prov = providers.setdefault(
            row["provider"], {"calls": 0, "call_s": 0.0, "concurrency": None}
        )
        prov["calls"] += row["calls"]
        prov["call_s"] += row["calls"] * latency
        prov["turn_s"] = max(prov.get("turn_s", 0.0), latency)
        prov["concurrency"] = provider_limit(p, spec.concurrency, prov["concurrency"])
    for name, prov in providers.items():
        n_eps = len(episodes[name])
        turns = prov["calls"] / max(n_eps, 1)
        waves = math.ceil(n_eps / spec.episodes_in_flight)
        by_limit = prov["call_s"] / prov["concurrency"]
        by_path = waves * turns * prov["turn_s"]
        prov.update(episodes=n_eps, wall_h=round(max(by_limit, by_path) / 3600, 1))
        del prov["call_s"], prov["turn_s"]
    costs = [r["cost_usd"] for r in models.values()]
    return {
        "grid": spec.name,
        "runs": len(runs),
        "models": list(models.values()),
        "providers": providers,
        "total_calls": sum(r["calls"] for r in models.values()),
        "total_cost_usd": None if None in costs else round(sum(costs), 2),
        "max_cost": spec.max_cost,
        "missing_keys": {}
        if spec.mode == "replay"
        else missing_keys(set(models), spec.models_file),
        "assumptions": {
            "input": f"prompts measured by playing each condition with scripted agents; "
            f"tokens = characters / {CHARS_PER_TOKEN}; no prompt caching",
            "output_and_latency": ASSUMED,
            "wall": "per provider, the longer of (calls x latency / concurrency) and "
            "(episode waves x turns per episode x latency); providers run side by side",
        },
    }


def format_estimate(est: dict[str, Any], dry_run: bool = True) -> str:
    """The estimate as a table for the console, headed by what happens next: nothing (a
    ``dry_run``), or the grid about to run."""
    what = "nothing called, nothing written" if dry_run else "estimated before it runs"
    lines = [
        f"{'dry run of' if dry_run else 'about to run'} grid {est['grid']!r}: {est['runs']} runs, "
        f"{est['total_calls']:,} model calls ({what})",
        f"{'model':<20}{'provider':<12}{'kind':<10}{'calls':>8}{'input Mtok':>12}"
        f"{'output Mtok':>13}{'cost USD':>11}",
    ]
    for r in est["models"]:
        cost = "unpriced" if r["cost_usd"] is None else f"{r['cost_usd']:,.2f}"
        lines.append(
            f"{r['model']:<20}{r['provider']:<12}{r['kind']:<10}{r['calls']:>8,}"
            f"{r['input_tokens'] / 1e6:>12.1f}{r['output_tokens'] / 1e6:>13.1f}{cost:>11}"
        )
    total = est["total_cost_usd"]
    lines.append(
        f"{'total':<42}{est['total_calls']:>8,}{'':>25}"
        f"{'unpriced' if total is None else f'{total:,.2f}':>11}"
    )
    lines.append("wall time at each provider's concurrency:")
    for name, p in est["providers"].items():
        lines.append(
            f"  {name:<12}{p['episodes']:>5} episodes, {p['calls']:>7,} calls, "
            f"concurrency {p['concurrency']:>3}: ~{p['wall_h']:g} h"
        )
    if est["max_cost"] is not None and total is not None and total > est["max_cost"]:
        lines.append(
            f"note: the estimate exceeds max_cost ${est['max_cost']:,.2f}; the grid will stop "
            "there and a rerun with a higher cap continues it"
        )
    if missing := est["missing_keys"]:
        keys = "; ".join(f"{env} (for {', '.join(m)})" for env, m in missing.items())
        lines.append(f"keys not set, needed before it can run: {keys}")
    a = est["assumptions"]
    lines.append(f"assumed: {a['input']}")
    lines.append(
        "assumed per call: "
        + "; ".join(
            f"{k} models {v['output_tokens']:,} output tokens, {v['latency_s']:g} s"
            for k, v in a["output_and_latency"].items()
        )
    )
    lines.append(f"assumed wall: {a['wall']}")
    return "\n".join(lines)
