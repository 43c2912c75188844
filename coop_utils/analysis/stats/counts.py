"""Count models: Poisson with errors clustered by seed and small-sample t quantiles, so a
rate's interval is never narrower than the run-level t-interval on the same runs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from .intervals import as_list, cell_summary, scripted_flag, with_flag


def _term_support(exog: np.ndarray) -> np.ndarray:
    """(terms × runs) mask: which runs inform each coefficient, from the rows of ``pinv(X)``.

    In a model of cells (categorical factors) a coefficient is a contrast of a few cells
    and only their runs enter it (the other entries of its row are zero up to rounding);
    with continuous covariates every run does."""
    return np.round(np.linalg.pinv(exog), 9) != 0


DEGENERATE = 1e-9
"""A robust variance below this fraction of the model-based one is zero up to rounding."""


def cr2(res, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CR2 variances and Bell-McCaffrey degrees of freedom of every coefficient of a GLM.

    On the working weighted least squares of the fit (``X̃ = √w X``, ``ẽ = √w g'(μ)(y − μ)``,
    ``w`` the IRLS weights), each cluster's residuals are scaled by ``A_g = (I − H_gg)^−½``
    before the sandwich (Bell and McCaffrey 2002; Pustejovsky and Tipton 2018 for GLMs), and
    coefficient ``j`` gets ``df = (Σ_g p_gᵀp_g)² / Σ_gh (p_gᵀp_h)²`` with
    ``p_g = (I − H)_{·g} A_g X̃_g B e_j``. With one run per cluster in a two-cell linear
    model this is Welch's variance and Welch-Satterthwaite's df (Imbens and Kolesár 2016),
    which ``tests/test_stats.py`` checks; statsmodels has neither."""
    mu = np.asarray(res.fittedvalues, dtype=float)
    fam = res.model.family
    w = np.asarray(fam.weights(mu), dtype=float)
    x = np.sqrt(w)[:, None] * np.asarray(res.model.exog, dtype=float)
    e = np.sqrt(w) * fam.link.deriv(mu) * (np.asarray(res.model.endog, dtype=float) - mu)
    bread = np.linalg.pinv(x.T @ x)
    ih = np.eye(len(e)) - x @ bread @ x.T
    meat = np.zeros_like(bread)
    lever = []  # per cluster: its rows, A_g X̃_g B (rows × terms)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        vals, vecs = np.linalg.eigh(ih[np.ix_(rows, rows)])
        inv_sqrt = vecs @ np.diag(np.where(vals > 1e-12, vals, np.inf) ** -0.5) @ vecs.T
        axb = inv_sqrt @ x[rows] @ bread
        score = axb.T @ e[rows]
        meat += np.outer(score, score)
        lever.append((rows, axb))
    var = np.diag(meat).copy()
    dof = np.full(len(var), np.nan)
    for j in range(len(var)):
        p = np.column_stack([ih[:, rows] @ axb[:, j] for rows, axb in lever])  # N × G
        gram = p.T @ p
        if np.trace(gram) > 0:
            dof[j] = np.trace(gram) ** 2 / np.sum(gram**2)
    return var, dof


def _small_sample(res, groups: np.ndarray | None, confidence: float) -> pd.DataFrame:
    """Coefficients of a fitted count model with small-sample cluster-robust inference.

    Per term ``j``: ``G_j`` = clusters among the runs that inform it. For a GLM (the
    Poisson models here) the variance is CR2 with Bell-McCaffrey degrees of freedom
    (:func:`cr2`): CR1 with 3 clusters is conservative (a 5% test rejects 3.5-4.2% of the
    time in our simulations under the null, CR2 with BM 4.9-5.9%). Otherwise (negative binomial) the
    sandwich with statsmodels' CR1 factor ``G_j/(G_j − 1) · (N − 1)/(N − K)`` and Student t
    with ``df_j`` = (fewest clusters in one of the cells it contrasts) − 1, or ``G_j − 1``
    for a term of unreplicated rows (continuous covariates). With ``groups`` None: model-based errors with the residual degrees of
    freedom. A term with no degrees of freedom (a cell of one cluster) or a robust variance
    that is zero up to rounding (too few clusters to see any spread: its size would be
    float noise, different on every machine) has no interval or test, and says why in
    ``not_estimable`` (empty for a term that was estimated)."""
    names = [t for t in res.params.index if t != "alpha"]
    exog = np.asarray(res.model.exog)
    n_obs, k = exog.shape[0], len(res.params)
    support = _term_support(exog)
    cov, bread = res.cov_params(), res.normalized_cov_params
    clustered = cr2(res, groups) if groups is not None and _is_glm(res) else None
    rows = []
    for j, term in enumerate(names):
        est = float(res.params[term])
        var, why = float(cov.loc[term, term]), ""
        if groups is None:
            dof, g_j = float(n_obs - k), math.nan
        else:
            informs = support[j]
            g_j = len(np.unique(groups[informs]))
            cells = pd.DataFrame(exog[informs]).assign(g=groups[informs])
            per_cell = cells.groupby(list(range(exog.shape[1])))["g"].nunique()
            replicated = len(per_cell) < informs.sum()
            dof = float(per_cell.min() - 1 if replicated else g_j - 1)
            if dof < 1 or n_obs <= k:
                why = "no degrees of freedom (a cell with runs of one cluster only)"
            elif clustered is not None:
                var, dof = float(clustered[0][j]), float(clustered[1][j])
            else:
                var *= g_j / (g_j - 1) * (n_obs - 1) / (n_obs - k)
        if not why and var <= DEGENERATE * float(bread.loc[term, term]):
            why = f"zero robust variance: {g_j} clusters show no spread for this term"
        se = math.nan if why else math.sqrt(var)
        stat = est / se if se > 0 else math.nan
        q = float(sps.t.ppf(0.5 + confidence / 2, dof)) if dof > 0 else math.nan
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
                not_estimable=why,
            )
        )
    return pd.DataFrame(rows)


