"""Time scripted episodes at the default setting (target: well under 0.1 s each).

Usage: python benchmarks/bench_episode.py [--episodes 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from coop_utils.agents import PerfectAgent, scripted_agent
from coop_utils.config import EnvConfig
from coop_utils.runner import run_episode_sync


def time_episodes(make_agents, episodes: int) -> tuple[list[float], list[int]]:
    seconds, tasks = [], []
    for seed in range(episodes):
        agents = make_agents(seed)
        start = time.perf_counter()
        episode = run_episode_sync(EnvConfig(), agents, seed)
        seconds.append(time.perf_counter() - start)
        tasks.append(episode.summary["tasks"])
    return seconds, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    cases = {
        "perfect": lambda seed: [PerfectAgent() for _ in range(10)],
        "withholder": lambda seed: [
            scripted_agent("withholder", seed * 100 + k) for k in range(10)
        ],
        "bungler": lambda seed: [scripted_agent("bungler", seed * 100 + k) for k in range(10)],
    }
    print(f"{'agents':<12}{'median s':>10}{'max s':>10}{'mean tasks':>12}")
    for name, make in cases.items():
        seconds, tasks = time_episodes(make, args.episodes)
        print(
            f"{name:<12}{statistics.median(seconds):>10.4f}{max(seconds):>10.4f}{statistics.mean(tasks):>12.1f}"
        )


if __name__ == "__main__":
    main()
