"""Reading a thought before the patterns: normalised text, clauses, negation and speaker.

Why: models write typographic apostrophes ("I’ll", "don’t"), dashes and compatibility
forms that a pattern written with ASCII quotes never matches, so :func:`normalize` maps
them first (standard library NFKC, then quotes and dashes, then lower case) and keeps, for
every character it produces, the offset of the original character it came from: matches
are shown in the text the model wrote. (``ftfy`` would also repair mojibake, but its
fixes do not keep offsets; NFKC is applied per character for the same reason.)

A match is then judged within its clause, the stretch of a sentence between
conjunctions, colons, dashes or a comma before a new subject: it does not count when a
negator precedes it in that clause (:func:`negated`) or when the clause's subject is
another agent (:func:`other_speaker`). A clause that starts with no subject after "but",
"and", "yet" or "or" keeps the subject of the clause before ("Agent_5 has the budget but
did not respond" is about agent_5); one that starts with no subject elsewhere is the
thinker's own note ("Decision: sit on the Q3 data").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["negated", "normalize", "other_speaker"]

_MAP = {
    **dict.fromkeys(map(ord, "‘’‚‛′`´ʼ"), "'"),
    **dict.fromkeys(map(ord, "“”„‟″«»"), '"'),
    **dict.fromkeys(map(ord, "‐‑‒−"), "-"),
    **dict.fromkeys(map(ord, "–—―"), " - "),
}
"""Typographic quotes → ASCII; hyphens → '-'; en and em dashes → a spaced dash (a clause mark)."""


def normalize(text: str) -> tuple[str, list[int]]:
    """The text as the patterns read it, and for each of its characters (plus one past the
    end) the offset of the original character it came from."""
    if text.isascii():  # the common case: lower case is all there is to do
        return text.lower(), list(range(len(text) + 1))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        piece = ch if ch.isascii() else unicodedata.normalize("NFKC", ch).translate(_MAP)
        piece = piece.lower()
        out.append(piece)
        where.extend([i] * len(piece))
    where.append(len(text))
    return "".join(out), where


_CONJ = r"(?:but|and|yet|or|so|because|while|whereas|although|though|since)"
_SUBJECT_AHEAD = (
    r"(?=(?:i|i'm|i'll|i'd|i've|we|we're|we'll|they|they're|they'll|he|she|agent[_ ]?\d+)\b)"
)
_BOUNDARY = re.compile(
    rf",?\s+(?P<conj>{_CONJ})\s+|\s+-\s+|:\s+|,\s+{_SUBJECT_AHEAD}|\(|\)", re.IGNORECASE
)
"""Where a clause ends inside a sentence."""

_INHERITS = {"but", "and", "yet", "or"}
"""After these, a clause without its own subject shares the subject of the one before."""

_LEAD_IN = re.compile(
    r"^(?:(?:it |this )?(?:seems|appears|looks like)(?: that)?|apparently|probably|clearly|maybe"
    r"|perhaps|still|also|then|now|meanwhile|however|obviously|evidently|so|and|but)\s+"
)
_SELF = re.compile(r"^(?:i|i'm|i'll|i'd|i've|me|my|mine|myself|we|we're|we'll|our)\b")
_OTHER = re.compile(
    r"^(?:(?:both|all|several|many|some|most|each|either|neither)\s+of\s+(?:them|those)\b"
    r"|(?:(?:both|all|several|many|some|most|the|these|those|other|a few|few|two|three)\s+)*"
    r"(?:agent[_ ]?\d+(?!'s)|agents|they|they're|they'll|they've|he|she|he's|she's|others"
    r"|other agents|everyone|everybody|someone|somebody|nobody|no one|counterparts?|peers"
    r"|the other side|the rest)\b)"
)


def _subject(clause: str) -> str | None:
    """'self', 'other' or None (the clause starts with no subject)."""
    c = clause.strip(" \"'*-,")
    while (m := _LEAD_IN.match(c)) is not None:
        c = c[m.end() :]
    if _SELF.match(c):
        return "self"
    if _OTHER.match(c):
        return "other"
    return None


_IN_CONDITION = re.compile(
    r"\b(?:if|when|once|until|unless|after|as soon as|as long as|provided(?: that)?)\s+"
    r"(?:they|he|she|agent[_ ]?\d+|the other side|counterparts?|others|everyone)\b"
)
"""A match after "when they ..." is inside the thinker's own condition, not another's act."""

_REPORTED = re.compile(
    r"(?:(?:^|\b(?:that|think|thinks|suspect|believe|guess|notice|noticed|see|seems|looks like)\s+)"
    r"(?:agent[_ ]?\d+|they|he|she|others|other agents|both agents|agents|someone|everyone else)"
    r"(?:'re)?\s+(?:\w+\s+){0,3}"
    r"|\b(?:thinks?|says?|said|claims?|believes?|suspects?|accus\w+ me of)\s+(?:that\s+)?"
    r"(?:i'm|i am|i was)?\s*)$"
)
"""An embedded subject right before the match ("I think agent_3 is withholding") or reported
speech ("agent_3 says I'm hoarding")."""


def _clause_start(sentence: str, at: int) -> tuple[int, str | None]:
    """Start of the clause holding offset ``at``, and the subject it inherits, if any."""
    start, inherited, subject = 0, None, None
    for m in _BOUNDARY.finditer(sentence, 0, at):
        if m.end() > at:
            break
        own = _subject(sentence[start : m.start()])
        subject = own if own is not None else inherited
        conj = (m.group("conj") or "").lower()
        inherited = subject if conj in _INHERITS else None
        start = m.end()
    return start, inherited


def other_speaker(sentence: str, at: int) -> bool:
    """Is the act matched at ``at`` someone else's? Its clause's subject is another agent,
    or another agent is named as the subject right before it, or it is reported speech."""
    start, inherited = _clause_start(sentence, at)
    before = sentence[start:at]
    if _IN_CONDITION.search(before):
        return False
    subject = _subject(sentence[start:])
    if (subject if subject is not None else inherited) == "other":
        return True
    return bool(_REPORTED.search(before))


_NEGATOR = re.compile(
    r"\b(?:not|never|no(?!\s*,)|nor|without|none|nothing|no need to|needn't|rather than"
    r"|instead of|avoid|avoiding|stop|isn't|aren't)\b|n't\b"
)


def negated(sentence: str, at: int) -> str | None:
    """The negated part of the clause before ``at`` (from the first negator on), or None."""
    start, _ = _clause_start(sentence, at)
    before = sentence[start:at]
    m = _NEGATOR.search(before)
    return None if m is None else before[m.start() :]
