"""Contrasts between conditions, paired on shared seeds, and Holm's correction across a
table's contrasts. Runs identical seed for seed are flagged, never tested."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from .intervals import as_list, by_cell, t_interval, with_flag

PAIRED_COLUMNS = ("diff", "sd_diff", "ci95", "lo", "hi", "t", "p")
"""What :func:`paired_difference` reports about the differences, beside counts and means."""


def _paired_stats(d: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean difference, its t-interval and the paired t-test (one-sample t on ``d``); NaN
    where undefined. Identical differences have a zero-width interval and no test; they are
    told by comparing the values, not by an sd that a kernel may compute as 1e-17."""
    out = dict.fromkeys(PAIRED_COLUMNS, math.nan)
    mean, half, n = t_interval(d, confidence)
    out["diff"] = mean
    if n >= 2:
        identical = bool(np.all(d == d[0]))
        if identical:
            mean, half = float(d[0]), 0.0
        sd = 0.0 if identical else float(d.std(ddof=1))
        out.update(diff=mean, sd_diff=sd, ci95=half, lo=mean - half, hi=mean + half)
        if not identical:
            test = sps.ttest_1samp(d, 0.0)
            out.update(t=float(test.statistic), p=float(test.pvalue))
    return out


def _by_pair(
    runs: pd.DataFrame, metric: str, a: str, b: str, keys: list[str], pair_on: str, cond: str
) -> pd.DataFrame:
    """Mean of ``metric`` per (cell, ``pair_on``) with one column per condition ``a``, ``b``."""
    sub = runs[runs[cond].isin([a, b])]
    return sub.groupby([*keys, pair_on, cond])[metric].mean().unstack(cond).reindex(columns=[a, b])


def _pairs(wide: pd.DataFrame, keys: list[str], key: tuple) -> pd.DataFrame:
    """The seeds of one cell run under both conditions (rows of :func:`_by_pair`)."""
    if not keys:
        return wide.dropna()
    try:
        return wide.loc[key].dropna()
    except KeyError:  # a cell whose runs have no seed or no value: nothing to pair
        return wide.iloc[:0]


