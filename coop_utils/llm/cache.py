"""The response cache: every model call, recorded, so runs can be replayed without a key.

A record is keyed by a hash of everything that determines the reply: provider, model id,
messages, request parameters, and the *sample*, which says which draw of a stochastic
model this is (``run_id/agent``). Without the sample, two runs that happen to send the
same prompt (e.g. round 1 of baseline and auto_request on the same seed) would share one
reply and a replay could not reproduce either faithfully; with it, a resumed or replayed
run finds exactly its own replies.

Storage is one append-only JSONL file. Each record is flushed as it is written, so a
killed process loses nothing; :meth:`ResponseCache.sync` fsyncs, and the grid calls it
before it marks a run finished, so a finished run's replies survive even a power cut
(an fsync per call would stall the event loop for milliseconds each time). A crash can
only cut the last line, which the reader skips. Later lines win.
Records hold no key or header, only the request's hash, the reply and its usage.

Modes: ``live`` always calls and records; ``replay`` only reads (a miss is an error that
names the request); ``cache`` serves a hit and calls on a miss. A recorded failure (a
turn lost after retries) is replayed as the same failure, and retried in ``cache`` mode.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Any, Literal

Mode = Literal["live", "replay", "cache"]
MODES: tuple[str, ...] = Mode.__args__


def request_key(
    provider: str, model: str, messages: list[dict], params: dict[str, Any], sample: str
) -> str:
    body = {"provider": provider, "model": model, "messages": messages}
    body |= {"params": params, "sample": sample}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class ResponseCache:
    """Recorded replies by request key; ``path=None`` keeps them in memory only."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._records: dict[str, dict[str, Any]] = {}
        self.torn_lines = 0
        self._fh = None
        if self.path and self.path.exists():
            self._load()

    def _open(self, mode: str):
        """A ``.gz`` cache is gzip (recordings are committed compressed; 10x smaller)."""
        if self.path.suffix == ".gz":
            return gzip.open(self.path, mode + "t", encoding="utf-8")
        return open(self.path, mode, encoding="utf-8")

    def _load(self) -> None:
        with self._open("r") as fh:
            try:
                for line in fh:
                    try:
                        record = json.loads(line)
                        self._records[record["key"]] = record
                    except (json.JSONDecodeError, KeyError, TypeError):
                        self.torn_lines += 1
            except (EOFError, gzip.BadGzipFile, zlib.error):  # a gzip cut off by a crash
                self.torn_lines += 1

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def get(self, key: str) -> dict[str, Any] | None:
        return self._records.get(key)

    def put(self, record: dict[str, Any]) -> None:
        """Store a record (it must have a ``key``); appended and flushed before returning."""
        self._records[record["key"]] = record
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = (
                self.path.suffix != ".gz" and self.path.exists() and not self._ends_with_newline()
            )
            self._fh = self._open("a")
            if torn:  # a torn last line from a crash stays on its own line
                self._fh.write("\n")
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()

    def sync(self) -> None:
        """Make every record written so far durable (fsync)."""
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
