"""Recorded runs → tidy pandas frames, one row per run, agent, turn, message, thought, ....

Why: every table and figure is computed from the run folders alone (``events.jsonl``,
``run.json``, ``summary.json``; see docs/CONTRIBUTING.md), so this is the one place
that reads them. Each ``events.jsonl`` is parsed once per process (cached on path,
size and modification time) and all frames are built in that single pass, so loading
hundreds of runs takes seconds. Every frame carries ``run_id, model, condition, seed,
scripted`` so that any table or figure can say which population produced it and
whether it was scripted.

A folder is a finished run iff it holds ``summary.json`` (the runner writes it last).
Other folders that look like runs (``events.jsonl`` or ``run.json`` without a summary)
are debris from interrupted runs: they are skipped with a warning and listed in
``frame.attrs["ignored"]``. Run ids are made unique: when two folders carry the same
``run_id`` (the runner's default id is ``<condition>-seed<seed>``, which repeats across
populations), each is renamed ``<run_id>@<folder relative to its root>``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import metrics
from .config import PERFECT_PLAY_TASKS
from .events import Event
from .thoughts import word_count

__all__ = [
    "RUN_KEYS",
    "clear_cache",
    "find_runs",
    "load_agents",
    "load_messages",
    "load_per_round",
    "load_runs",
    "load_thoughts",
    "load_transfers",
    "load_turns",
    "read_run_events",
]

RUN_KEYS: tuple[str, ...] = ("run_id", "model", "condition", "seed", "scripted")
"""Columns every frame carries, first."""

MESSAGE_COLUMNS = (
    "round", "turn", "kind", "sender", "to", "content", "system", "delivered", "pieces",
    "requests", "n_requests",
)  # fmt: skip
TRANSFER_COLUMNS = (
    "round", "turn", "sender", "to", "piece", "value", "true_value", "manipulated", "via",
    "skipped", "bonus",
)  # fmt: skip
# The two largest frames are built from tuples in these column orders (cheaper than dicts).

Roots = str | os.PathLike | Iterable[str | os.PathLike]


# ---- finding runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    runs: list[tuple[Path, Path]]  # (run folder, the root it was found under)
    ignored: list[Path]


def _roots(root: Roots) -> list[Path]:
    if isinstance(root, (str, os.PathLike)):
        return [Path(root)]
    return [Path(r) for r in root]


def find_runs(root: Roots) -> _Found:
    """Finished run folders under one or more roots (recursively), and the ignored debris."""
    runs: dict[Path, tuple[Path, Path]] = {}
    ignored: list[Path] = []
    for base in _roots(root):
        if not base.exists():
            raise FileNotFoundError(f"no such runs folder: {base}")
        for dirpath, dirnames, filenames in os.walk(base):
            names = set(filenames)
            here = Path(dirpath)
            if "summary.json" in names:
                if "events.jsonl" in names:
                    runs.setdefault(here.resolve(), (here, base))
                else:
                    ignored.append(here)
                dirnames[:] = []  # a run folder's subfolders are not runs
            elif names & {"events.jsonl", "run.json"}:
                ignored.append(here)
            dirnames.sort()
    return _Found(sorted(runs.values(), key=lambda r: str(r[0])), sorted(ignored))


# ---- parsing one run ------------------------------------------------------------------------


_REDO = "delete its run folder and rerun the grid that made it to redo the run"


def read_run_events(folder: str | os.PathLike) -> list[Event]:
    """The events of one run folder, in order; a damaged log is an error naming its line."""
    path = Path(folder) / "events.jsonl"
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    try:  # one json.loads over the whole log is several times faster than one per line
        return [Event(**d) for d in json.loads("[" + ",".join(lines) + "]")]
    except (ValueError, TypeError):
        pass
    for n, line in enumerate(text.splitlines(), 1):
        try:
            if line.strip():
                Event(**json.loads(line))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{path}: line {n} is not an event ({exc}); the log is truncated or damaged: "
                f"{_REDO}"
            ) from None
    raise AssertionError("unreachable: some line failed to parse above")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); {_REDO}") from None


@dataclass
class _Run:
    """Everything the frames need from one run, built in one pass over its events."""

    head: dict[str, Any]
    run: dict[str, Any]
    agents: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    thoughts: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    per_round: list[dict[str, Any]] = field(default_factory=list)


_CACHE: dict[Path, tuple[tuple, _Run]] = {}


def clear_cache() -> None:
    """Forget parsed runs (they are otherwise re-read only when a file changes)."""
    _CACHE.clear()


def _stamp(folder: Path) -> tuple:
    out = []
    for name in ("events.jsonl", "summary.json", "run.json"):
        try:
            st = (folder / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def _parse(folder: Path, ceiling: float) -> _Run:
    key = folder.resolve()
    stamp = (_stamp(folder), ceiling)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    parsed = _build(folder, ceiling)
    _CACHE[key] = (stamp, parsed)
    return parsed


def _config_columns(config: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    out = {}
    for k, v in config.items():
        if k == "condition":
            continue  # already a key column (and identical)
        out[f"config_{k}" if k in taken else k] = v
    return out


def _build(folder: Path, ceiling: float) -> _Run:
    summary = _read_json(folder / "summary.json")
    meta = _read_json(folder / "run.json")
    events = read_run_events(folder)
    start = next((e for e in events if e.kind == "run_start"), None)
    config = meta.get("config") or (start.payload.get("config", {}) if start else {})
    labels: dict[str, str] = dict(start.payload.get("agents", {})) if start else {}
    if not labels and meta.get("agents"):
        labels = {f"agent_{i}": lab for i, lab in enumerate(meta["agents"])}
    head = {
        "run_id": summary.get("run_id") or meta.get("run_id") or folder.name,
        "model": summary.get("model") or meta.get("model"),
        "condition": summary.get("condition") or meta.get("condition") or config.get("condition"),
        "seed": summary.get("seed", meta.get("seed")),
        "scripted": bool(summary.get("scripted", meta.get("scripted", False))),
    }
    run = {
        **head,
        "setting": meta.get("setting", "default"),
        "agents": ",".join(labels.values()) if labels else ",".join(meta.get("agents", [])),
        "degraded": bool(summary.get("degraded", False)),
        **metrics.run_metrics(events, ceiling),
    }
    run.update(_config_columns(config, set(run)))
    prov = meta.get("provenance") or {}
    run.update(code_version=prov.get("code_version"), dirty=prov.get("dirty"), path=str(folder))
    parsed = _Run(head=head, run=run)
    _walk(events, labels, config, parsed)
    return parsed


def _walk(events: list[Event], labels: dict[str, str], config: dict, out: _Run) -> None:
    """Build the per-agent, per-turn, per-message, per-thought, per-transfer, per-round rows."""
    instant: dict[int, bool] = {}
    turn_issues: dict[int, Counter] = defaultdict(Counter)
    asked: dict[str, set[tuple[str, str]]] = defaultdict(set)  # holder -> {(requester, piece)}
    answered: dict[str, set[tuple[str, str]]] = defaultdict(set)  # holder -> {(requester, piece)}
    sends: Counter = Counter()
    truthful: dict[str, set] = defaultdict(set)  # (recipient, piece): counted once
    received: Counter = Counter()
    written: Counter = Counter()
    round_tasks: Counter = Counter()
    round_msgs: Counter = Counter()
    round_transfers: Counter = Counter()
    turn_rows: dict[int, dict[str, Any]] = {}
    final: dict[str, Any] = {}
    for e in events:
        k, p = e.kind, e.payload
        if k == "turn_start":
            instant[e.turn] = bool(p.get("instant", False))
        elif k in ("agent_reply", "llm_error"):
            row = {
                "round": e.round,
                "turn": e.turn,
                "agent": e.agent,
                "label": labels.get(e.agent),
                "instant": instant.get(e.turn, False),
                "lost": k == "llm_error",
                "n_actions": int(p.get("n_actions", 0) or 0),
                "reason": p.get("reason"),
            }
            turn_rows[e.turn] = row
            out.turns.append(row)
            thought = (p.get("private_thoughts") or "").strip() if k == "agent_reply" else ""
            if thought:
                out.thoughts.append(
                    {
                        "round": e.round,
                        "turn": e.turn,
                        "agent": e.agent,
                        "label": labels.get(e.agent),
                        "text": thought,
                        "words": word_count(thought),
                    }
                )
        elif k in ("parse_error", "invalid_action"):
            turn_issues[e.turn][k] += 1
        elif k in ("message", "broadcast"):
            system = bool(p.get("system", False))
            delivered = bool(p.get("delivered", True)) if k == "message" else True
            requests = list(p.get("requests") or ())
            if not system:
                written[e.agent] += 1
                round_msgs[e.round] += 1
            out.messages.append(
                (
                    e.round,
                    e.turn,
                    k,
                    e.agent,
                    p.get("to", "all"),
                    p.get("content", ""),
                    system,
                    delivered,
                    list(p.get("pieces") or ()),
                    requests,
                    len(requests),
                )
            )
        elif k in ("transfer", "transfer_skipped"):
            via = p.get("via", "agent")
            value, true_value = p.get("value"), p.get("true_value")
            if via == "agent":
                sends[e.agent] += 1
                if value == true_value:
                    truthful[e.agent].add((p["to"], p["piece"]))
                answered[e.agent].add((p["to"], p["piece"]))
            if k == "transfer":
                received[p["to"]] += 1
                round_transfers[e.round] += 1
            out.transfers.append(
                (
                    e.round,
                    e.turn,
                    e.agent,
                    p["to"],
                    p["piece"],
                    value,
                    true_value,
                    value != true_value,
                    via,
                    k == "transfer_skipped",
                    p.get("bonus", 0),
                )
            )
        elif k == "submit":
            round_tasks[e.round] += 1
        elif k in ("round_end", "run_end"):
            final = p
    for t, row in turn_rows.items():
        row["parse_errors"] = turn_issues[t]["parse_error"]
        row["invalid_actions"] = turn_issues[t]["invalid_action"]
    for requester, holder, piece in metrics.requests_received(events):  # one definition
        asked[holder].add((requester, piece))
    revenues, done = final.get("revenues", {}), final.get("tasks_done", {})
    for agent in labels or revenues:
        got = asked[agent]
        out.agents.append(
            {
                "agent": agent,
                "label": labels.get(agent),
                "revenue": float(revenues.get(agent, 0.0)),
                "tasks_done": int(done.get(agent, 0)),
                "requests_received": len(got),
                "requests_answered": len(got & answered[agent]),
                "sends": sends[agent],
                "truthful_sends": len(truthful[agent]),
                "pieces_received": received[agent],
                "messages_written": written[agent],
            }
        )
    rounds = int(config.get("rounds") or max([e.round for e in events] or [0]))
    cumulative = 0
    for r in range(1, rounds + 1):
        cumulative += round_tasks[r]
        out.per_round.append(
            {
                "round": r,
                "tasks": round_tasks[r],
                "cumulative_tasks": cumulative,
                "messages": round_msgs[r],
                "transfers": round_transfers[r],
            }
        )


# ---- frames ---------------------------------------------------------------------------------


def _load(root: Roots, ceiling: float) -> tuple[list[_Run], list[Path]]:
    found = find_runs(root)
    if found.ignored:
        warnings.warn(
            f"ignored {len(found.ignored)} unfinished run folder(s) without summary.json "
            f"(or without events.jsonl), e.g. {found.ignored[0]}",
            stacklevel=3,
        )
    parsed = [(_parse(folder, ceiling), folder, base) for folder, base in found.runs]
    counts = Counter(p.head["run_id"] for p, _, _ in parsed)
    runs = []
    for p, folder, base in parsed:
        if counts[p.head["run_id"]] > 1:
            rel = folder.relative_to(base).as_posix() if folder != base else folder.name
            unique = f"{p.head['run_id']}@{rel}"
            p = _Run(**{**p.__dict__, "head": {**p.head, "run_id": unique}})
            p.run = {**p.run, "run_id": unique}
        runs.append(p)
    return runs, found.ignored


def _frame(
    runs: list[_Run], part: str, columns: Sequence[str], ignored: list[Path]
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
