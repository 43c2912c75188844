"""Count models: Poisson with errors clustered by seed and small-sample t quantiles, so a
rate's interval is never narrower than the run-level t-interval on the same runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps

from .intervals import _as_list, cell_summary, scripted_flag, with_flag


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
    flag = scripted_flag(data)
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
        rows.append(with_flag(row, data[in_cell | (labels == reference)]))
    return pd.DataFrame(rows)
