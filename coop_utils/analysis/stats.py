"""Statistics over runs: cell summaries, paired contrasts, count models, corrections, power.

Why this module exists: the paper reports every cell as "mean ± 95% t-interval over
5 runs", compares conditions as percentage changes, and correlates performance
with Chatbot Arena Elo. Those numbers are easy to compute slightly differently
(z instead of t, pooled instead of per-cell variance, unpaired instead of paired
seeds), and every such difference changes a conclusion drawn from five runs. Here
each statistic is one small, documented function that takes a pandas DataFrame
(the runs frame of ``coop_utils.load``: one row per run) and returns a DataFrame,
so a notebook can show exactly which rule produced a number.

Conventions
- The unit of analysis is the **run** (one episode of ``n_agents`` agents). Agents
  within a run are not independent and are never treated as replicates.
- Intervals are two-sided 95% Student-t intervals unless a function says otherwise;
  ``ci95`` columns hold the half-width (mean ± ci95), ``lo``/``hi`` the bounds.
- Cells hold few runs (the paper used 5; the offline default 3), so every interval and
  test uses small-sample quantiles: Student t with the degrees of freedom of the runs (or
  clusters of runs) that inform it, never the normal. With 3–5 runs an interval is wide
  and its coverage rests on roughly normal run-to-run variation; read it as such.
- Proportions (precision, recall, shares of counted things) get Wilson intervals
  (:func:`wilson`), which stay inside [0, 1] and behave at 0 and n.
- A ``scripted`` column, when present in the input, is carried into every
  summary (True if any run of the cell is scripted), so figures and tables can
  label scripted results as such.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.stats.proportion import proportion_confint

from ..paths import ROOT, repo_file

ELO_PATH = ROOT / "data" / "elo.csv"
"""Dated Chatbot Arena (LMArena) text scores for the paper's models; see data/README.md."""

__all__ = [
    "ELO_PATH",
    "canonical_model",
    "capability_correlation",
    "cell_rates",
    "cell_summary",
    "count_model",
    "holm",
    "holm_family",
    "load_elo",
    "paired_difference",
    "pct_change",
    "rate_ratios",
    "runs_needed",
    "t_interval",
    "wilson",
]


def _as_list(by: str | Sequence[str] | None) -> list[str]:
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
    sd = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return mean, half, n


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (lo, hi) for a proportion of ``k`` out of ``n`` (statsmodels);
    NaN for ``n == 0``. Unlike the normal interval it stays inside [0, 1] and is not
    degenerate at ``k = 0`` or ``k = n``."""
    if n == 0:
        return math.nan, math.nan
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    phat = k / n  # inside the interval in exact arithmetic; keep it so in floating point
    return min(float(lo), phat), max(float(hi), phat)


def _scripted_flag(frame: pd.DataFrame) -> bool | None:
    if "scripted" not in frame.columns or frame.empty:
        return None
    return bool(frame["scripted"].eq(True).any())  # missing (NaN, None) is not scripted


def _cells(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """(key tuple, rows) per cell in sorted order, NaN keys kept; one cell without keys."""
    return list(frame.groupby(keys, sort=True, dropna=False)) if keys else [((), frame)]


def _with_flag(row: dict, frame: pd.DataFrame) -> dict:
    """``row`` with the ``scripted`` flag of ``frame`` when the frame has one."""
    flag = _scripted_flag(frame)
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
    keys = _as_list(by)
    if metric not in runs.columns:
        raise KeyError(f"metric {metric!r} is not a column of the runs frame")
    rows = []
    for key, g in _cells(runs, keys):
        vals = pd.to_numeric(g[metric], errors="coerce").dropna()
        mean, half, n = t_interval(vals, confidence)
        sd = float(vals.std())  # NaN below two values
        row = dict(zip(keys, key))
        row.update(metric=metric, n=n, mean=mean, sd=sd, se=sd / math.sqrt(n) if n else sd)
        row.update(ci95=half, lo=mean - half, hi=mean + half)
        rows.append(_with_flag(row, g))
    return pd.DataFrame(rows)


PAIRED_COLUMNS = ("diff", "sd_diff", "ci95", "lo", "hi", "t", "p")
"""What :func:`paired_difference` reports about the differences, beside counts and means."""


def _paired_stats(d: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean difference, its t-interval and the paired t-test (one-sample t on ``d``); NaN
    where undefined. Identical differences (sd 0) have a zero-width interval and no test."""
    out = dict.fromkeys(PAIRED_COLUMNS, math.nan)
    if d.size:
        out["diff"] = float(d.mean())
    if d.size >= 2:
        sd = float(d.std(ddof=1))
        half = float(sps.t.ppf(0.5 + confidence / 2, d.size - 1) * sd / math.sqrt(d.size))
        out.update(sd_diff=sd, ci95=half, lo=out["diff"] - half, hi=out["diff"] + half)
        if sd > 0:
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
    keys = _as_list(by)
    sub = runs[runs[condition_col].isin([a, b])]
    wide = _by_pair(runs, metric, a, b, keys, pair_on, condition_col)
    rows = []
    for key, g in _cells(sub, keys):
        both = _pairs(wide, keys, key)
        n = len(both)
        row = dict(zip(keys, key))
        row.update(metric=metric, a=a, b=b, n_pairs=n, unpaired=g[pair_on].nunique() - n)
        row.update(mean_a=both[a].mean(), mean_b=both[b].mean())
        row.update(_paired_stats((both[b] - both[a]).to_numpy(), confidence))
        rows.append(_with_flag(row, g))
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
    keys = _as_list(by)
    sub = runs[runs[condition_col].isin([a, b])]
    paired = pair_on is not None and pair_on in runs.columns
    wide = _by_pair(runs, metric, a, b, keys, pair_on, condition_col) if paired else None
    rows = []
    for key, g in _cells(sub, keys):
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
        rows.append(_with_flag(row, g))
    return pd.DataFrame(rows)


