"""Reading one thought: its classes, the patterns that matched, its market terms and words.

A thought is split into clauses (every pattern and guard stops at clause marks), each
clause matched against :data:`~.patterns.PATTERNS` once and cached, since clauses repeat
across thoughts far more than whole thoughts do.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from .patterns import (
    _DISMISSED,
    _LEADING_NEGATOR,
    _NEGATED_SEND,
    _NEGATION,
    _THIRD_PARTY,
    CLASSES,
    MARKET_TERMS,
    PATTERNS,
    Pattern,
)

__all__ = ["classify", "classify_frame", "market_terms", "word_count"]

_COMPILED: tuple[tuple[Pattern, re.Pattern[str]], ...] = tuple(
    (p, re.compile(p.regex, re.IGNORECASE)) for p in PATTERNS
)

_MARKET = re.compile("|".join(f"(?:{p})" for p, _ in MARKET_TERMS), re.IGNORECASE)
"""One alternation: a phrase counts once even when two rows could match it."""
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")


def word_count(text: str) -> int:
    """Words as runs of letters/digits (agent ids and piece names count as words)."""
    return len(_WORD.findall(text or ""))


def market_terms(text: str) -> int:
    """Number of market-lexicon occurrences in ``text`` (non-overlapping, leftmost first)."""
    return len(_MARKET.findall(text or ""))


def _negated(text: str, start: int, cls: str) -> bool:
    """Is the match at ``start`` inside a negated clause?

    For soft conditionals a negated *sending* verb ("not sending until they reply")
    is the conditional refusal itself, not a negation of it, so it does not cancel.
    """
    m = _NEGATION.search(text[max(0, start - 40) : start])
    if m is None:
        return False
    if cls == "soft_conditional":
        between = _LEADING_NEGATOR.sub("", m.group(0))
        if _NEGATED_SEND.search(between) or _NEGATED_SEND.search(text[start : start + 20]):
            return False
    return True


def _skipped(text: str, pattern: Pattern, m: re.Match[str]) -> bool:
    if _negated(text, m.start(), pattern.cls):
        return True
    if pattern.own_act and _THIRD_PARTY.search(text[max(0, m.start() - 40) : m.start()]):
        return True
    return pattern.cls == "hard_defection" and bool(_DISMISSED.search(text[m.end() : m.end() + 60]))


_CLAUSE = re.compile(r"[^.;!?\n]*(?:[.;!?\n]+|$)")
"""A sentence or clause with its closing punctuation. Every pattern and guard stops at these
marks, so a thought is classified clause by clause — and clauses repeat across thoughts far
more than whole thoughts do, which the cache exploits."""


def classify(text: str) -> dict:
    """Classes, matched pattern indices, market-term count and word count of one thought.

    Returns ``{"hard_defection": bool, "soft_conditional": bool, "market_terms": int,
    "words": int, "matches": [(class, pattern index, matched text), ...]}`` (one match per
    pattern: the first, in text order).
    """
    found: dict[str, bool] = dict.fromkeys(CLASSES, False)
    matches: dict[int, tuple[str, int, str]] = {}
    terms = 0
    for clause in _CLAUSE.findall(text or ""):
        if not clause:
            continue
        hits, n_terms = _classify_clause(clause)
        terms += n_terms
        for cls, i, matched in hits:
            found[cls] = True
            matches.setdefault(i, (cls, i, matched))
    ordered = [matches[i] for i in sorted(matches)]
    return {**found, "market_terms": terms, "words": word_count(text or ""), "matches": ordered}


@functools.lru_cache(maxsize=200_000)
def _classify_clause(clause: str) -> tuple[tuple[tuple[str, int, str], ...], int]:
    """Pattern matches and market terms of one clause (cached)."""
    hits = []
    for i, (pattern, rx) in enumerate(_COMPILED):
        for m in rx.finditer(clause):
            if not _skipped(clause, pattern, m):
                hits.append((pattern.cls, i, m.group(0)))
                break
    return tuple(hits), market_terms(clause)


def classify_frame(thoughts: pd.DataFrame, text_col: str = "text") -> pd.DataFrame:
    """The thoughts frame with ``hard_defection``, ``soft_conditional``, ``market_terms``
    and ``words`` (recomputed only when absent) columns added; empty thoughts are dropped.

    A frame that already has all four (what this function returns) comes back as a copy,
    not read again: every thought table takes raw or classified thoughts, so a notebook
    classifies once and hands the result to each of them."""
    t = thoughts[thoughts[text_col].fillna("").str.strip() != ""].copy()
    if {*CLASSES, "market_terms", "words"} <= set(t.columns) and t["words"].notna().all():
        return t
    labels = [classify(x) for x in t[text_col]]
    for cls in CLASSES:
        t[cls] = [lab[cls] for lab in labels]
    t["market_terms"] = [lab["market_terms"] for lab in labels]
    if "words" not in t.columns or t["words"].isna().any():
        t["words"] = [lab["words"] for lab in labels]
    return t
