"""Time ``coop run`` against a model server that is not there, from start to exit.

Why: a refused connection on a wrong port or a stopped server is certain at once, so the
command should stop within seconds and say what to check, not retry for minutes. Each
command runs as a fresh process, as a user types it, with the provider's base URL pointed
at a port where nothing listens; we report the median and range of ``--repeat`` runs and
check that every run exits 2 (a stop) and says that nothing answers.

Usage: python benchmarks/bench_unreachable.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import time

COMMANDS = {
    "OLLAMA_BASE_URL": ["run", "--agents", "ollama:llama3.1", "--runs", "1", "--rounds", "2"],
    "VLLM_BASE_URL": ["run", "--agents", "vllm:my-model", "--runs", "1", "--rounds", "2"],
}


def closed_port() -> int:
    """A port that was free a moment ago (nothing listens on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(variable: str, argv: list[str], repeat: int) -> list[float]:
    coop = shutil.which("coop") or "coop"
    url = f"http://127.0.0.1:{closed_port()}/v1"
    env = {**os.environ, variable: url}
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([coop, *argv], capture_output=True, text=True, env=env, timeout=900)
        samples.append(time.perf_counter() - start)
        if done.returncode != 2 or "nothing answers at" not in done.stderr:
            raise SystemExit(f"expected a stop, got {done.returncode}: {done.stderr}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args()
    print(f"{'command':<62}{'median':>9}{'min':>9}{'max':>9}")
    for variable, argv in COMMANDS.items():
        s = timed(variable, argv, args.repeat)
        cells = "".join(f"{v:8.2f}s" for v in (statistics.median(s), min(s), max(s)))
        print(f"{'coop ' + ' '.join(argv):<62}{cells}")


if __name__ == "__main__":
    main()
