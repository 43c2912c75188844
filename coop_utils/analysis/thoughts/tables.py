"""Tables of classified thoughts: classifier scores, shares per model, run-level shares.

Thoughts from one run are correlated, so shares and densities get run-level intervals
(:func:`run_level_table`: runs are the units) and the classifier's false-positive floor
beside them (:func:`false_positive_floor`, :func:`beside_floor`); Wilson intervals are kept
for the classifier's own scores (:func:`classifier_scores`), where examples are independent. The functions import their helpers
from ``..stats`` when called: loading runs imports this package (for word counts) and must
not pay for statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .classify import classify, classify_frame
from .definitions import CLASSES

__all__ = [
    "RUN_SHARE_METRICS",
    "beside_floor",
    "by_agent",
    "classifier_scores",
    "EXAMPLE_SETS",
    "false_positive_floor",
    "held_out_examples",
    "run_level_table",
    "run_shares",
    "thought_table",
]


def classifier_scores(
    examples: pd.DataFrame, text_col: str = "text", by: str | Sequence[str] = "split"
) -> pd.DataFrame:
    """Precision, recall and F1 of :func:`classify` on labelled examples, per group of
    ``by`` (``split``, or ``split`` and ``family``) and class, with counts and 95% Wilson
    intervals for precision and recall (these are the classifier's own scores: each
    example is labelled on its own, so counting them as independent is right).

    ``examples`` has the ``by`` columns, the text, and one boolean column per class of
    :data:`CLASSES` (``tests/thought_examples.csv``, ``tests/thought_idioms.csv``). Columns:
    ``*by, class, n, actual, predicted, hits, precision, precision_lo, precision_hi,
    recall, recall_lo, recall_hi, f1`` (proportions 0–1; NaN when nothing was predicted or
    nothing was there)."""
    from ..stats.intervals import as_list, wilson

    keys = as_list(by)
    rows = []
    for key, g in examples.groupby(keys, sort=True):
        pred = pd.DataFrame([classify(t) for t in g[text_col]], columns=list(CLASSES))
        for cls in CLASSES:
            truth, guess = g[cls].astype(bool).to_numpy(), pred[cls].to_numpy(dtype=bool)
            hits, predicted, actual = int((truth & guess).sum()), int(guess.sum()), int(truth.sum())
            row = {**dict(zip(keys, key)), "class": cls, "n": len(g), "actual": actual}
            row.update(predicted=predicted, hits=hits)
            for name, denom in (("precision", predicted), ("recall", actual)):
                lo, hi = wilson(hits, denom)
                row.update({name: hits / denom if denom else math.nan})
                row.update({f"{name}_lo": lo, f"{name}_hi": hi})
            both = predicted + actual
            row["f1"] = 2 * hits / both if both else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


EXAMPLE_SETS: tuple[str, ...] = ("thought_examples.csv", "thought_idioms.csv")
"""The labelled example thoughts (in the repository's ``tests/``), each with a held-out split."""


def held_out_examples() -> pd.DataFrame:
    """The held-out rows of every labelled example set, with the set's name in ``set``:
    what :func:`false_positive_floor` is measured on."""
    from ...paths import repo_file

    frames = [
        pd.read_csv(repo_file("tests", name)).assign(set=name.removesuffix(".csv"))
        for name in EXAMPLE_SETS
    ]
    held = pd.concat(frames, ignore_index=True)
    return held[held["split"] == "holdout"].reset_index(drop=True)


def false_positive_floor(examples: pd.DataFrame, text_col: str = "text") -> pd.DataFrame:
    """The classifier's false-positive floor per class: the share of labelled thoughts
    *without* the class that it puts in the class (with a 95% Wilson interval). A
    population that never makes the move would still show about this share, so a class
    share at or below it cannot be told from zero. Pass held-out examples: those the
    patterns were tuned on understate it. Columns: ``class, negatives, false_positives,
    floor_pct, floor_lo, floor_hi`` (percentages)."""
    from ..stats.intervals import wilson

    pred = pd.DataFrame([classify(t) for t in examples[text_col]], columns=list(CLASSES))
    rows = []
    for cls in CLASSES:
        neg = ~examples[cls].astype(bool).to_numpy()
        fp = int((neg & pred[cls].to_numpy(dtype=bool)).sum())
        lo, hi = wilson(fp, int(neg.sum()))
        rows.append(
            {
                "class": cls,
                "negatives": int(neg.sum()),
                "false_positives": fp,
                "floor_pct": 100 * fp / neg.sum() if neg.sum() else math.nan,
                "floor_lo": 100 * lo,
                "floor_hi": 100 * hi,
            }
        )
    return pd.DataFrame(rows)


def beside_floor(table: pd.DataFrame, floor: pd.DataFrame) -> pd.DataFrame:
    """``table`` (from :func:`run_level_table`) with, per class, the classifier's
    false-positive floor (``<class>_floor_pct``) and ``<class>_above_floor``: whether the
    run-level interval's lower end (the mean when one run gives no interval) lies above the
    floor. False means the share is not distinguishable from zero."""
    out = table.copy()
    for cls, pct in zip(floor["class"], floor["floor_pct"]):
        lower = out[f"{cls}_pct"] - out[f"{cls}_pct_ci95"].fillna(0.0)
        out[f"{cls}_floor_pct"] = pct
        out[f"{cls}_above_floor"] = lower > pct
    return out


def by_agent(thoughts: pd.DataFrame) -> pd.DataFrame:
    """Thoughts grouped by who thought them: ``model`` becomes the agent's own label, and
    for an agent of a mixed run ``"<label> with <the rest of the mix>"`` (``"withholder
    with 5*reciprocator"``), so the two presets of a mix are told apart and never pooled
    with the same preset's homogeneous runs."""

    def name(label: str, population: str) -> str:
        if label == population:
            return label
        rest = [p for p in population.split(",") if p.split("*", 1)[-1] != label]
        return f"{label} with {','.join(rest) or population}"

    own = [name(lab, pop) for lab, pop in zip(thoughts["label"], thoughts["model"])]
    return thoughts.assign(model=own)


def thought_table(
    thoughts: pd.DataFrame,
    by: str | Sequence[str] = ("model", "condition"),
    text_col: str = "text",
) -> pd.DataFrame:
    """Per model (× condition): pooled counts and shares of thoughts in each class, and
    market terms per 1,000 words (the paper's Tables 7 and 8, as the paper pools them).

    Columns: ``*by, n_thoughts, n_runs, words, hard_defection_n, hard_defection_pct`` (same
    for ``soft_conditional``), ``market_terms, market_terms_per_1k_words`` and ``scripted``
    when the input has it. Percentages are 0–100. Density is pooled: all market terms of the
    cell ÷ all its words × 1000. Empty thoughts are not thoughts and are skipped. No
    interval: thoughts of one run are not independent, so a pooled interval would be too
    narrow; :func:`run_level_table` gives run-level intervals for comparisons.
    """
    from ..stats.intervals import as_list, with_flag

    keys = as_list(by)
    t = classify_frame(thoughts, text_col)
    rows = []
    for key, g in t.groupby(keys, sort=True):
        n = len(g)
        row = dict(zip(keys, key))
        n_runs = g["run_id"].nunique() if "run_id" in g.columns else math.nan
        row.update(n_thoughts=n, n_runs=n_runs, words=int(g["words"].sum()))
        for cls in CLASSES:
            k = int(g[cls].sum())
            row.update({f"{cls}_n": k, f"{cls}_pct": 100 * k / n if n else math.nan})
        terms = int(g["market_terms"].sum())
        row["market_terms"] = terms
        row["market_terms_per_1k_words"] = 1000 * terms / row["words"] if row["words"] else math.nan
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)


