"""The response cache under kills and damage (issue 10, items 1, 4 and 6).

A SIGKILL leaves the last gzip member unfinished, or cuts the last line; an older version
then appended behind the cut, hiding every later record. Each record before and after a
cut must stay readable, a cut record is counted, and a file holding lines that are not
records is never appended to.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from coop_utils.llm.cache import ResponseCache
from coop_utils.llm.completion import Completion


def _records(n: int, start: int = 0) -> list[dict]:
    return [
        Completion(f"k{i}", text=f"reply {i} " + "x" * (i % 7)).record() for i in range(start, n)
    ]


def _killed_gzip(path: Path, records: list[dict], cut_last: bool = False) -> None:
    """What a SIGKILL leaves: a gzip member flushed record by record, never finished;
    ``cut_last``: killed while writing the last record (part of its bytes are missing)."""
    member = zlib.compressobj(wbits=31)  # gzip framing, as gzip.open writes it
    chunks = [
        member.compress(json.dumps(r).encode() + b"\n") + member.flush(zlib.Z_SYNC_FLUSH)
        for r in records
    ]
    if cut_last:  # drop the 5-byte flush marker and a third of the record's own bytes
        chunks[-1] = chunks[-1][: (len(chunks[-1]) - 5) * 2 // 3]
    path.write_bytes(b"".join(chunks))


def test_a_gzip_cache_killed_mid_member_keeps_every_record_after_a_resume(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    _killed_gzip(path, _records(40))
    again = ResponseCache(path)
    assert len(again) == 40, "every flushed record of the torn member is readable"
    for r in _records(60, 40):
        again.put(r)
    again.close()
    final = ResponseCache(path)
    assert len(final) == 60 and final.torn_lines == 0
    assert final.get("k39")["text"] == "reply 39 xxxx" and final.get("k59")["text"].startswith(
        "reply 59"
    )


def test_gzip_members_after_a_torn_one_stay_readable(tmp_path):
    """A file an older version left (a torn member, then a resume's member) loses nothing."""
    torn, whole = tmp_path / "torn.gz", tmp_path / "whole.gz"
    _killed_gzip(torn, _records(30), cut_last=True)
    whole.write_bytes(
        gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in _records(50, 30)))
    )
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(torn.read_bytes() + whole.read_bytes())
    cache = ResponseCache(path)
    assert len(cache) == 29 + 20 and cache.get("k49") is not None
    assert cache.torn_lines == 1, "the record cut by the kill is counted"


def test_a_damaged_cache_can_be_repaired_to_its_readable_records(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    good = b"".join(json.dumps(r).encode() + b"\n" for r in _records(5))
    path.write_bytes(gzip.compress(good + b"not a record\n") + gzip.compress(good[:40]))
    cache = ResponseCache(path)
    assert cache.damaged == ["gzip member at byte 0"] and len(cache) == 5
    with pytest.raises(ValueError, match="repair"):
        cache.put(_records(6, 5)[0])
    done = subprocess.run(
        [sys.executable, "-m", "coop_utils.llm.cache", "repair", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "kept 5 records" in done.stdout, done.stderr
    repaired = ResponseCache(path)
    assert len(repaired) == 5 and not repaired.damaged and repaired.torn_lines == 0
    repaired.put(_records(6, 5)[0])
    assert len(ResponseCache(path)) == 6
    assert Path(f"{path}.bak").read_bytes().startswith(b"\x1f\x8b")


def test_half_a_surrogate_pair_is_cached_and_replays(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = ResponseCache(path)
    text = '{"actions": [], "private_thoughts": "smile \ud83d"}'
    cache.put(Completion("k", text=text).record())
    cache.close()
    assert ResponseCache(path).get("k")["text"] == text
