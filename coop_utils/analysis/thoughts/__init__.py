"""Classify agents' private thoughts: hard defection, soft conditionality, market language.

Why: a low task count alone cannot tell a model that *decides* to withhold from one
that fails to act. Each turn's mandatory ``private_thoughts`` field is the only
record of intent, and the paper (SPEC §5) reads it with three regex measures:

- **hard defection** – the agent says it will withhold or refuse, talks about
  leverage or bargaining, or puts its own standing before the group's;
- **soft conditional** – the agent makes its own sending wait on a reply or on
  reciprocation ("I'll send once they've sent mine");
- **market-language density** – market/transaction terms per 1,000 words.

The patterns below are ours (the paper's were not published) and are written to
survive the obvious near misses: a negated mention ("I will not withhold
anything", "no leverage needed") does not count, nor does waiting that is not a
condition on sending ("waiting for my turn is fine, sending now"). Every pattern
is a row of :data:`PATTERNS` with a description, so a reader can audit the
classifier without reading regex, and ``tests/thought_examples.csv`` holds the
labelled examples it is scored against. Regexes are a first pass: use
:func:`llm_judge` and :func:`agreement` for a second opinion.

Limits worth knowing: the classes are not exclusive (a thought can be both);
thoughts from one run are correlated, so the Wilson intervals of
:func:`thought_table` (which treat thoughts as independent) are too narrow for
between-model claims — compare run-level shares (:func:`run_level_table`) for those.
Accuracy is measured, not asserted: :func:`classifier_scores` scores the patterns on
the labelled examples, with a held-out split written after the patterns were frozen
(notebook 04 prints it, with Wilson intervals: the held-out set is small). The regexes
miss paraphrases ("sit on my pieces", "ask for something in return"), so read class
shares as lower bounds and check them with the judge.
"""

from .classify import classify, classify_frame, market_terms, word_count
from .judge import JUDGE_INSTRUCTIONS, agreement, llm_judge, model_judge, parse_judge_reply
from .patterns import CLASSES, MARKET_TERMS, PATTERNS, Pattern
from .tables import (
    RUN_SHARE_METRICS,
    by_agent,
    classifier_scores,
    run_level_table,
    run_shares,
    thought_table,
)

__all__ = [
    "CLASSES",
    "JUDGE_INSTRUCTIONS",
    "MARKET_TERMS",
    "PATTERNS",
    "RUN_SHARE_METRICS",
    "Pattern",
    "agreement",
    "by_agent",
    "classifier_scores",
    "classify",
    "classify_frame",
    "llm_judge",
    "model_judge",
    "market_terms",
    "parse_judge_reply",
    "run_level_table",
    "run_shares",
    "thought_table",
    "word_count",
]