def _term_support(exog: np.ndarray) -> np.ndarray:
    """(terms × runs) mask: which runs inform each coefficient, from the rows of ``pinv(X)``.

    In a model of cells (categorical factors) a coefficient is a contrast of a few cells
    and only their runs enter it (the other entries of its row are zero up to rounding);
    with continuous covariates every run does."""
    return np.round(np.linalg.pinv(exog), 9) != 0


def _small_sample(res, groups: np.ndarray | None, confidence: float) -> pd.DataFrame:
    """Coefficients of a fitted count model with small-sample cluster-robust inference.

    Per term ``j``: ``G_j`` = clusters among the runs that inform it, the sandwich
    variance with statsmodels' CR1 factor ``G_j/(G_j − 1) · (N − 1)/(N − K)``, and Student t
    with ``df_j`` = (fewest clusters in one of the cells it contrasts) − 1, the conservative
    end of Welch's approximation: a cell of one run gives no degrees of freedom (NaN
    intervals). A term of unreplicated rows (continuous covariates) gets ``G_j − 1``. With
    ``groups`` None: model-based errors with the residual degrees of freedom."""
    names = [t for t in res.params.index if t != "alpha"]
    exog = np.asarray(res.model.exog)
    n_obs, k = exog.shape[0], len(res.params)
    support = _term_support(exog)
    cov = res.cov_params()
    rows = []
    for j, term in enumerate(names):
        est = float(res.params[term])
        var = float(cov.loc[term, term])
        if groups is None:
            dof, g_j = float(n_obs - k), math.nan
        else:
            informs = support[j]
            g_j = len(np.unique(groups[informs]))
            cells = pd.DataFrame(exog[informs]).assign(g=groups[informs])
            per_cell = cells.groupby(list(range(exog.shape[1])))["g"].nunique()
            replicated = len(per_cell) < informs.sum()
            dof = float(per_cell.min() - 1 if replicated else g_j - 1)
            if dof >= 1 and n_obs > k:
                var *= g_j / (g_j - 1) * (n_obs - 1) / (n_obs - k)
            else:
                var = math.nan
        se = math.sqrt(var) if var >= 0 else math.nan  # a degenerate cell can round below 0
        stat = est / se if se > 0 else math.nan
        q = float(sps.t.ppf(0.5 + confidence / 2, dof))
        rows.append(
            dict(
                term=term,
                estimate=est,
                se=se,
                df=dof,
                t=stat,
                p=float(2 * sps.t.sf(abs(stat), dof)),
                rate_ratio=math.exp(est),
                rr_lo=math.exp(est - q * se),
                rr_hi=math.exp(est + q * se),
                n_clusters=g_j,
            )
        )
    return pd.DataFrame(rows)


def _fit(model, groups: np.ndarray | None):
    """Fit a statsmodels count model quietly; with ``groups``, the *uncorrected* cluster
    sandwich (:func:`_small_sample` applies the small-sample correction per term)."""
    if groups is None:
        return model.fit(disp=False)
    cov = {"groups": groups, "use_correction": False}
    return model.fit(disp=False, cov_type="cluster", cov_kwds=cov)


