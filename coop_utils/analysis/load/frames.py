"""The frames: one row per run, agent, turn, message, thought, transfer or round.

Every frame carries ``run_id, model, condition, seed, scripted`` first (:data:`RUN_KEYS`).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ...game.config import PERFECT_PLAY_TASKS
from .rows import MESSAGE_COLUMNS, TRANSFER_COLUMNS, RunRows
from .runs import Roots, find_runs, parse_run

RUN_KEYS: tuple[str, ...] = ("run_id", "model", "condition", "seed", "scripted")
"""Columns every frame carries, first."""


def _load(root: Roots, ceiling: float) -> tuple[list[RunRows], list[Path]]:
    found = find_runs(root)
    if found.ignored:
        warnings.warn(
            f"ignored {len(found.ignored)} unfinished run folder(s) without summary.json "
            f"(or without events.jsonl), e.g. {found.ignored[0]}",
            stacklevel=3,
        )
    parsed = [(parse_run(folder, ceiling), folder, base) for folder, base in found.runs]
    counts = Counter(p.head["run_id"] for p, _, _ in parsed)
    runs = []
    for p, folder, base in parsed:
        if counts[p.head["run_id"]] > 1:
            rel = folder.relative_to(base).as_posix() if folder != base else folder.name
            unique = f"{p.head['run_id']}@{rel}"
            p = RunRows(**{**p.__dict__, "head": {**p.head, "run_id": unique}})
            p.run = {**p.run, "run_id": unique}
        runs.append(p)
    return runs, found.ignored


def _frame(
    runs: list[RunRows], part: str, columns: Sequence[str], ignored: list[Path]
) -> pd.DataFrame:
    """Concatenate one part of every run, with the run keys in front (repeated per row)."""
    chunks = [getattr(r, part) for r in runs]
    rows = [row for chunk in chunks for row in chunk]
    if not rows:
        body = pd.DataFrame(columns=list(columns))
    elif isinstance(rows[0], tuple):
        body = pd.DataFrame.from_records(rows, columns=list(columns))
    else:
        body = pd.DataFrame(rows)
    head = pd.DataFrame(
        {
            k: [r.head[k] for r, chunk in zip(runs, chunks) for _ in range(len(chunk))]
            for k in RUN_KEYS
        }
    )
    frame = pd.concat([head, body], axis=1)
    frame.attrs["ignored"] = [str(p) for p in ignored]
    frame.attrs["n_runs"] = len(runs)
    return frame


def load_runs(
    root: Roots, ceiling: float = PERFECT_PLAY_TASKS, include_degraded: bool = False
) -> pd.DataFrame:
    """One row per finished run: keys, ``setting`` (the grid's ablation setting, else
    "default"), the agents' labels, ``degraded``, every ``run_metrics`` column,
    every config field (prefixed ``config_`` only where a name collides), provenance
    (``code_version``, ``dirty``) and ``path``. ``attrs["ignored"]`` lists skipped folders.
    Runs marked ``degraded`` (too many turns lost to the provider, see ``GridSpec``) are
    left out unless ``include_degraded``; ``attrs["degraded"]`` lists them either way, so
    whatever shows a table can say how many were set aside."""
    runs, ignored = _load(root, ceiling)
    degraded = [r.run["path"] for r in runs if r.run.get("degraded")]
    if not include_degraded:
        runs = [r for r in runs if not r.run.get("degraded")]
    frame = pd.DataFrame([r.run for r in runs])
    if frame.empty:
        frame = pd.DataFrame(columns=[*RUN_KEYS, "tasks", "pct_optimal"])
    frame.attrs["ignored"] = [str(p) for p in ignored]
    frame.attrs["degraded"] = degraded
    frame.attrs["n_runs"] = len(runs)
    return frame


def load_agents(root: Roots) -> pd.DataFrame:
    """One row per (run, agent): ``agent, label, revenue, tasks_done, requests_received``
    (distinct (requester, piece) asked of it), ``requests_answered`` (of those, the ones it
    later sent, any value), ``sends`` (its own sends incl. skipped duplicates),
    ``truthful_sends``, ``pieces_received``, ``messages_written``."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    cols = ["agent", "label", "revenue", "tasks_done", "requests_received", "requests_answered"]
    return _frame(runs, "agents", cols, ignored)


def load_turns(root: Roots) -> pd.DataFrame:
    """One row per agent turn (``agent_reply`` or ``llm_error``): ``round, turn, agent, label,
    instant`` (a perfect holder's immediate answer), ``lost`` (llm_error), ``reason``,
    ``n_actions, parse_errors, invalid_actions``."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    cols = ["round", "turn", "agent", "label", "instant", "lost", "n_actions"]
    return _frame(runs, "turns", cols, ignored)


def load_messages(root: Roots) -> pd.DataFrame:
    """One row per ``message`` or ``broadcast``: ``round, turn, kind, sender, to`` ("all" for
    a broadcast), ``content, system, delivered, pieces, requests, n_requests``."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    return _frame(runs, "messages", MESSAGE_COLUMNS, ignored)


def load_thoughts(root: Roots) -> pd.DataFrame:
    """One row per non-empty private thought: ``round, turn, agent, label, text, words``."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    return _frame(runs, "thoughts", ["round", "turn", "agent", "label", "text", "words"], ignored)


def load_transfers(root: Roots, include_skipped: bool = False) -> pd.DataFrame:
    """One row per piece transfer: ``round, turn, sender, to, piece, value, true_value,
    manipulated, via`` ('agent' or 'auto_fulfill'), ``skipped, bonus``. Sends the environment
    skipped (recipient already held the piece) are included only with ``include_skipped``."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    frame = _frame(runs, "transfers", TRANSFER_COLUMNS, ignored)
    if not include_skipped and len(frame):
        attrs = dict(frame.attrs)
        frame = frame[~frame["skipped"]].reset_index(drop=True)
        frame.attrs.update(attrs)
    return frame


def load_per_round(root: Roots) -> pd.DataFrame:
    """One row per (run, round), rounds 1..R including empty ones: ``tasks`` completed in that
    round, ``cumulative_tasks``, authored ``messages`` and ``transfers`` in that round."""
    runs, ignored = _load(root, PERFECT_PLAY_TASKS)
    return _frame(runs, "per_round", ["round", "tasks", "cumulative_tasks"], ignored)
