"""The response cache: every model call, recorded, so runs can be replayed without a key.

A record is keyed by a hash of everything that determines the reply: provider, model id,
messages, request parameters, and the *sample*, which says which draw of a stochastic
model this is (``run_id/agent``). Without the sample, two runs that happen to send the
same prompt (e.g. round 1 of baseline and auto_request on the same seed) would share one
reply and a replay could not reproduce either faithfully; with it, a resumed or replayed
run finds exactly its own replies.

Storage is one append-only JSONL file, gzip-compressed when its name ends in ``.gz``
(recordings are committed compressed: 10x smaller). Each record is flushed as it is
written, so a killed process loses nothing that was written; :meth:`ResponseCache.sync`
fsyncs, and the grid calls it before it marks a run finished, so a finished run's replies
survive even a power cut (an fsync per call would stall the event loop). A kill can only
cut the last record (or leave the last gzip member unfinished): the reader keeps every
record before the cut, counts the cut ones in ``torn_lines``, and reads on past a torn
gzip member to the members after it; before the next append the file is rewritten
atomically with its readable records, so a torn end never hides what follows it.
A line that is neither a record nor a torn record means the file was damaged or is not a
cache: it is listed in ``damaged``, a grid refuses the file and nothing is appended to it
(:func:`repair` keeps its readable records).
Later lines win. Records hold no key or header, only the request's hash, the reply and
its usage.

Modes: ``live`` always calls and records; ``replay`` only reads (a miss is an error that
names the request); ``cache`` serves a hit and calls on a miss. A recorded failure (a
turn lost after retries) is replayed as the same failure, and retried in ``cache`` mode.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from ..paths import atomic_path

Mode = Literal["live", "replay", "cache"]
MODES: tuple[str, ...] = get_args(Mode)

_RECORD_START = b'{"key":'
"""How every record line begins; an unreadable line that begins so was cut by a kill."""
_GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 1 << 16


class CacheDamagedError(ValueError):
    """The cache file holds lines that are not cache records: never append to it."""


def request_key(
    provider: str, model: str, messages: list[dict], params: dict[str, Any], sample: str
) -> str:
    body: dict[str, Any] = {"provider": provider, "model": model, "messages": messages}
    body |= {"params": params, "sample": sample}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # half a surrogate pair: escaped, it reads back the same
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


class ResponseCache:
    """Recorded replies by request key; ``path=None`` keeps them in memory only."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._records: dict[str, dict[str, Any]] = {}
        self.torn_lines = 0
        """Records cut by a kill, found when the file was opened (their calls are made again)."""
        self.damaged: list[str] = []
        """Where the file holds something that is not a record ('line 7', 'gzip member at byte 90')."""
        self._rewrite = False  # the end is torn: rewrite before appending
        self._fh: io.BufferedIOBase | None = None
        if self.path and self.path.exists():
            self._load(self.path)

    @property
    def gz(self) -> bool:
        return self.path is not None and self.path.suffix == ".gz"

    def _load(self, path: Path) -> None:
        suspects: list[tuple[str, bytes]] = []  # unreadable lines of the current gzip member
        decoded = 0  # lines of the current gzip member
        for where, raw, state in self._lines(path):
            if raw is None:  # a gzip member ended: finished, cut short, or broken
                if state == "broken" and not decoded:
                    self.damaged.append(f"{where} (not gzip data)")
                self._rewrite |= state != "finished"
                self._judge(suspects, torn=state != "finished")
                suspects, decoded = [], 0
                continue
            decoded += 1
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                if not isinstance(record.get("key"), str):
                    raise ValueError("no key")
            except (ValueError, AttributeError):
                suspects.append((where, raw))
                if not self.gz:
                    self._judge(suspects, torn=False)
                    suspects = []
                continue
            self._records[record["key"]] = record
            self._rewrite |= not raw.endswith(b"\n")  # a record that lost its newline

    def _judge(self, suspects: list[tuple[str, bytes]], torn: bool) -> None:
        """Unreadable lines are records cut by a kill (a record's start, or anything in an
        unfinished gzip member), or damage."""
        for where, raw in suspects:
            if torn or raw.startswith(_RECORD_START) or _RECORD_START.startswith(raw.strip()):
                self.torn_lines += 1
                self._rewrite = True
            else:
                self.damaged.append(where)

    def _lines(self, path: Path) -> Iterator[tuple[str, bytes | None, str]]:
        """(where, line, ""); for gzip also (where, None, how the member ended) after each."""
        if not self.gz:
            with open(path, "rb") as fh:
                for n, raw in enumerate(fh, 1):
                    yield f"line {n}", raw, ""
            return
        yield from _gzip_lines(path.read_bytes())

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def get(self, key: str) -> dict[str, Any] | None:
        return self._records.get(key)

    def check_intact(self) -> None:
        """Raise :class:`CacheDamagedError` (one line saying what to do) if the file is damaged."""
        if self.damaged:
            raise CacheDamagedError(
                f"cache {self.path}: {self.damaged[0]} is not a cache record "
                f"({len(self.damaged)} such place(s), {len(self)} readable records): the file is "
                "damaged or not a cache, so it is neither read nor appended to; pass another --cache, or "
                f"keep its readable records with `python -m coop_utils.llm.cache repair {self.path}`"
            )

    def put(self, record: dict[str, Any]) -> None:
        """Store a record (it must have a ``key``); appended and flushed before returning."""
        self._records[record["key"]] = record
        if (path := self.path) is None:
            return
        if self._fh is None:
            self.check_intact()
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._rewrite:
                self._write_all(path)
            self._fh = gzip.open(path, "ab") if self.gz else open(path, "ab")
        self._fh.write(_line(record))
        self._fh.flush()

    def _write_all(self, path: Path) -> None:
        """Replace the file by its readable records, atomically (a kill leaves it as it was)."""
        for debris in path.parent.glob(f".{path.name}.*.tmp"):  # a killed rewrite
            debris.unlink(missing_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as raw:
            fh = gzip.GzipFile(fileobj=raw, mode="wb") if self.gz else raw
            for record in self._records.values():
                fh.write(_line(record))
            if fh is not raw:
                fh.close()  # ends the gzip member; ``raw`` stays open
            raw.flush()
            os.fsync(raw.fileno())
        self._rewrite, self.damaged = False, []

    def sync(self) -> None:
        """Make every record written so far durable (fsync)."""
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def _gzip_lines(data: bytes) -> Iterator[tuple[str, bytes | None, str]]:
    """Lines of concatenated gzip members; after each member ``(where, None, how it ended)``:
    ``finished``, ``cut`` (the data ends inside it: a kill) or ``broken`` (undecodable bytes).

    A cut or broken member yields every line decompressed before the cut; after a broken
    one the reader looks for the next member header, so members after a torn one stay
    readable (an older version appended behind torn members).
    """
    pos = 0
    while pos < len(data):
        start, member, pending, state = pos, zlib.decompressobj(wbits=31), b"", "cut"
        where = f"gzip member at byte {start}"
        while pos < len(data) and not member.eof:
            chunk = data[pos : pos + _CHUNK]
            before = member.copy()
            try:
                out = member.decompress(chunk)
            except zlib.error:  # keep all that decompresses before the bad byte
                member, out, state = before, b"", "broken"
                for k in range(len(chunk)):
                    try:
                        out += member.decompress(chunk[k : k + 1])
                    except zlib.error:
                        break
            pos += len(chunk) - len(member.unused_data) if member.eof else len(chunk)
            *lines, pending = (pending + out).split(b"\n")
            for raw in lines:
                yield where, raw + b"\n", ""
            if state == "broken":
                break
        if pending:
            yield where, pending, ""
        yield where, None, "finished" if member.eof else state
        if state == "broken":
            found = data.find(_GZIP_MAGIC, start + 1)
            pos = found if found > start else len(data)


def repair(path: str | Path) -> ResponseCache:
    """Rewrite a damaged cache with only its readable records (a copy is kept as FILE.bak)."""
    cache, backup = ResponseCache(path), Path(f"{path}.bak")
    if backup.exists():
        raise FileExistsError(f"{backup} exists: move it away first")
    backup.write_bytes(Path(path).read_bytes())
    cache._write_all(Path(path))
    return cache


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m coop_utils.llm.cache")
    sub = p.add_subparsers(dest="command", required=True)
    fix = sub.add_parser(
        "repair", help="keep a damaged cache's readable records (a .bak keeps all)"
    )
    fix.add_argument("file")
    path = p.parse_args(argv).file
    print(f"{path}: kept {len(repair(path))} records; the original is in {path}.bak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
