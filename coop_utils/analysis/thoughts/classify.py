"""Reading one thought: its classes, the patterns that matched and where, its market terms.

A thought is normalised (:func:`~.clauses.normalize`: quotes, dashes, compatibility forms,
case), split into sentences (every pattern stops at sentence marks), and each sentence
matched against :data:`~.patterns.PATTERNS` once and cached, since sentences repeat across
thoughts far more than whole thoughts do. Matches are reported in the original text's
offsets (:func:`thought_spans`), so a viewer can highlight what the model wrote.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from .clauses import negated, normalize, other_speaker
from .definitions import CLASSES
from .patterns import DISMISSED, LEADING_NEGATOR, MARKET_TERMS, NEGATED_SEND, PATTERNS, Pattern

__all__ = [
    "Span",
    "ThoughtSpans",
    "classify",
    "classify_frame",
    "market_terms",
    "thought_spans",
    "word_count",
]

_COMPILED: tuple[tuple[Pattern, re.Pattern[str]], ...] = tuple(
    (p, re.compile(p.regex, re.IGNORECASE)) for p in PATTERNS
)

_MARKET = re.compile("|".join(f"(?:{p})" for p, _ in MARKET_TERMS), re.IGNORECASE)
"""One alternation: a phrase counts once even when two rows could match it."""
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")


def word_count(text: str) -> int:
    """Words as runs of letters/digits (agent ids and piece names count as words)."""
    return len(_WORD.findall(normalize(text or "")[0]))


def market_terms(text: str) -> int:
    """Number of market-lexicon occurrences in ``text`` (non-overlapping, leftmost first)."""
    return len(_MARKET.findall(normalize(text or "")[0]))


def _skipped(sentence: str, pattern: Pattern, m: re.Match[str]) -> bool:
    """Is this match negated, about another agent, or dismissed in its clause?

    For soft conditionals a negated *sending* verb ("not sending until they reply") is the
    conditional refusal itself, not a negation of it, so it does not cancel."""
    neg = negated(sentence, m.start())
    if neg is not None:
        if pattern.cls != "soft_conditional":
            return True
        between = LEADING_NEGATOR.sub("", neg)
        if not (NEGATED_SEND.search(between) or NEGATED_SEND.search(m.group(0)[:20])):
            return True
    if pattern.own_act and other_speaker(sentence, m.start()):
        return True
    return pattern.cls == "hard_defection" and bool(DISMISSED.search(sentence[m.end() :]))


_SENTENCE = re.compile(r"[^.;!?\n]*(?:[.;!?\n]+|$)")
"""A sentence with its closing punctuation: no pattern or guard crosses these marks."""


class Span(NamedTuple):
    """One match, in the original text's offsets: ``text[start:end]``."""

    start: int
    end: int
    cls: str
    move: str
    pattern: int


class ThoughtSpans(NamedTuple):
    """A thought's classes and the spans that put it in them (first match per pattern)."""

    classes: tuple[str, ...]
    spans: tuple[Span, ...]


def thought_spans(text: str) -> ThoughtSpans:
    """The classes of one thought and where each matched pattern sits in ``text`` (offsets
    into the text as given, whatever its quotes, dashes or case): what a viewer highlights."""
    return _read(text or "")[0]


def _read(text: str) -> tuple[ThoughtSpans, int]:
    """The spans of one thought and its market-term count, sentence by cached sentence."""
    norm, where = normalize(text)
    spans: dict[int, Span] = {}
    terms = 0
    for m in _SENTENCE.finditer(norm):
        if not m.group(0):
            continue
        hits, n_terms = classify_sentence(m.group(0))
        terms += n_terms
        for cls, i, a, b in hits:
            if i not in spans:
                start, end = where[m.start() + a], where[m.start() + b - 1] + 1
                spans[i] = Span(start, end, cls, PATTERNS[i].move, i)
    ordered = tuple(spans[i] for i in sorted(spans))
    classes = tuple(c for c in CLASSES if any(s.cls == c for s in ordered))
    return ThoughtSpans(classes, ordered), terms


def classify(text: str) -> dict:
    """Classes, matched patterns, market-term count and word count of one thought.

    Returns ``{"hard_defection": bool, "soft_conditional": bool, "market_terms": int,
    "words": int, "matches": [(class, pattern index, matched original text), ...]}`` (one
    match per pattern: the first, in text order). :func:`thought_spans` gives the offsets.
    """
    text = text or ""
    found, terms = _read(text)
    return {
        **{c: c in found.classes for c in CLASSES},
        "market_terms": terms,
        "words": word_count(text),
        "matches": [(s.cls, s.pattern, text[s.start : s.end]) for s in found.spans],
    }


@functools.lru_cache(maxsize=200_000)
def classify_sentence(sentence: str) -> tuple[tuple[tuple[str, int, int, int], ...], int]:
    """Pattern matches (class, pattern index, start, end) and the market-term count of one
    normalised sentence (cached)."""
    hits = []
    for i, (pattern, rx) in enumerate(_COMPILED):
        for m in rx.finditer(sentence):
            if not _skipped(sentence, pattern, m):
                hits.append((pattern.cls, i, m.start(), m.end()))
                break
    return tuple(hits), len(_MARKET.findall(sentence))


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
