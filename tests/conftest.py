"""Shared fixtures: one local OpenAI-compatible server (`coop serve`) for the whole session;
and the notebooks (nbval) marked ``slow``, so the fast loop (``-m "not slow"``) leaves them out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from coop_utils.analysis.thoughts.judge import STAND_INS
from coop_utils.llm.local import LocalServer

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(NOTEBOOKS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def _server():
    with LocalServer(port=0, mode="thread", responders=STAND_INS) as srv:  # with local:judge
        yield srv


@pytest.fixture
def server(_server):
    """The session's server with no faults, no latency and zeroed counters."""
    _server.set_faults(
        rate_429=0, rate_500=0, rate_slow=0, rate_malformed=0, rate_truncated=0, latency_s=0
    )
    _server.reset()
    yield _server
    _server.set_faults(
        rate_429=0, rate_500=0, rate_slow=0, rate_malformed=0, rate_truncated=0, latency_s=0
    )


@dataclass(frozen=True)
class KilledGrid:
    grid: Path
    out: Path
    cmd: list[str]
    """The `coop grid` command, to run again to resume."""
    env: dict[str, str]
    done: int
    """Runs finished when the grid was killed (of 12)."""


@pytest.fixture
def killed_grid(tmp_path):
    """Start a 12-run `coop grid` over the local server, SIGKILL it (and the server it
    started) once 3 runs are finished; ``killed_grid(*options)`` -> :class:`KilledGrid`."""

    def kill(*options: str) -> KilledGrid:
        grid = tmp_path / "grid.yaml"
        grid.write_text(
            "name: killme\nmodels: ['local:cooperator', 'local:withholder']\n"
            "conditions: [baseline, auto_fulfill]\nruns: 3\nenv: {rounds: 3}\n"
            "episodes_in_flight: 2\nserver: {latency_s: 0.01}\n"
        )
        out = tmp_path / "out"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("COOP_LOCAL_URL", None)
        cmd = [sys.executable, "-m", "coop_utils.cli", "grid", str(grid), "--out", str(out)]
        cmd += options
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline and len(list(out.rglob("summary.json"))) < 3:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the grid and the server it started
        proc.wait()
        done = len(list(out.rglob("summary.json")))
        assert 3 <= done < 12, "killed midway"
        return KilledGrid(grid, out, cmd, env, done)

    return kill
