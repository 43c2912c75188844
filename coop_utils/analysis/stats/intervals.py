"""Intervals over runs: Student-t per cell (the paper's mean ± 95% CI) and Wilson for
proportions."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint


def as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width, n) of a Student-t interval; half-width is NaN for n < 2."""
    x = np.asarray([v for v in values if pd.notna(v)], dtype=float)
    n = x.size
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, n
    return mean, t_half_width(float(x.std(ddof=1)), n, confidence), n


def t_half_width(sd: float, n: int, confidence: float = 0.95) -> float:
    """The half-width of a Student-t interval of a mean of ``n`` values with this ``sd``."""
    return float(sps.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (lo, hi) for a proportion of ``k`` out of ``n`` (statsmodels);
    NaN for ``n == 0``. Unlike the normal interval it stays inside [0, 1] and is not
    degenerate at ``k = 0`` or ``k = n``."""
    if n == 0:
        return math.nan, math.nan
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    phat = k / n  # inside the interval in exact arithmetic; keep it so in floating point
    return min(float(lo), phat), max(float(hi), phat)


def scripted_flag(frame: pd.DataFrame) -> bool | None:
    """Does any row of ``frame`` come from scripted agents? None when the frame cannot say
    (no ``scripted`` column, or no rows); a missing flag (NaN, None) is not scripted."""
    if "scripted" not in frame.columns or frame.empty:
        return None
    return bool(frame["scripted"].eq(True).any())


def by_cell(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """(key tuple, rows) per cell in sorted order, NaN keys kept; one cell without keys."""
    return list(frame.groupby(keys, sort=True, dropna=False)) if keys else [((), frame)]


def with_flag(row: dict, frame: pd.DataFrame) -> dict:
    """``row`` with the ``scripted`` flag of ``frame`` (:func:`scripted_flag`) when the frame
    has one: how every summary row carries the label of scripted results."""
    flag = scripted_flag(frame)
    return row if flag is None else {**row, "scripted": flag}


def cell_summary(
    runs: pd.DataFrame,
    metric: str,
    by: str | Sequence[str] = ("model", "condition"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean, sd, n and the t-interval of ``metric`` per cell, as the paper's tables.

    Returns one row per cell with columns ``*by, metric, n, mean, sd, se, ci95, lo,
    hi`` (and ``scripted`` when the input has it). Missing values of the metric
    (e.g. msgs_per_task of a run with zero tasks) are dropped, so ``n`` counts the
    runs that actually entered the mean.
    """
    keys = as_list(by)
    if metric not in runs.columns:
        raise KeyError(f"metric {metric!r} is not a column of the runs frame")
    rows = []
    for key, g in by_cell(runs, keys):
        vals = pd.to_numeric(g[metric], errors="coerce").dropna()
        mean, half, n = t_interval(vals, confidence)
        sd = float(vals.std())  # NaN below two values
        row = dict(zip(keys, key))
        row.update(metric=metric, n=n, mean=mean, sd=sd, se=sd / math.sqrt(n) if n else sd)
        row.update(ci95=half, lo=mean - half, hi=mean + half)
        rows.append(with_flag(row, g))
    return pd.DataFrame(rows)
