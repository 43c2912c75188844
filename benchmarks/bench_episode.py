"""Time scripted episodes at the default setting (target: perfect play well under 0.1 s each).

Scripted episodes are run by the thousand (validity sweeps, the local server's
checks), so their speed matters. Each case plays ``--episodes`` seeds of one
population under one condition and reports the median and max wall time of
``run_episode`` together with mean tasks and mean events per episode (the
log size is what the environment's cost grows with).

Usage: python benchmarks/bench_episode.py [--episodes 20] [--cases perfect/baseline,...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from coop_utils.agents import PRESETS, scripted_agent
from coop_utils.game.config import EnvConfig
from coop_utils.run.runner import run_episode

CASES = (
    "perfect/baseline",
    "perfect/auto_request",
    "perfect/limited",
    *(f"{preset}/baseline" for preset in PRESETS),
    "withholder/auto_request",
    "bungler/auto_fulfill",
)


def time_episodes(spec: str, condition: str, episodes: int) -> dict[str, list[float]]:
    config = EnvConfig.for_condition(condition)
    out: dict[str, list[float]] = {"seconds": [], "tasks": [], "events": []}
    for seed in range(episodes):
        agents = [scripted_agent(spec, seed * 100 + k) for k in range(config.n_agents)]
        start = time.perf_counter()
        episode = run_episode(config, agents, seed)
        out["seconds"].append(time.perf_counter() - start)
        out["tasks"].append(episode.summary["tasks"])
        out["events"].append(len(episode.events))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument(
        "--cases", default=",".join(CASES), help="agents/condition, comma-separated"
    )
    args = parser.parse_args()
    print(f"{'agents/condition':<26}{'median s':>10}{'max s':>10}{'tasks':>8}{'events':>9}")
    for case in args.cases.split(","):
        spec, _, condition = case.strip().partition("/")
        r = time_episodes(spec, condition or "baseline", args.episodes)
        print(
            f"{case:<26}{statistics.median(r['seconds']):>10.4f}{max(r['seconds']):>10.4f}"
            f"{statistics.mean(r['tasks']):>8.1f}{statistics.mean(r['events']):>9.0f}"
        )


if __name__ == "__main__":
    main()