RUN_SHARE_METRICS: tuple[str, ...] = (
    "hard_defection_pct",
    "soft_conditional_pct",
    "market_terms_per_1k_words",
)
"""The run-level measures of :func:`run_shares`."""


def run_shares(
    thoughts: pd.DataFrame,
    by: str | Sequence[str] = ("model", "condition"),
    text_col: str = "text",
) -> pd.DataFrame:
    """One row per run: the share (%) of its thoughts in each class and its market-term
    density, with ``n_thoughts`` and ``words``. Runs are the independent units: thoughts
    of one run share a history and a model's habits, so they are summarised first."""
    from ..stats.intervals import as_list, with_flag

    keys = [k for k in ("run_id", *as_list(by)) if k in thoughts.columns]
    t = classify_frame(thoughts, text_col)
    rows = []
    for key, g in t.groupby(keys, sort=True):
        words = int(g["words"].sum())
        row = dict(zip(keys, key))
        row.update(
            n_thoughts=len(g),
            words=words,
            hard_defection_pct=100 * float(g["hard_defection"].mean()),
            soft_conditional_pct=100 * float(g["soft_conditional"].mean()),
            market_terms_per_1k_words=1000 * int(g["market_terms"].sum()) / words
            if words
            else math.nan,
        )
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)


def run_level_table(
    thoughts: pd.DataFrame,
    by: str | Sequence[str] = ("model", "condition"),
    text_col: str = "text",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per model (× condition): mean over runs of each run's share of hard-defection and
    soft-conditional thoughts and of its market-term density, each ± a Student-t
    half-width over runs. Columns ``*by, n_runs, n_thoughts`` and, per measure of
    :data:`RUN_SHARE_METRICS`, ``<measure>`` (mean) and ``<measure>_ci95``; ``scripted``
    when the input has it. This, not :func:`thought_table`, is the table to compare
    models with, because thoughts within a run are correlated."""
    from ..stats.intervals import as_list, t_interval, with_flag

    keys = as_list(by)
    shares = run_shares(thoughts, by, text_col)
    rows = []
    for key, g in shares.groupby(keys, sort=True):
        row = dict(zip(keys, key))
        row.update(n_runs=len(g), n_thoughts=int(g["n_thoughts"].sum()))
        for measure in RUN_SHARE_METRICS:
            mean, half, _ = t_interval(g[measure], confidence)
            row.update({measure: mean, f"{measure}_ci95": half})
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)
