"""How close a grid's wall time gets to one episode's critical path.

An episode's turns are sequential, so with a fixed latency L per model call one
episode cannot take less than rounds x agents x L (its critical path). A grid runs
its episodes concurrently, so twenty episodes should take about as long as one, not
twenty times as long. This script starts the local server in its own process with a
fixed latency, runs one episode and then a grid of N episodes over real HTTP, and
prints both wall times against the critical path.

Usage: python benchmarks/bench_grid.py [--episodes 20] [--latency 0.05] [--rounds 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from coop_utils.llm.local import LocalServer
from coop_utils.run.grid import GridSpec, run_grid


def timed_grid(url: str, episodes: int, rounds: int, out: str) -> tuple[float, int]:
    spec = GridSpec(
        name=f"bench-{episodes}",
        models=["local:cooperator"],
        runs=episodes,
        env={"rounds": rounds},
        mode="live",
        episodes_in_flight=episodes,
        concurrency={"local": 256},
    )
    start = time.perf_counter()
    result = run_grid(spec, out, progress=False, base_urls={"local": url})
    wall = time.perf_counter() - start
    assert result.ok and len(result.completed) == episodes, result.failed
    return wall, result.usage.live_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per call")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    critical = args.rounds * 10 * args.latency
    with LocalServer(port=0, mode="process", latency_s=args.latency) as srv:
        with tempfile.TemporaryDirectory() as tmp:
            one, _ = timed_grid(srv.base_url, 1, args.rounds, f"{tmp}/one")
            many, calls = timed_grid(srv.base_url, args.episodes, args.rounds, f"{tmp}/many")
    print(
        f"critical path of one episode: {critical:.2f} s ({args.rounds} rounds x 10 agents x "
        f"{args.latency * 1000:.0f} ms)"
    )
    print(f"1 episode:            {one:6.2f} s  ratio to critical path {one / critical:.2f}")
    print(
        f"{args.episodes} episodes at once: {many:6.2f} s  ratio to critical path "
        f"{many / critical:.2f}, to one episode {many / one:.2f}  "
        f"({calls} calls, {calls / many:.0f} calls/s)"
    )
    print(f"serial estimate:      {one * args.episodes:6.2f} s")


if __name__ == "__main__":
    main()
