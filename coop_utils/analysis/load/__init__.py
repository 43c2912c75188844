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

:mod:`.runs` finds and reads run folders, :mod:`.rows` walks one run's events into rows,
:mod:`.frames` builds the frames.
"""

from .frames import (
    RUN_KEYS,
    load_agents,
    load_messages,
    load_per_round,
    load_runs,
    load_thoughts,
    load_transfers,
    load_turns,
)
from .rows import MESSAGE_COLUMNS, TRANSFER_COLUMNS
from .runs import Roots, clear_cache, find_runs, read_run_events

__all__ = [
    "MESSAGE_COLUMNS",
    "RUN_KEYS",
    "TRANSFER_COLUMNS",
    "Roots",
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