def paired_difference(
    runs: pd.DataFrame,
    metric: str,
    a: str,
    b: str,
    by: str | Sequence[str] | None = "model",
    pair_on: str = "seed",
    condition_col: str = "condition",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean of (b − a) over seeds run under both conditions, with t-interval and paired t-test.

    Runs are paired on ``pair_on`` (the seed fixes the deal of pieces and tasks, so
    the same seed under two conditions shares its luck). Several runs of one
    (cell, seed) are averaged first. Seeds present under only one condition are
    dropped and counted in ``unpaired``. ``p`` is the two-sided paired t-test
    (equivalently a one-sample t-test of the differences against 0).
    """
    keys = as_list(by)
    sub = runs[runs[condition_col].isin([a, b])]
    wide = _by_pair(runs, metric, a, b, keys, pair_on, condition_col)
    rows = []
    for key, g in by_cell(sub, keys):
        both = _pairs(wide, keys, key)
        n = len(both)
        row = dict(zip(keys, key))
        row.update(metric=metric, a=a, b=b, n_pairs=n, unpaired=g[pair_on].nunique() - n)
        row.update(mean_a=both[a].mean(), mean_b=both[b].mean())
        row.update(_paired_stats((both[b] - both[a]).to_numpy(), confidence))
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)


def _log_ratio_interval(
    ma: float, mb: float, se: float, dof: float, confidence: float
) -> tuple[float, float]:
    """Bounds (%) of ``100 · (mb/ma − 1)`` from a t interval on ``log(mb/ma)`` with ``se``."""
    q = float(sps.t.ppf(0.5 + confidence / 2, dof))
    log_ratio = math.log(mb / ma)
    return 100 * (math.exp(log_ratio - q * se) - 1), 100 * (math.exp(log_ratio + q * se) - 1)


def pct_change(
    runs: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "tasks",
    by: str | Sequence[str] | None = "model",
    condition_col: str = "condition",
    confidence: float = 0.95,
    pair_on: str | None = "seed",
) -> pd.DataFrame:
    """Percentage change of the cell mean from condition ``a`` to ``b`` (the paper's Table 3).

    ``pct_change = 100 · (mean_b − mean_a) / mean_a``; the interval is a delta-method t
    interval on ``log(mean_b / mean_a)``, so it never crosses −100%.

    - **Paired** (``paired`` True) when ``pair_on`` seeds were run under both conditions:
      only those seeds enter (several runs of a seed are averaged first), and
      ``se² = var(b_i/mean_b − a_i/mean_a) / n`` over the pairs with ``n − 1`` degrees of
      freedom. Shared luck cancels, as in :func:`paired_difference`, whose p-value belongs
      beside this interval. Identical pairs give a zero-width interval.
    - **Unpaired** otherwise: ``se² = se_a²/mean_a² + se_b²/mean_b²`` over all runs, with
      the smaller cell's degrees of freedom (the conservative end of Welch's).

    Undefined (NaN) when either mean is 0 or there are fewer than 2 runs or pairs.
    """
    keys = as_list(by)
    sub = runs[runs[condition_col].isin([a, b])]
    paired = pair_on is not None and pair_on in runs.columns
    wide = _by_pair(runs, metric, a, b, keys, pair_on, condition_col) if paired else None
    rows = []
    for key, g in by_cell(sub, keys):
        both = _pairs(wide, keys, key) if paired else ()
        if len(both):
            xa, xb = both[a].to_numpy(), both[b].to_numpy()
        else:
            xa = pd.to_numeric(g.loc[g[condition_col] == a, metric]).dropna().to_numpy()
            xb = pd.to_numeric(g.loc[g[condition_col] == b, metric]).dropna().to_numpy()
        ma, mb = (x.mean() if x.size else math.nan for x in (xa, xb))
        row = dict(zip(keys, key))
        row.update(metric=metric, a=a, b=b, paired=bool(len(both)), n_a=xa.size, n_b=xb.size)
        row.update(mean_a=ma, mean_b=mb, pct_change=100 * (mb - ma) / ma if ma else math.nan)
        lo = hi = math.nan
        if min(xa.size, xb.size) >= 2 and ma > 0 and mb > 0:
            if len(both):
                se = np.std(xb / mb - xa / ma, ddof=1) / math.sqrt(xa.size)
            else:
                se = math.sqrt(xa.var(ddof=1) / xa.size / ma**2 + xb.var(ddof=1) / xb.size / mb**2)
            dof = min(xa.size, xb.size) - 1
            lo, hi = _log_ratio_interval(ma, mb, se, dof, confidence)
        row.update(lo=lo, hi=hi)
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)


def holm(pvalues: Sequence[float] | pd.Series, alpha: float = 0.05) -> pd.DataFrame:
    """Holm step-down adjustment (statsmodels ``multipletests``): ``p, p_holm, reject``.

    NaN p-values (comparisons that could not be tested) are left out of the
    family and stay NaN / not rejected.
    """
    p = pd.Series(pvalues, dtype=float).reset_index(drop=True)
    adj = pd.Series(np.nan, index=p.index)
    rej = pd.Series(False, index=p.index)
    ok = p.notna()
    if ok.any():
        r, padj, _, _ = multipletests(p[ok].to_numpy(), alpha=alpha, method="holm")
        adj[ok] = padj
        rej[ok] = r
    return pd.DataFrame({"p": p, "p_holm": adj, "reject": rej.astype(bool)})


def holm_family(
    comparisons: pd.DataFrame,
    p_col: str = "p",
    family: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Add ``p_holm`` and ``reject`` to a frame of comparisons, adjusting within each family.

    ``family=None`` treats the whole frame as one family (e.g. all per-model
    intervention contrasts of Table 3); ``family="metric"`` adjusts separately per
    metric. The input's index and row order are preserved; a row whose family is missing
    (NaN) belongs to no family and is not adjusted (``p_holm`` NaN, not rejected).
    """
    out = comparisons.copy()
    out["p_holm"] = np.nan
    out["reject"] = False
    keys = as_list(family)
    groups = [g.index for _, g in out.groupby(keys)] if keys else [out.index]
    for idx in groups:
        h = holm(out.loc[idx, p_col], alpha=alpha)
        out.loc[idx, "p_holm"] = h["p_holm"].to_numpy()
        out.loc[idx, "reject"] = h["reject"].to_numpy()
    return out
