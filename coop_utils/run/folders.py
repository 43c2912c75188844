"""The folders a grid writes: named injectively, claimed by one grid at a time, checked.

Why: a grid's output folder is its only record, so it must never be shared by accident.
Run folders are readable slugs of their population; when two populations of one grid slug
alike (``team/x`` and ``team_x``), each gets ``-`` and 8 hex digits of its SHA-256, so no
two cells share a folder. A grid holds an exclusive lock on its folder (an ``flock``,
which the kernel frees if the grid is killed) and writes its pid into the lock file, so a
second grid on the same folder exits at once naming the first. A non-empty folder that no
grid made is refused rather than written into. A finished run whose files were damaged
afterwards is detected cheaply (its summary parses, its log ends with ``run_end``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..inputs import InputError

LOCK_FILE = ".coop-grid.lock"
"""Held by the grid writing a folder; its text says who holds it (pid, host, start)."""


class GridLockedError(ValueError):
    """Another grid is writing the same folder (or cache file)."""


def slug(text: str) -> str:
    """A folder-safe name for a population ('5*o3,5*perfect' -> '5xo3+5xperfect')."""
    text = text.replace("*", "x").replace(",", "+").replace("/", "_").replace(":", "-")
    return re.sub(r"[^A-Za-z0-9._+=-]", "", text.replace("=", "")) or "run"


def folder_names(items: list[str]) -> dict[str, str]:
    """Each item's folder name: its slug, plus ``-`` and 8 hex digits of its SHA-256 when
    slugs collide (ignoring case, for file systems that do), so no two items share one."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        groups[slug(item).lower()].append(item)
    names = {}
    for group in groups.values():
        for item in group:
            digest = hashlib.sha256(item.encode()).hexdigest()[:8]
            names[item] = slug(item) if len(group) == 1 else f"{slug(item)}-{digest}"
    if len({n.lower() for n in names.values()}) < len(names):
        raise InputError(f"two of {', '.join(map(repr, items))} map to one folder name; rename one")
    return names


def read_json(path: Path) -> dict | None:
    """A JSON object from a file, or None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def damage(folder: Path) -> str | None:
    """Why a finished run cannot be trusted, or None: its JSON files parse and its log
    ends with ``run_end`` (a cheap check: only the log's last line is read)."""
    for name in ("run.json", "summary.json"):
        if read_json(folder / name) is None:
            return f"{name} is unreadable"
    try:
        with open(folder / "events.jsonl", "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 65536))
            last = json.loads(fh.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])
        if last["kind"] == "run_end":
            return None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return "events.jsonl does not end with run_end (truncated or damaged)"


class _Replaced(Exception):
    """The lock file was removed by its last holder while we waited on it: open it anew."""


def _locked_path(lock_path: Path) -> Callable[[int], None]:
    def check(fd: int) -> None:
        try:
            if os.path.samestat(os.fstat(fd), os.stat(lock_path)):
                return
        except FileNotFoundError:
            pass
        raise _Replaced

    return check


@contextmanager
def hold(lock_path: Path, what: str, option: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock while in the block; the lock file names the holder, so a
    second grid that cannot take it (within ``wait_s``) says who has it and which
    ``option`` to change. The holder removes the file as it ends (a waiter that locked
    the removed file opens the new one)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = max(deadline - time.monotonic(), 0.0)
        lock = FileLock(lock_path, timeout=left, on_acquired=_locked_path(lock_path))
        try:
            lock.acquire()
            break
        except _Replaced:
            continue
        except Timeout:
            try:
                holder = lock_path.read_text().strip()
            except OSError:
                holder = ""
            raise GridLockedError(
                f"{what} is in use by another grid ({holder or 'its pid is not yet recorded'}); "
                f"wait for it to finish or choose another {option}"
            ) from None
    try:
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        lock_path.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {since}\n")
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        lock.release()


def refuse_if_held(out: Path | None) -> None:
    """Fail fast, before the slow imports of a grid, if another grid holds ``out`` (the
    grid itself takes the lock; this only spares the wait)."""
    if out is not None and (out / LOCK_FILE).exists():
        with hold(out / LOCK_FILE, f"--out {out}", "--out"):
            pass


def made_by_grid(out: Path) -> bool:
    data = read_json(out / "grid.json")
    return data is not None and {"name", "models", "conditions"} <= data.keys()


@contextmanager
def claim(out: Path, wait_s: float = 0.0) -> Iterator[None]:
    """Hold ``out`` for one grid; a file or a non-empty folder no grid made is refused."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder; give a folder for the runs")
    if out.is_dir() and not made_by_grid(out) and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise InputError(
            f"--out {out} is not empty and was not made by coop grid (it has no grid.json of "
            "a grid); give a new or empty folder"
        )
    with made(out), hold(out / LOCK_FILE, f"--out {out}", "--out", wait_s):
        yield


@contextmanager
def made(folder: Path) -> Iterator[None]:
    """Make ``folder`` for the block; if it was new and the block wrote no file in it (a
    command that stopped before any work), remove it again."""
    new = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        if new and not any(p.is_file() for p in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)


def within(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder.resolve())
