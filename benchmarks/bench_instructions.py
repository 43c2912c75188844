"""Instructions a scripted episode costs, counted by valgrind: a figure the machine's noise
does not move (CPU time on a shared machine drifts by tens of percent from run to run).

Each case plays 1 and then 1 + ``--episodes`` seeds of one population under one condition
in a child process run under ``valgrind --tool=cachegrind``, with a fixed hash seed; the
difference of the two counts, per episode, leaves start-up and imports out. Needs valgrind
(``apt install valgrind``); each case takes about a minute.

Usage: python benchmarks/bench_instructions.py [--episodes 5] [--cases perfect/baseline,...]
(to count another checkout of the project, run it from that checkout's root with
PYTHONPATH set to it, as for ``bench_episode.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

PLAY = """
import sys
from coop_utils.agents import scripted_agent
from coop_utils.game.config import EnvConfig
from coop_utils.run import runner
run = getattr(runner, "run_episode_sync", runner.run_episode)  # an older tree's name
spec, condition, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = EnvConfig.for_condition(condition)
for seed in range(n):
    run(config, [scripted_agent(spec, seed * 100 + k) for k in range(config.n_agents)], seed)
"""


def instructions(spec: str, condition: str, episodes: int) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
        + [sys.executable, "-c", PLAY, spec, condition, str(episodes)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    assert found, done.stderr[-500:]
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--cases", default="perfect/baseline,withholder/baseline")
    args = parser.parse_args()
    print(f"{'agents/condition':<26}{'M instructions/episode':>24}")
    for case in args.cases.split(","):
        spec, _, condition = case.strip().partition("/")
        one = instructions(spec, condition or "baseline", 1)
        more = instructions(spec, condition or "baseline", 1 + args.episodes)
        print(f"{case:<26}{(more - one) / args.episodes / 1e6:>24.1f}")


if __name__ == "__main__":
    main()
