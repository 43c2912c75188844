"""Time the analysis layer on a folder of recorded runs (target: 200 runs load in seconds).

Writes ``--runs`` scripted episodes of 20 rounds (a mix of presets, so logs of every
size occur) to a temporary folder, then times a cold ``load_runs`` (every events.jsonl
parsed once), a warm one (served from the per-process cache), every other frame, the
thought tables, and each figure.

Usage: python benchmarks/bench_analysis.py [--runs 200] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from coop_utils.agents import scripted_agent  # noqa: E402
from coop_utils.analysis import load, paper, plots, thoughts  # noqa: E402
from coop_utils.game.config import CONDITIONS, EnvConfig  # noqa: E402
from coop_utils.run.runner import run_episode, write_run  # noqa: E402

PRESETS = ("perfect", "cooperator", "withholder", "bungler", "free_rider", "manipulator")


def write_runs(root: Path, n: int) -> None:
    for i in range(n):
        spec = PRESETS[i % len(PRESETS)]
        cond = CONDITIONS[(i // len(PRESETS)) % len(CONDITIONS)]
        seed = i // (len(PRESETS) * len(CONDITIONS))
        cfg = EnvConfig.for_condition(cond)
        agents = [scripted_agent(spec, seed * 1000 + k) for k in range(cfg.n_agents)]
        ep = run_episode(cfg, agents, seed, run_id=f"{spec}-{cond}-s{seed}")
        write_run(root / ep.run_id, ep)


def timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:28s} {time.perf_counter() - start:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="write the runs here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        timed(f"write {args.runs} runs", lambda: write_runs(root, args.runs))
        runs = timed("load_runs (cold)", lambda: load.load_runs(root))
        timed("load_runs (cached)", lambda: load.load_runs(root))
        loaders = (load.load_agents, load.load_turns, load.load_messages, load.load_transfers)
        frames = {f.__name__: timed(f.__name__, lambda f=f: f(root)) for f in loaders}
        th = timed("load_thoughts", lambda: load.load_thoughts(root))
        per_round = timed("load_per_round", lambda: load.load_per_round(root))
        table = timed("thoughts.run_level_table", lambda: thoughts.run_level_table(th))
        ref = paper.load_paper()
        run_id = runs["run_id"].iloc[0]
        figures = {
            "baseline_bars": lambda: plots.baseline_bars(runs, ref),
            "capability_scatter": lambda: plots.capability_scatter(runs, paper=ref),
            "quadrant_plot": lambda: plots.quadrant_plot(runs, ref),
            "intervention_effects": lambda: plots.intervention_effects(runs, ref),
            "thought_classes": lambda: plots.thought_classes(table, ref),
            "exchange_network": lambda: plots.exchange_network(
                frames["load_transfers"], run_id=run_id
            ),
            "tasks_per_round": lambda: plots.tasks_per_round(per_round),
        }
        for name, make in figures.items():
            timed(name, make)
        print(f"{len(runs)} runs, {len(frames['load_messages'])} messages, {len(th)} thoughts")


if __name__ == "__main__":
    main()
