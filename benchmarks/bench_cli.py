"""Time the command line end to end: start-up (``coop --help``) and one small run.

Why: every ``coop`` command pays its start-up, and a help page or a typo's error should
answer at once. The CLI imports only the standard library until a command runs, so
``coop --help`` should stay well under half a second. Each command runs as a fresh
process (as a user types it); we report the median and range of ``--repeat`` runs.
``hyperfine`` (Debian package) gives the same numbers with more statistics:
``hyperfine -N --warmup 2 'coop --help' 'coop run --agents perfect --runs 1'``.

Usage: python benchmarks/bench_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time

COMMANDS = (
    ["--help"],
    ["grid", "--help"],
    ["run", "--agents", "perfect", "--runs", "1"],
)


def timed(argv: list[str], repeat: int) -> list[float]:
    coop = shutil.which("coop") or "coop"
    subprocess.run([coop, *argv], capture_output=True, check=True)  # warm the file cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([coop, *argv], capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command (default 15)")
    args = parser.parse_args()
    print(f"{'command':<42}{'median':>10}{'min':>10}{'max':>10}")
    for argv in COMMANDS:
        s = timed(argv, args.repeat)
        cells = "".join(f"{v * 1e3:8.0f}ms" for v in (statistics.median(s), min(s), max(s)))
        print(f"{'coop ' + ' '.join(argv):<42}{cells}")


if __name__ == "__main__":
    main()
