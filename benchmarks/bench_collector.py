"""The garbage collector paused for in-process episodes, against no pause: time and garbage.

The runner pauses Python's cyclic collector while an episode of in-process agents plays and
moves what it made to the oldest generation unwalked (``run/runner.py``,
``collector_paused``); a full pass comes once four million objects were moved so. This script
runs the same scripted grid (perfect, cooperator and withholder players, ``--runs`` each,
written to disk as ``coop grid`` writes them) in fresh processes, alternately with the
runner as it is and with the pause replaced by nothing, and prints for each: the CPU time
per run, the collector passes during the grid, and the cyclic garbage a final pass still
finds (what the pause left waiting; the grid writes files, which makes some cycles).

Usage: python benchmarks/bench_collector.py [--runs 100] [--rounds 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time


def one(variant: str, runs: int, rounds: int) -> dict[str, float]:
    """Play the grid in this process and measure it."""
    from coop_utils.run import runner
    from coop_utils.run.grid import run_grid_async
    from coop_utils.run.plan import GridSpec
    from coop_utils.run.runner import run_blocking

    if variant == "unpaused":
        runner.collector_paused = lambda pause: contextlib.nullcontext()  # type: ignore[assignment]
    passes = [0, 0, 0]
    gc.callbacks.append(
        lambda phase, info: (
            passes.__setitem__(info["generation"], passes[info["generation"]] + 1)
            if phase == "start"
            else None
        )
    )
    spec = GridSpec(
        models=["perfect", "cooperator", "withholder"], runs=runs, env={"rounds": rounds}
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.process_time()
        result = run_blocking(run_grid_async(spec, out, progress=False))
        seconds = time.process_time() - start
    assert result.ok, result.failed
    gc.callbacks.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    return {
        "cpu_ms_per_run": 1000 * seconds / (3 * runs),
        "young_passes": passes[0] + passes[1],
        "full_passes": passes[2],
        "garbage_left": len(gc.garbage),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs per player (3 players)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs of processes")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # one measurement, in this process
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(one(args.variant, args.runs, args.rounds)))
        return
    rows: dict[str, list[dict[str, float]]] = {"paused": [], "unpaused": []}
    for _ in range(args.repeats):
        for variant in rows:
            command = [sys.executable, __file__, "--variant", variant, "--runs", str(args.runs)]
            command += ["--rounds", str(args.rounds)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows[variant].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"{3 * args.runs} runs of {args.rounds} rounds, medians of {args.repeats} processes each")
    print(
        f"{'variant':<10}{'CPU ms/run':>12}{'young passes':>14}{'full passes':>13}{'garbage left':>14}"
    )
    for variant, found in rows.items():
        med = {k: statistics.median(r[k] for r in found) for k in found[0]}
        print(
            f"{variant:<10}{med['cpu_ms_per_run']:>12.2f}{med['young_passes']:>14.0f}"
            f"{med['full_passes']:>13.0f}{med['garbage_left']:>14.0f}"
        )


if __name__ == "__main__":
    main()