def _is_glm(res) -> bool:
    return hasattr(res.model, "family")


def _fit(model, groups: np.ndarray | None):
    """Fit a statsmodels count model quietly; with ``groups``, the *uncorrected* cluster
    sandwich (:func:`_small_sample` applies the small-sample correction per term)."""
    cov = {} if groups is None else {"groups": groups, "use_correction": False}
    with warnings.catch_warnings():
        # A cell of one run (no residual df) or of zeros only (a log rate at -inf) makes
        # statsmodels warn; both come back as not_estimable with their reason instead.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        if groups is None:
            return model.fit(disp=False)
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
    Small samples: see :func:`_small_sample` (CR2 with Bell-McCaffrey degrees of freedom
    for the Poisson GLM, CR1 with per-term t for the negative binomial). For a model of cells, a rate's interval
    is then never narrower than the run-level t-interval on the same runs.

    Columns: ``term, estimate, se, df, t, p, rate_ratio, rr_lo, rr_hi, n_clusters,
    not_estimable`` (why a term has no interval or test; empty when it has one) and
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
        cov_type=(
            "nonrobust"
            if not cluster
            else "cluster (CR2, Bell-McCaffrey df)"
            if _is_glm(res)
            else "cluster (CR1, t with per-term df)"
        ),
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


def _exact(value: float, fit: pd.Series, confidence: float, empty: str) -> dict:
    """A rate or rate ratio computed from the counts (the Poisson fit of cells reproduces
    it only up to the kernel's rounding), with the fit's small-sample interval around it."""
    if not value > 0:  # no events: no finite log rate, nothing to put an interval around
        return dict(value=value, lo=math.nan, hi=math.nan, not_estimable=empty)
    q = float(sps.t.ppf(0.5 + confidence / 2, fit["df"])) if fit["df"] > 0 else math.nan
    spread = math.exp(q * fit["se"])
    return dict(
        value=value, lo=value / spread, hi=value * spread, not_estimable=fit["not_estimable"]
    )


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
    ``not_estimable`` says why a cell has no interval (empty when it has one).
    Columns: ``*by, metric, n, rate, rate_lo, rate_hi, df, t_lo, t_hi, not_estimable``
    (+ ``scripted``).
    """
    keys = as_list(by)
    data = runs.dropna(subset=[metric])
    labels = _cell_labels(data, keys)
    fit = _cell_fit(data, metric, pd.get_dummies(labels, dtype=float), cluster, confidence)
    cells = cell_summary(data, metric, keys)
    fit = fit.loc[_cell_labels(cells, keys)]
    rates = pd.DataFrame(
        [
            _exact(m, f, confidence, "no events in the cell: no finite log rate")
            for m, (_, f) in zip(cells["mean"], fit.iterrows())
        ]
    )
    out = cells[[*keys, "metric", "n"]].assign(
        rate=rates["value"].to_numpy(),
        rate_lo=rates["lo"].to_numpy(),
        rate_hi=rates["hi"].to_numpy(),
        df=fit["df"].to_numpy(),
        t_lo=cells["lo"].to_numpy(),
        t_hi=cells["hi"].to_numpy(),
        not_estimable=rates["not_estimable"].to_numpy(),
    )
    return out.assign(scripted=cells["scripted"]) if "scripted" in cells else out


IDENTICAL = "identical, not tested: every run equals the reference's run of its seed"
"""Why a contrast of two cells that repeat each other seed for seed has no test (its p
would be 1 or undefined, which reads as a finding; it is only a fact about the runs)."""


def _identical(data: pd.DataFrame, a, b, metric: str, cluster: str | None) -> bool:
    """Whether cells ``a`` and ``b`` (masks) have the same values on the same clusters."""
    if cluster is None or cluster == "run_id" or a.sum() < 2:
        return False
    one, two = (data.loc[m].groupby(cluster)[metric].apply(sorted) for m in (a, b))
    return one.index.equals(two.index) and all(x == y for x, y in zip(one, two))


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
    cell in sorted order). ``rate_ratio`` is the ratio of the two cells' mean counts,
    exactly; ``not_estimable`` says why a contrast has no interval or test. Columns: ``*by,
    reference, n, n_reference, rate, reference_rate, rate_ratio, rr_lo, rr_hi, df, p,
    p_welch, not_estimable`` (+ ``scripted``).
    """
    keys = as_list(by)
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
        rate, ref_rate = vals.mean(), ref_vals.mean()
        ratio = _exact(
            rate / ref_rate if ref_rate > 0 else math.nan,
            fit.loc[cell],
            confidence,
            "no events in this cell or the reference: no finite rate ratio",
        )
        row.update(rate=rate, reference_rate=ref_rate, rate_ratio=ratio["value"])
        row.update(rr_lo=ratio["lo"], rr_hi=ratio["hi"], df=fit.loc[cell, "df"])
        row.update(p=fit.loc[cell, "p"], p_welch=float(welch.pvalue))
        row["not_estimable"] = ratio["not_estimable"]
        if _identical(data, in_cell, labels == reference, metric, cluster):
            row.update(rr_lo=math.nan, rr_hi=math.nan, p=math.nan, not_estimable=IDENTICAL)
        rows.append(with_flag(row, data[in_cell | (labels == reference)]))
    return pd.DataFrame(rows)
