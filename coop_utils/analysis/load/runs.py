"""Finding run folders and reading one: its events, ``run.json`` and ``summary.json``.

A folder is a finished run iff it holds ``summary.json`` (the runner writes it last).
Each ``events.jsonl`` is parsed once per process (cached on path, size and modification
time) into the rows of every frame (:mod:`.rows`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...game.events import Event, read_events
from .. import metrics
from .rows import RunRows, walk_events

Roots = str | os.PathLike | Iterable[str | os.PathLike]


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
    """The events of one run folder, in order (:func:`~coop_utils.game.events.read_events`);
    a damaged log is an error naming its line and how to redo the run."""
    try:
        return read_events(Path(folder) / "events.jsonl")
    except UnicodeDecodeError:  # a ValueError too, but not a line read: Python's own error
        raise
    except ValueError as exc:
        raise ValueError(f"{exc}: {_REDO}") from None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); {_REDO}") from None


_CACHE: dict[Path, tuple[tuple, RunRows]] = {}


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


def parse_run(folder: Path, ceiling: float) -> RunRows:
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


def _build(folder: Path, ceiling: float) -> RunRows:
    summary = _read_json(folder / "summary.json")
    meta = _read_json(folder / "run.json")
    log = metrics.EventLog(read_run_events(folder))  # indexed once for the metrics and rows
    start = next(iter(log.of("run_start")), None)
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
        **metrics.run_metrics(log, ceiling),
    }
    run.update(_config_columns(config, set(run)))
    prov = meta.get("provenance") or {}
    run.update(code_version=prov.get("code_version"), dirty=prov.get("dirty"), path=str(folder))
    parsed = RunRows(head=head, run=run)
    walk_events(log, labels, config, parsed)
    return parsed
