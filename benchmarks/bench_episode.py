"""Time scripted episodes at the default setting (target: perfect play well under 0.1 s each).

Scripted episodes are run by the thousand (validity sweeps, the local server's
checks), so their speed matters. Each case plays ``--episodes`` seeds of one
population under one condition and reports the median and max CPU time of
``run_episode`` (CPU, not wall, time: on a shared machine a wall clock also counts
other processes' turns), the median CPU time of the environment alone (``env s``: the same
episode replayed with each agent's recorded turns, so no policy runs), and mean tasks and
mean events per episode (the log size is what the environment's cost grows with).

Usage: python benchmarks/bench_episode.py [--episodes 20] [--cases perfect/baseline,...]
(to time another checkout of the project with the same script, run it from that checkout's
root with PYTHONPATH set to it).
"""

from __future__ import annotations

import argparse
import statistics
import time

from coop_utils.agents import PRESETS, play_as, scripted_agent
from coop_utils.game.actions import Turn
from coop_utils.game.config import EnvConfig
from coop_utils.game.observation import Observation
from coop_utils.run import runner

# A tree from before the sync/async renaming calls the synchronous form run_episode_sync;
# reading it lets this script time such a tree too (paired before/after runs).
run_episode = getattr(runner, "run_episode_sync", runner.run_episode)

CASES = (
    "perfect/baseline",
    "perfect/auto_request",
    "perfect/limited",
    *(f"{preset}/baseline" for preset in PRESETS),
    "withholder/auto_request",
    "bungler/auto_fulfill",
)


class Recorder:
    """Plays as ``agent`` and keeps every turn it returns, in order."""

    def __init__(self, agent):
        self.agent, self.turns = agent, []
        play_as(self, agent, self._reply_now)

    async def act(self, obs: Observation) -> Turn:
        self.turns.append(await self.agent.act(obs))
        return self.turns[-1]

    def _reply_now(self, obs: Observation, requester: str | None = None) -> Turn | None:
        self.turns.append(self.agent.reply_now(obs, requester))
        return self.turns[-1]


class Replayer:
    """Hands back a recorder's turns in the same order: the episode without its policy."""

    def __init__(self, recorder: Recorder):
        self.turns = iter(recorder.turns)
        play_as(self, recorder, self._reply_now)

    async def act(self, obs: Observation) -> Turn:
        return next(self.turns)

    def _reply_now(self, obs: Observation, requester: str | None = None) -> Turn | None:
        return next(self.turns)


def time_episodes(spec: str, condition: str, episodes: int) -> dict[str, list[float]]:
    config = EnvConfig.for_condition(condition)
    out: dict[str, list[float]] = {"seconds": [], "env": [], "tasks": [], "events": []}
    for seed in range(episodes):
        agents = [Recorder(scripted_agent(spec, seed * 100 + k)) for k in range(config.n_agents)]
        start = time.process_time()
        episode = run_episode(config, agents, seed)
        out["seconds"].append(time.process_time() - start)
        replay = [Replayer(a) for a in agents]
        start = time.process_time()
        again = run_episode(config, replay, seed)
        out["env"].append(time.process_time() - start)
        assert again.events == episode.events, "the replay must play the same episode"
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
    print(
        f"{'agents/condition':<26}{'median s':>10}{'max s':>10}{'env s':>10}{'tasks':>8}"
        f"{'events':>9}"
    )
    for case in args.cases.split(","):
        spec, _, condition = case.strip().partition("/")
        r = time_episodes(spec, condition or "baseline", args.episodes)
        print(
            f"{case:<26}{statistics.median(r['seconds']):>10.4f}{max(r['seconds']):>10.4f}"
            f"{statistics.median(r['env']):>10.4f}"
            f"{statistics.mean(r['tasks']):>8.1f}{statistics.mean(r['events']):>9.0f}"
        )


if __name__ == "__main__":
    main()
