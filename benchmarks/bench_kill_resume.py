"""A grid with a gzip cache, SIGKILLed mid-run, resumed, then replayed with no server.

    python benchmarks/bench_kill_resume.py [--kill-after 8] [--rounds 20]

Prints how many cache records are readable after the kill and after the resume (as
``gzip`` itself reads the file, and as the cache reads it), the resume's live calls, and
how many runs a replay of the final cache completes: every run, if nothing was lost.
Set PYTHONPATH to another checkout to measure that version.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path


def gzip_readable(path: Path) -> int:
    """Records Python's gzip module reads before it stops."""
    n = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    n += "key" in json.loads(line)
                except ValueError:
                    pass
    except (EOFError, OSError, zlib.error):
        pass
    return n


def cache_readable(path: Path) -> int:
    from coop_utils.llm.cache import ResponseCache

    return len(ResponseCache(path))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kill-after", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="coop-kill-"))
    grid = tmp / "grid.yaml"
    grid.write_text(
        "name: killed\nmodels: ['local:cooperator', 'local:withholder']\n"
        f"conditions: [baseline, auto_request]\nruns: 2\nenv: {{rounds: {args.rounds}}}\n"
        "episodes_in_flight: 8\nserver: {latency_s: 0.005}\n"
    )
    cache = tmp / "c.jsonl.gz"
    env = {k: v for k, v in os.environ.items() if k != "COOP_LOCAL_URL"}

    def grid_cmd(out: str, *extra: str) -> list[str]:
        cli = [sys.executable, "-m", "coop_utils.cli", "grid", str(grid)]
        return [*cli, "--out", str(tmp / out), "--cache", str(cache), *extra]

    proc = subprocess.Popen(
        grid_cmd("out"), env=env, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(args.kill_after)
    os.killpg(proc.pid, signal.SIGKILL)  # the grid and the server it started
    proc.wait()
    done = len(list((tmp / "out").rglob("summary.json")))
    before = (gzip_readable(cache), cache_readable(cache))
    resume = subprocess.run(grid_cmd("out", "--json"), env=env, capture_output=True, text=True)
    live = json.loads(resume.stdout)["live_calls"] if resume.returncode == 0 else "failed"
    after = (gzip_readable(cache), cache_readable(cache))
    dead = {**env, "COOP_LOCAL_URL": "http://127.0.0.1:9/v1"}  # nothing listens there
    replay = subprocess.run(
        grid_cmd("replay", "--mode", "replay", "--json"), env=dead, capture_output=True, text=True
    )
    replayed = json.loads(replay.stdout)["completed"] if replay.stdout.strip() else 0
    print(f"runs finished at the kill ({args.kill_after:g} s): {done} of 8")
    print(f"records readable after the kill:   gzip {before[0]:5d}   cache {before[1]:5d}")
    print(f"records readable after the resume: gzip {after[0]:5d}   cache {after[1]:5d}")
    print(f"live calls made by the resume: {live}")
    print(f"runs a replay of the final cache completes: {replayed} of 8")


if __name__ == "__main__":
    main()
