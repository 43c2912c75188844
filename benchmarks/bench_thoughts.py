"""Time the thought classifier cold (no sentence cache) on scripted thoughts and on the
labelled examples, whose typographic characters take the slow normalisation path.

Usage: python benchmarks/bench_thoughts.py [--runs 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from coop_utils.agents import scripted_agent
from coop_utils.analysis import load
from coop_utils.analysis.thoughts import classify
from coop_utils.analysis.thoughts.classify import classify_sentence
from coop_utils.game.config import EnvConfig
from coop_utils.run.runner import run_episode, write_run

PRESETS = ("cooperator", "withholder", "reciprocator", "rival", "manipulator")
EXAMPLES = Path(__file__).resolve().parents[1] / "tests"


def scripted_thoughts(root: Path, runs: int) -> list[str]:
    cfg = EnvConfig.for_condition("baseline")
    for i in range(runs):
        spec = PRESETS[i % len(PRESETS)]
        agents = [scripted_agent(spec, i * 1000 + k) for k in range(cfg.n_agents)]
        ep = run_episode(cfg, agents, i, run_id=f"{spec}-s{i}")
        write_run(root / ep.run_id, ep)
    return list(load.load_thoughts(sorted(root.iterdir()))["text"])


def cold(texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        classify_sentence.cache_clear()
        start = time.perf_counter()
        for text in texts:
            classify(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        texts = scripted_thoughts(Path(tmp), args.runs)
    labelled = pd.concat(
        pd.read_csv(EXAMPLES / name)["text"]
        for name in ("thought_examples.csv", "thought_idioms.csv")
    ).tolist()
    for name, batch in (("scripted thoughts", texts), ("labelled examples", labelled)):
        secs = cold(batch, args.repeat)
        print(
            f"{name:18} {len(batch):6d} thoughts  {secs:6.2f} s cold  "
            f"{1e6 * secs / len(batch):7.0f} µs/thought"
        )


if __name__ == "__main__":
    main()
