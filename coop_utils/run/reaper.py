"""Nothing we start outlives us, even when we are killed with SIGKILL.

``coop reproduce`` starts notebook kernels, and a kernel may start the local model
server. Python cannot run clean-up code on SIGKILL, and a kernel only notices its parent
died after a poll, without stopping what *it* started. So :func:`reaped` starts a small
watchdog process (``python -m coop_utils.run.reaper``) in its own session and gives the block
an environment marker to pass to children; every descendant inherits it. The watchdog
waits for its stdin to close, which happens when the block ends or when our process dies
for any reason, then terminates every process carrying the marker (SIGTERM, then SIGKILL
after a grace period).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from ..paths import ROOT

MARKER_ENV = "COOP_REAPER_MARK"
"""Environment variable whose value marks the processes one watchdog ends."""


@contextmanager
def reaped(grace_s: float = 3.0) -> Iterator[dict[str, str]]:
    """Yield environment variables for the children started in the block; when the block
    ends, or this process dies, every process started with them is terminated."""
    mark = secrets.token_hex(8)
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "coop_utils.run.reaper", mark, str(grace_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or a signal to our process group spares it
        cwd=ROOT,
    )
    try:
        yield {MARKER_ENV: mark}
    finally:
        watchdog.stdin.close()  # end of file: the watchdog ends what is left now
        try:
            watchdog.wait(timeout=grace_s + 5)
        except subprocess.TimeoutExpired:
            pass  # it finishes on its own; we do not wait for a stuck process


def marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``mark`` (other users' are not readable)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get(MARKER_ENV) == mark:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def end_marked(mark: str, grace_s: float = 3.0) -> list[int]:
    """Terminate the processes carrying ``mark``; returns their pids."""
    procs = marked(mark)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    return [p.pid for p in procs]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    mark, grace_s = sys.argv[1], float(sys.argv[2])
    sys.stdin.buffer.read()  # returns at end of file: the process that started us is done
    end_marked(mark, grace_s)


if __name__ == "__main__":
    main()