def _cluster_ids(data: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    if cluster is None:
        return None
    if cluster not in data.columns:
        raise KeyError(f"cluster column {cluster!r} is not in the runs frame")
    return pd.factorize(data[cluster])[0]


def count_model(
    runs: pd.DataFrame,
    formula: str = "tasks ~ C(model) * C(condition)",
    family: str = "poisson",
    cluster: str | None = "seed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fit a count regression of tasks and return its coefficients with rate ratios.

    ``family="poisson"`` fits a Poisson GLM (log link; with robust errors it needs only the
    mean to be right, not the Poisson variance); ``family="negbin"`` an NB2 model whose
    dispersion ``alpha`` is estimated by maximum likelihood (``attrs["alpha"]``).

    Errors are cluster-robust with ``cluster``, honest at 3–5 runs per cell:
    - ``"seed"`` (default): runs sharing a seed (the same deal of pieces and tasks under
      another condition or population) form one cluster, so a contrast between cells run
      on the same seeds is a paired comparison.
    - ``"run_id"``: every run its own cluster (for designs whose seeds share nothing).
    - ``None``: model-based errors (too narrow when runs are over-dispersed, as they are).
    Small samples: see :func:`_small_sample` (CR1 with the clusters that inform each term,
    Student t with that term's degrees of freedom). For a model of cells, a rate's interval
    is then never narrower than the run-level t-interval on the same runs.

    Columns: ``term, estimate, se, df, t, p, rate_ratio, rr_lo, rr_hi, n_clusters`` and
    ``scripted`` when the input has it. ``attrs`` records family, formula, cov_type,
    cluster, n_obs and (NB) alpha. A cell with zero tasks in every run has no finite
    log-rate: its estimate is huge and meaningless, so inspect ``se`` before reading it.
    """
    if family not in ("poisson", "negbin"):
        raise ValueError(f"family must be 'poisson' or 'negbin', not {family!r}")
    if family == "poisson":
        model = smf.glm(formula, data=runs, family=sm.families.Poisson())
    else:
        model = smf.negativebinomial(formula, data=runs)  # NB2 (statsmodels' default)
    data = runs.loc[model.data.row_labels]  # the runs the formula kept (no missing values)
    groups = _cluster_ids(data, cluster)
    res = _fit(model, groups)
    out = _small_sample(res, groups, confidence)
    flag = _scripted_flag(data)
    if flag is not None:
        out["scripted"] = flag
    out.attrs.update(
        family=family,
        formula=formula,
        cov_type="cluster (CR1, t with per-term df)" if cluster else "nonrobust",
        cluster=cluster,
        n_obs=int(res.nobs),
        alpha=float(res.params["alpha"]) if family == "negbin" else None,
    )
    return out


def _cell_labels(runs: pd.DataFrame, keys: list[str]) -> pd.Series:
    return runs[keys].astype(str).agg(" | ".join, axis=1)


def _cell_fit(
    data: pd.DataFrame, metric: str, exog: pd.DataFrame, cluster: str | None, confidence: float
) -> pd.DataFrame:
    """A Poisson model of ``metric`` on indicator columns ``exog``, one row per column."""
    groups = _cluster_ids(data, cluster)
    model = sm.GLM(data[metric], exog, family=sm.families.Poisson())
    return _small_sample(_fit(model, groups), groups, confidence).set_index("term")


_RATE_COLUMNS = {"rate": "rate_ratio", "rate_lo": "rr_lo", "rate_hi": "rr_hi", "df": "df"}
"""A cell's rate, its interval and degrees of freedom, from a coefficient without intercept."""


def cell_rates(
    runs: pd.DataFrame,
    metric: str = "tasks",
    by: str | Sequence[str] = "model",
    cluster: str | None = "seed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each cell's rate from a Poisson model of cells, beside its run-level t-interval.

    One coefficient per cell (no intercept), so ``rate`` is the cell mean and
    ``rate_lo, rate_hi`` its count-model interval (cluster-robust, small-sample t; see
    :func:`count_model`); ``t_lo, t_hi`` are the plain Student-t interval on the same runs.
    With one run per (cell, cluster) the rate interval is never narrower than the t one.
    Columns: ``*by, metric, n, rate, rate_lo, rate_hi, df, t_lo, t_hi`` (+ ``scripted``).
    """
    keys = _as_list(by)
    data = runs.dropna(subset=[metric])
    labels = _cell_labels(data, keys)
    fit = _cell_fit(data, metric, pd.get_dummies(labels, dtype=float), cluster, confidence)
    cells = cell_summary(data, metric, keys)
    fit = fit.loc[_cell_labels(cells, keys)]
    out = cells[[*keys, "metric", "n"]].assign(
        **{ours: fit[theirs].to_numpy() for ours, theirs in _RATE_COLUMNS.items()}
    )
    out = out.assign(t_lo=cells["lo"], t_hi=cells["hi"])
    return out.assign(scripted=cells["scripted"]) if "scripted" in cells else out


def rate_ratios(
    runs: pd.DataFrame,
    metric: str = "tasks",
    by: str | Sequence[str] = "model",
    reference: str | None = None,
    cluster: str | None = "seed",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every cell's rate relative to a reference cell, beside Welch's test on the same runs.

    Fits a Poisson model of cells with the reference as intercept (cluster-robust,
    small-sample t; see :func:`count_model`). ``p`` tests rate ratio = 1; ``p_welch`` is
    Welch's unequal-variance t-test of the two cells' run values, for comparison (it
    ignores pairing by seed; with ``cluster="seed"`` the model's test is paired).
    ``reference`` is a cell label (``" | "``-joined values of ``by``; default the first
    cell in sorted order). Columns: ``*by, reference, n, n_reference, rate,
    reference_rate, rate_ratio, rr_lo, rr_hi, df, p, p_welch`` (+ ``scripted``).
    """
    keys = _as_list(by)
    data = runs.dropna(subset=[metric])
    labels = _cell_labels(data, keys)
    cells = sorted(labels.unique())
    reference = cells[0] if reference is None else reference
    if reference not in cells:
        raise ValueError(f"reference {reference!r} is not a cell; cells are {cells}")
    others = [c for c in cells if c != reference]
    exog = pd.get_dummies(labels, dtype=float)[others]
    exog.insert(0, reference, 1.0)
    fit = _cell_fit(data, metric, exog, cluster, confidence)
    ref_vals = data.loc[labels == reference, metric]
    rows = []
    for cell in others:
        in_cell = labels == cell
        vals = data.loc[in_cell, metric]
        welch = sps.ttest_ind(vals, ref_vals, equal_var=False)  # NaN below two runs
        row = dict(zip(keys, data.loc[in_cell, keys].iloc[0]))
        row.update(reference=reference, n=len(vals), n_reference=len(ref_vals))
        row.update(rate=vals.mean(), reference_rate=fit.loc[reference, "rate_ratio"])
        row.update(fit.loc[cell, ["rate_ratio", "rr_lo", "rr_hi", "df", "p"]].to_dict())
        row["p_welch"] = float(welch.pvalue)
        rows.append(_with_flag(row, data[in_cell | (labels == reference)]))
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
    keys = _as_list(family)
    groups = [g.index for _, g in out.groupby(keys)] if keys else [out.index]
    for idx in groups:
        h = holm(out.loc[idx, p_col], alpha=alpha)
        out.loc[idx, "p_holm"] = h["p_holm"].to_numpy()
        out.loc[idx, "reject"] = h["reject"].to_numpy()
    return out


_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4})$")
_ALIASES = {"perfect": "perfect_play"}
"""Labels that are not model names: the scripted perfect-play population is the paper's
``perfect_play`` row."""


def canonical_model(name: str) -> str:
    """The paper's short model name: lower case, no provider prefix, no date suffix.

    ``"google/gemini-2.5-pro"`` → ``"gemini-2.5-pro"``, ``"o3-mini-2025-01-31"`` →
    ``"o3-mini"``, ``"claude-sonnet-4-20250514"`` → ``"claude-sonnet-4"``,
    ``"DeepSeek-R1-0528"`` → ``"deepseek-r1"``, and the scripted ``"perfect"`` population →
    ``"perfect_play"``. Mixed populations ("5*a,5*b") and other labels pass through lower-cased.
    """
    s = str(name).strip().lower().split("/")[-1]
    s = _DATE_SUFFIX.sub("", s)
    return _ALIASES.get(s, s)


def load_elo(path: str | Path | None = None, primary_only: bool = True) -> pd.DataFrame:
    """The dated Arena Elo table (``data/elo.csv``): one row per model when ``primary_only``.

    Columns: ``model, elo, ci95, as_of, arena_name, primary, source, note``. Rows
    with ``primary == False`` are alternative leaderboard entries for the same
    model (e.g. a thinking or high-effort variant) kept for sensitivity checks.
    """
    elo = pd.read_csv(path or repo_file("data", "elo.csv"), comment="#")
    elo["primary"] = elo["primary"].astype(str).str.lower().isin(("true", "1", "yes"))
    if primary_only:
        elo = elo[elo["primary"]].reset_index(drop=True)
    return elo


def capability_correlation(
    runs_or_cell_means: pd.DataFrame,
    elo: pd.DataFrame | None = None,
    metric: str = "tasks",
    condition: str | None = "baseline",
    value_col: str | None = None,
) -> pd.DataFrame:
    """Pearson and Spearman correlation of per-model mean ``metric`` with Arena Elo (Fig. 3).

    Accepts either a runs frame (many rows per model; averaged per model first)
    or a frame of cell means (one row per model, the value in ``value_col``,
    default ``"mean"`` if present else ``metric``). Models are matched to the Elo
    table by :func:`canonical_model`; unmatched models are listed in
    ``attrs["unmatched"]`` and left out. Returns two rows (``pearson``,
    ``spearman``) with ``statistic, p, n, lo, hi`` (Fisher-z 95% interval for
    Pearson when n > 3; NaN for Spearman) and the models used; NaN below 3 models.
    Scripted populations (a ``scripted`` column is True) never get an Elo score; they are
    listed in ``attrs["scripted"]`` and ``attrs["unmatched"]``.
    The paper reports r = 0.16 (p = 0.71) and ρ = 0.08 over its 8 models.
    """
    frame = runs_or_cell_means
    if condition is not None and "condition" in frame.columns:
        frame = frame[frame["condition"] == condition]
    col = value_col or ("mean" if "mean" in frame.columns else metric)
    per_model = frame.groupby("model")[col].mean().rename("value").reset_index()
    scripted: list[str] = []
    if "scripted" in frame.columns:
        scripted = sorted(frame.loc[frame["scripted"].eq(True), "model"].unique())
    # A scripted population has no capability score, whatever its label says.
    per_model["key"] = (
        per_model["model"].map(canonical_model).where(~per_model["model"].isin(scripted))
    )
    elo = load_elo() if elo is None else elo
    e = elo.assign(key=elo["model"].map(canonical_model)).drop_duplicates("key")[["key", "elo"]]
    merged = per_model.merge(e, how="left")  # on "key", the one column they share
    unmatched = merged.loc[merged["elo"].isna(), "model"].tolist()
    merged = merged.dropna()
    n = len(merged)
    out = pd.DataFrame({"method": ["pearson", "spearman"], "statistic": math.nan, "p": math.nan})
    out = out.assign(n=n, lo=math.nan, hi=math.nan)
    if n >= 3:
        pr = sps.pearsonr(merged["elo"], merged["value"])
        sr = sps.spearmanr(merged["elo"], merged["value"])
        out["statistic"] = [float(pr.statistic), float(sr.statistic)]
        out["p"] = [float(pr.pvalue), float(sr.pvalue)]
    if n > 3:  # Fisher's z interval for Pearson's r needs n > 3
        ci = pr.confidence_interval(0.95)
        out.loc[0, ["lo", "hi"]] = [float(ci.low), float(ci.high)]
    out["metric"] = metric
    out["models"] = ",".join(merged["model"])
    out.attrs["unmatched"] = unmatched
    out.attrs["scripted"] = scripted
    out.attrs["points"] = merged[["model", "elo", "value"]].reset_index(drop=True)
    return out


def runs_needed(
    sd: float,
    difference: float,
    power: float = 0.8,
    alpha: float = 0.05,
    paired: bool = False,
) -> pd.DataFrame:
    """Runs per cell needed to detect ``difference`` in a metric with standard deviation ``sd``.

    Two-sided t-test power (statsmodels). Unpaired (``paired=False``): a two-sample
    t-test with equal cells, ``sd`` the within-cell run-to-run sd, result = runs
    per condition. Paired: a one-sample t-test on per-seed differences, ``sd`` the
    sd of those differences, result = seeds run under both conditions.
    Returns ``effect_size`` (Cohen's d), ``n_exact`` and ``n`` (rounded up; never below 2,
    the fewest runs a t-test can use).
    """
    if sd <= 0 or difference == 0:
        raise ValueError("sd must be positive and difference non-zero")
    d = abs(difference) / sd
    solver = TTestPower() if paired else TTestIndPower()
    minimum = 2.0  # a t-test needs two runs per cell; a huge effect is detected with those
    if solver.power(d, minimum, alpha, alternative="two-sided") >= power:
        n = minimum
    else:
        n = float(solver.solve_power(d, None, alpha, power, alternative="two-sided"))
    return pd.DataFrame(
        [
            dict(
                sd=sd,
                difference=difference,
                effect_size=d,
                power=power,
                alpha=alpha,
                paired=paired,
                n_exact=n,
                n=int(math.ceil(n - 1e-9)),
            )
        ]
    )
