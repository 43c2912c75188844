"""Classify agents' private thoughts: hard defection, soft conditionality, market language.

Why: a low task count alone cannot tell a model that *decides* to withhold from one
that fails to act. Each turn's mandatory ``private_thoughts`` field is the only
record of intent, and the paper reads it with three regex measures:

- **hard defection** – the agent says it will withhold or refuse, talks about
  leverage or bargaining, or puts its own standing before the group's;
- **soft conditional** – the agent makes its own sending wait on a reply or on
  reciprocation ("I'll send once they've sent mine");
- **market-language density** – market/transaction terms per 1,000 words.

The classes are defined once, in the paper's words (:data:`DEFINITIONS`); the regex rows
(:data:`PATTERNS`, each tied to one move of a definition) and the LLM judge's instructions
(:data:`JUDGE_INSTRUCTIONS`) are both written from them. The patterns are ours (the paper's
were not published). A thought is normalised first (:func:`normalize`: typographic quotes
and dashes, Unicode compatibility forms, case), and each match is judged within its clause:
a negated mention ("I don’t withhold anything") does not count, nor does another agent's
act ("Agent_5 has the budget but did not respond", "both agents prioritize my requests"),
nor waiting that is not a condition on sending. :func:`thought_spans` gives a thought's
classes and each match's offsets in the original text (for a viewer to highlight).

Accuracy is measured, not asserted: :func:`classifier_scores` scores the patterns on
labelled examples written here (``tests/thought_examples.csv``, and
``tests/thought_idioms.csv`` in the styles capable models write, grouped by idiom family),
each with a held-out split labelled before the patterns it scores were changed; notebook 04
prints precision, recall and F1 with Wilson intervals. :func:`false_positive_floor` is the
share of thoughts without a class that the patterns still put in it: a class share at or
below it is not distinguishable from zero (:func:`beside_floor`). Thoughts of one run are
correlated, so shares are compared over runs (:func:`run_level_table`). The classes are not
exclusive (a thought can be both). Regexes are a first pass: :func:`llm_judge` and
:func:`agreement` give a second opinion.
"""

from .classify import (
    Span,
    ThoughtSpans,
    classify,
    classify_frame,
    market_terms,
    thought_spans,
    word_count,
)
from .clauses import normalize
from .definitions import CLASSES, DEFINITIONS, MOVES
from .judge import JUDGE_INSTRUCTIONS, agreement, llm_judge, model_judge, parse_judge_reply
from .patterns import MARKET_TERMS, PATTERNS, Pattern
from .tables import (
    EXAMPLE_SETS,
    RUN_SHARE_METRICS,
    beside_floor,
    by_agent,
    classifier_scores,
    false_positive_floor,
    held_out_examples,
    run_level_table,
    run_shares,
    thought_table,
)

__all__ = [
    "CLASSES",
    "DEFINITIONS",
    "EXAMPLE_SETS",
    "JUDGE_INSTRUCTIONS",
    "MARKET_TERMS",
    "MOVES",
    "PATTERNS",
    "RUN_SHARE_METRICS",
    "Pattern",
    "Span",
    "ThoughtSpans",
    "agreement",
    "beside_floor",
    "by_agent",
    "classifier_scores",
    "classify",
    "classify_frame",
    "false_positive_floor",
    "held_out_examples",
    "llm_judge",
    "model_judge",
    "normalize",
    "market_terms",
    "parse_judge_reply",
    "run_level_table",
    "run_shares",
    "thought_spans",
    "thought_table",
    "word_count",
]
