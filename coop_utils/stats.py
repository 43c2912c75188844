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

from .paths import ROOT, repo_file

ELO_PATH = ROOT / "data" / "elo.csv"
"""Dated Chatbot Arena (LMArena) text scores for the paper's models; see data/README.md."""

__all__ = [
    "ELO_PATH",
    "canonical_model",
    "capability_correlation",
    "cell_summary",
    "count_model",
    "holm",
    "holm_family",
    "load_elo",
    "paired_difference",
    "pct_change",
    "runs_needed",
    "t_interval",
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


def _match(frame: pd.DataFrame, keys: list[str], key: tuple) -> pd.Series:
    """Rows of ``frame`` whose ``keys`` columns equal ``key``."""
    mask = pd.Series(True, index=frame.index)
    for k, v in zip(keys, key):
        mask &= frame[k].eq(v) if pd.notna(v) else frame[k].isna()
    return mask


def _scripted_flag(frame: pd.DataFrame) -> bool | None:
    if "scripted" not in frame.columns or frame.empty:
        return None
    return bool(frame["scripted"].fillna(False).astype(bool).any())


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
    groups = runs.groupby(keys, sort=True, dropna=False) if keys else [((), runs)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        vals = pd.to_numeric(g[metric], errors="coerce").dropna().to_numpy(dtype=float)
        mean, half, n = t_interval(vals, confidence)
        sd = float(vals.std(ddof=1)) if n >= 2 else math.nan
        row = dict(zip(keys, key))
        row.update(
            metric=metric,
            n=n,
            mean=mean,
            sd=sd,
            se=sd / math.sqrt(n) if n >= 2 else math.nan,
            ci95=half,
            lo=mean - half,
            hi=mean + half,
        )
        flag = _scripted_flag(g)
        if flag is not None:
            row["scripted"] = flag
        rows.append(row)
    return pd.DataFrame(rows)


def _paired_stats(d: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean difference, its t-interval and the paired t-test (one-sample t on ``d``)."""
    n = d.size
    nan = math.nan
    if n == 0:
        return dict(diff=nan, sd_diff=nan, ci95=nan, lo=nan, hi=nan, t=nan, p=nan)
    mean = float(d.mean())
    if n < 2:
        return dict(diff=mean, sd_diff=nan, ci95=nan, lo=nan, hi=nan, t=nan, p=nan)
    sd = float(d.std(ddof=1))
    if sd == 0:  # every pair moved by the same amount: no sampling variability to test
        return dict(diff=mean, sd_diff=0.0, ci95=0.0, lo=mean, hi=mean, t=nan, p=nan)
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    test = sps.ttest_1samp(d, 0.0)
    return dict(
        diff=mean,
        sd_diff=sd,
        ci95=half,
        lo=mean - half,
        hi=mean + half,
        t=float(test.statistic),
        p=float(test.pvalue),
    )


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
    wide = (
        sub.groupby([*keys, pair_on, condition_col])[metric]
        .mean()
        .unstack(condition_col)
        .reindex(columns=[a, b])
    )
    rows = []
    groups = wide.groupby(level=keys, sort=True) if keys else [((), wide)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        both = g.dropna()
        d = (both[b] - both[a]).to_numpy(dtype=float)
        n = d.size
        row = dict(zip(keys, key))
        row.update(
            metric=metric,
            a=a,
            b=b,
            n_pairs=n,
            unpaired=int(len(g) - n),
            mean_a=float(both[a].mean()) if n else math.nan,
            mean_b=float(both[b].mean()) if n else math.nan,
        )
        row.update(_paired_stats(d, confidence))
        flag = _scripted_flag(sub[_match(sub, keys, key)])
        if flag is not None:
            row["scripted"] = flag
        rows.append(row)
    return pd.DataFrame(rows)


def pct_change(
    runs: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "tasks",
    by: str | Sequence[str] | None = "model",
    condition_col: str = "condition",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Percentage change of the cell mean from condition ``a`` to ``b`` (the paper's Table 3).

    ``pct_change = 100 · (mean_b − mean_a) / mean_a``. The interval is an
    approximate delta-method interval on the log ratio of two independent means,
    ``se² = se_a²/mean_a² + se_b²/mean_b²``, with t quantiles on the smaller cell's
    degrees of freedom; it is undefined when either mean is 0 or a cell has < 2
    runs. For a model-based alternative use :func:`count_model`'s rate ratios.
    """
    keys = _as_list(by)
    cells = cell_summary(runs[runs[condition_col].isin([a, b])], metric, [*keys, condition_col])
    rows = []
    groups = cells.groupby(keys, sort=True) if keys else [((), cells)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        ga, gb = g[g[condition_col] == a], g[g[condition_col] == b]
        row = dict(zip(keys, key))
        row.update(metric=metric, a=a, b=b)
        if ga.empty or gb.empty:
            row.update(mean_a=math.nan, mean_b=math.nan, n_a=0, n_b=0)
            row.update(pct_change=math.nan, lo=math.nan, hi=math.nan)
            rows.append(row)
            continue
        if "scripted" in g.columns:
            row["scripted"] = bool(g["scripted"].astype(bool).any())
        ra, rb = ga.iloc[0], gb.iloc[0]
        ma, mb = float(ra["mean"]), float(rb["mean"])
        row.update(mean_a=ma, mean_b=mb, n_a=int(ra["n"]), n_b=int(rb["n"]))
        row["pct_change"] = 100 * (mb - ma) / ma if ma else math.nan
        lo = hi = math.nan
        if ma > 0 and mb > 0 and ra["n"] >= 2 and rb["n"] >= 2:
            se = math.sqrt((ra["se"] / ma) ** 2 + (rb["se"] / mb) ** 2)
            dof = min(ra["n"], rb["n"]) - 1
            q = sps.t.ppf(0.5 + confidence / 2, dof)
            log_ratio = math.log(mb / ma)
            lo = 100 * (math.exp(log_ratio - q * se) - 1)
            hi = 100 * (math.exp(log_ratio + q * se) - 1)
        row.update(lo=lo, hi=hi)
        rows.append(row)
    return pd.DataFrame(rows)


def count_model(
    runs: pd.DataFrame,
    formula: str = "tasks ~ C(model) * C(condition)",
    family: str = "poisson",
    cluster: str | None = "run_id",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fit a count regression of tasks and return its coefficients with rate ratios.

    ``family="poisson"`` fits a Poisson GLM (log link); ``family="negbin"`` fits a
    negative binomial (NB2) model whose dispersion ``alpha`` is estimated by
    maximum likelihood (``statsmodels`` ``NegativeBinomial``), reported in
    ``attrs["alpha"]`` and dropped from the coefficient rows.

    Standard errors are cluster-robust (sandwich) with ``cluster``:
    - ``"run_id"`` (default): each run is its own cluster, i.e. heteroskedasticity-
      robust errors. This keeps a Poisson fit honest when runs are over-dispersed
      (they are: a group's tasks are far from Poisson).
    - ``"seed"``: runs sharing a seed (the same deal of pieces and tasks under
      different conditions or models) form one cluster. Use it when the design
      reuses seeds across cells; with few seeds (the paper used 5) the correction
      is coarse, so report both.
    - ``None``: model-based errors.

    Columns: ``term, estimate, se, z, p, rate_ratio, rr_lo, rr_hi``. ``attrs``
    records family, cov_type, n_obs, n_clusters and (NB) alpha. A cell with zero
    tasks in every run has no finite log-rate; its estimate will be huge and
    meaningless, so inspect ``se`` before reading such a row.
    """
    data = runs.copy()
    if family not in ("poisson", "negbin"):
        raise ValueError("family must be 'poisson' or 'negbin'")
    fit_kw: dict = {}
    n_clusters = None
    if cluster is not None:
        groups = pd.factorize(data[cluster])[0]
        n_clusters = int(groups.max() + 1)
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    if family == "poisson":
        res = smf.glm(formula, data=data, family=sm.families.Poisson()).fit(**fit_kw)
        params, bse = res.params, res.bse
        z, p = res.tvalues, res.pvalues
        alpha = None
    else:
        res = smf.negativebinomial(formula, data=data, loglike_method="nb2").fit(
            disp=0, maxiter=500, **fit_kw
        )
        alpha = float(res.params["alpha"])
        keep = res.params.index != "alpha"
        params, bse = res.params[keep], res.bse[keep]
        z, p = res.tvalues[keep], res.pvalues[keep]
    q = sps.norm.ppf(0.5 + confidence / 2)
    out = pd.DataFrame(
        {
            "term": params.index,
            "estimate": params.to_numpy(),
            "se": bse.to_numpy(),
            "z": z.to_numpy(),
            "p": p.to_numpy(),
        }
    )
    out["rate_ratio"] = np.exp(out["estimate"])
    out["rr_lo"] = np.exp(out["estimate"] - q * out["se"])
    out["rr_hi"] = np.exp(out["estimate"] + q * out["se"])
    out.attrs.update(
        family=family,
        formula=formula,
        cov_type="cluster" if cluster else "nonrobust",
        cluster=cluster,
        n_obs=int(res.nobs),
        n_clusters=n_clusters,
        alpha=alpha,
    )
    return out


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
    metric. The input's index and row order are preserved.
    """
    out = comparisons.copy()
    out["p_holm"] = np.nan
    out["reject"] = False
    keys = _as_list(family)
    groups = [g.index for _, g in out.groupby(keys, sort=False)] if keys else [out.index]
    for idx in groups:
        h = holm(out.loc[idx, p_col], alpha=alpha)
        out.loc[idx, "p_holm"] = h["p_holm"].to_numpy()
        out.loc[idx, "reject"] = h["reject"].to_numpy()
    out["reject"] = out["reject"].astype(bool)
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
    s = str(name).strip().lower().rsplit("/", 1)[-1]
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
        flags = frame.groupby("model")["scripted"].apply(lambda s: bool(s.astype(bool).any()))
        scripted = [m for m in per_model["model"] if flags.get(m, False)]
    # A scripted population has no capability score, whatever its label says.
    per_model["key"] = [None if m in scripted else canonical_model(m) for m in per_model["model"]]
    elo = load_elo() if elo is None else elo
    e = elo.assign(key=elo["model"].map(canonical_model))[["key", "elo"]].drop_duplicates("key")
    merged = per_model.merge(e, on="key", how="left")
    unmatched = merged.loc[merged["elo"].isna(), "model"].tolist()
    merged = merged.dropna(subset=["elo", "value"])
    n = len(merged)
    nan = math.nan
    rows = [
        dict(method="pearson", statistic=nan, p=nan, n=n, lo=nan, hi=nan),
        dict(method="spearman", statistic=nan, p=nan, n=n, lo=nan, hi=nan),
    ]
    if n >= 3:
        pr = sps.pearsonr(merged["elo"], merged["value"])
        sr = sps.spearmanr(merged["elo"], merged["value"])
        rows[0].update(statistic=float(pr.statistic), p=float(pr.pvalue))
        rows[1].update(statistic=float(sr.statistic), p=float(sr.pvalue))
        if n > 3:  # the Fisher-z interval needs n > 3
            ci = pr.confidence_interval(0.95)
            rows[0].update(lo=float(ci.low), hi=float(ci.high))
    out = pd.DataFrame(rows)
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
