"""Each statistic against a reference computed independently here (scipy, a hand
calculation, a simulation with a fixed seed or a textbook value), plus the paper
reference table and the Elo table."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from coop_utils import paper, stats
from coop_utils.config import PAPER_MODELS
from coop_utils.paths import ROOT


def shared_file(name: str) -> Path:
    """A file of ``../shared`` beside the clone. Missing in CI (``CI=true``, where the
    clone always has it beside) is a failure; missing elsewhere is a visible skip."""
    path = ROOT.parent / "shared" / name
    if not path.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{path} is missing: CI runs with ../shared beside the clone")
        pytest.skip(f"{path} not found: put ../shared beside the clone to check the copy")
    return path


# ---- intervals and cells -------------------------------------------------------------------


def test_t_interval_matches_scipy():
    x = [161.0, 150.0, 170.0, 158.0, 166.0]
    mean, half, n = stats.t_interval(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert n == 5 and mean == pytest.approx(np.mean(x))
    assert (mean - half, mean + half) == pytest.approx((lo, hi))
    _, half99, _ = stats.t_interval(x, confidence=0.99)
    assert half99 > half
    assert math.isnan(stats.t_interval([3.0])[1]) and stats.t_interval([])[2] == 0


def test_wilson_by_hand():
    # The held-out recall of hard defection in the issue: 10 of 16, Wilson 0.39-0.82.
    k, n, z = 10, 16, sps.norm.ppf(0.975)
    phat = k / n
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2))
    lo, hi = stats.wilson(k, n)
    assert (lo, hi) == pytest.approx((centre - half, centre + half))
    assert round(lo, 2) == 0.39 and round(hi, 2) == 0.82
    assert stats.wilson(0, 5)[0] == 0.0 and 0 < stats.wilson(0, 5)[1] < 1
    assert stats.wilson(5, 5)[1] == pytest.approx(1.0) and stats.wilson(5, 5)[0] < 1
    assert stats.wilson(10, 16, 0.99)[0] < lo
    assert all(math.isnan(x) for x in stats.wilson(0, 0))


def test_cell_summary_per_cell_drops_missing_values_and_carries_scripted():
    runs = pd.DataFrame(
        {
            "model": ["a", "a", "a", "b", "b"],
            "condition": ["baseline"] * 5,
            "msgs_per_task": [2.0, 4.0, np.nan, 10.0, 12.0],
            "scripted": [False, False, False, True, False],
        }
    )
    cells = stats.cell_summary(runs, "msgs_per_task").set_index("model")
    assert cells.loc["a", "n"] == 2 and cells.loc["a", "mean"] == 3.0
    lo, hi = sps.t.interval(0.95, 1, loc=3.0, scale=sps.sem([2.0, 4.0]))
    assert (cells.loc["a", "lo"], cells.loc["a", "hi"]) == pytest.approx((lo, hi))
    assert cells.loc["b", "scripted"] and not cells.loc["a", "scripted"]
    with pytest.raises(KeyError):
        stats.cell_summary(runs, "nope")


# ---- contrasts -----------------------------------------------------------------------------


def _paired_runs() -> pd.DataFrame:
    base = [30.0, 35.0, 28.0, 40.0, 33.0]
    policy = [55.0, 61.0, 50.0, 70.0, 52.0]
    rows = [dict(model="o3", condition="baseline", seed=s, tasks=v) for s, v in enumerate(base)]
    rows += [dict(model="o3", condition="policy", seed=s, tasks=v) for s, v in enumerate(policy)]
    rows.append(dict(model="o3", condition="policy", seed=9, tasks=80.0))  # no baseline partner
    return pd.DataFrame(rows)


def test_paired_difference_matches_scipy_ttest_rel():
    runs = _paired_runs()
    d = stats.paired_difference(runs, "tasks", "baseline", "policy").iloc[0]
    base = runs[runs.condition == "baseline"].sort_values("seed")["tasks"].to_numpy()
    pol = runs[(runs.condition == "policy") & (runs.seed < 5)].sort_values("seed")["tasks"]
    ref = sps.ttest_rel(pol.to_numpy(), base)
    assert d["n_pairs"] == 5 and d["unpaired"] == 1
    assert d["diff"] == pytest.approx(np.mean(pol.to_numpy() - base))
    assert d["t"] == pytest.approx(ref.statistic) and d["p"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (d["lo"], d["hi"]) == pytest.approx((ci.low, ci.high))


def test_paired_difference_without_variability_has_a_zero_width_interval():
    runs = pd.DataFrame(
        [
            dict(model="perfect", condition=c, seed=s, tasks=200.0)
            for c in ("a", "b")
            for s in (0, 1)
        ]
    )
    d = stats.paired_difference(runs, "tasks", "a", "b").iloc[0]
    assert d["diff"] == 0.0 and d["ci95"] == 0.0 and math.isnan(d["p"])


def test_pct_change_by_hand():
    runs = _paired_runs()
    base = np.array([30.0, 35.0, 28.0, 40.0, 33.0])
    pol = np.array([55.0, 61.0, 50.0, 70.0, 52.0])
    q = sps.t.ppf(0.975, 4)
    # Paired (default): seeds 0-4 only; delta method on the log ratio over the pairs.
    out = stats.pct_change(runs, "baseline", "policy").iloc[0]
    ma, mb = base.mean(), pol.mean()
    se = np.std(pol / mb - base / ma, ddof=1) / math.sqrt(5)
    assert out["paired"] and out["n_a"] == out["n_b"] == 5
    assert (out["mean_a"], out["mean_b"]) == pytest.approx((ma, mb))
    assert out["pct_change"] == pytest.approx(100 * (mb - ma) / ma)
    expected = [100 * (math.exp(math.log(mb / ma) + s * q * se) - 1) for s in (-1, 1)]
    assert [out["lo"], out["hi"]] == pytest.approx(expected)
    # Unpaired: every run, se from each cell, t on the smaller cell's degrees of freedom.
    un = stats.pct_change(runs, "baseline", "policy", pair_on=None).iloc[0]
    pol6 = np.append(pol, 80.0)
    ma, mb = base.mean(), pol6.mean()
    se = math.sqrt(base.var(ddof=1) / 5 / ma**2 + pol6.var(ddof=1) / 6 / mb**2)
    expected = [100 * (math.exp(math.log(mb / ma) + s * q * se) - 1) for s in (-1, 1)]
    assert not un["paired"] and (un["n_a"], un["n_b"]) == (5, 6)
    assert un["pct_change"] == pytest.approx(100 * (mb - ma) / ma)
    assert [un["lo"], un["hi"]] == pytest.approx(expected)
    assert stats.pct_change(runs, "baseline", "policy", confidence=0.99).iloc[0]["lo"] < out["lo"]
    zero = runs.assign(tasks=np.where(runs.condition == "baseline", 0.0, runs.tasks))
    z = stats.pct_change(zero, "baseline", "policy").iloc[0]
    assert math.isnan(z["pct_change"]) and math.isnan(z["lo"]) and math.isnan(z["hi"])


def test_pct_change_of_identical_pairs_is_exactly_zero_and_falls_back_unpaired():
    same = pd.DataFrame(
        [dict(model="m", condition=c, seed=s, tasks=10.0 + s) for c in "ab" for s in (0, 1, 2)]
    )
    out = stats.pct_change(same, "a", "b").iloc[0]
    assert (out["pct_change"], out["lo"], out["hi"]) == (0.0, 0.0, 0.0)
    disjoint = same.assign(seed=np.where(same.condition == "a", same.seed, same.seed + 10))
    un = stats.pct_change(disjoint, "a", "b").iloc[0]
    assert not un["paired"] and un["lo"] < 0 < un["hi"]
    one = stats.pct_change(same[same.seed == 0], "a", "b").iloc[0]
    assert one["n_a"] == 1 and math.isnan(one["lo"])


def test_holm_against_a_hand_computation():
    # sorted p: .005·4 = .02, .01·3 = .03, .03·2 = .06, .04·1 = .04
    # → running max .02 .03 .06 .06
    out = stats.holm([0.01, 0.04, 0.03, 0.005, np.nan])
    assert out["p_holm"].iloc[:4].tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert out["reject"].tolist() == [True, False, False, True, False]
    assert math.isnan(out["p_holm"].iloc[4])


def test_holm_family_adjusts_within_each_family():
    comps = pd.DataFrame({"metric": ["a", "a", "b"], "p": [0.02, 0.04, 0.04]})
    out = stats.holm_family(comps, family="metric")
    assert out["p_holm"].tolist() == pytest.approx([0.04, 0.04, 0.04])
    assert out["reject"].tolist() == [True, True, True]
    assert stats.holm_family(comps)["p_holm"].tolist() == pytest.approx([0.06, 0.08, 0.08])


def _sandwich(y: np.ndarray, exog: np.ndarray, mu: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The plain cluster sandwich of a Poisson GLM, by hand: B⁻¹ M B⁻¹."""
    bread = np.linalg.inv(exog.T @ (exog * mu[:, None]))
    scores = exog * (y - mu)[:, None]
    meat = sum(np.outer(s, s) for s in (scores[groups == g].sum(0) for g in np.unique(groups)))
    return bread @ meat @ bread


def test_poisson_glm_recovers_a_known_rate_ratio_with_robust_errors():
    rng = np.random.default_rng(12345)
    n = 400
    # Over-dispersed counts (negative binomial, variance ≫ mean): model-based Poisson
    # errors are far too small there, the robust ones are not.
    counts = [rng.negative_binomial(2, 2 / (2 + m), n) for m in (20.0, 30.0)]
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(2 * n)],
            "model": "m",
            "condition": ["baseline"] * n + ["policy"] * n,
            "tasks": np.concatenate(counts),
        }
    )
    fit = stats.count_model(runs, "tasks ~ C(condition)", cluster="run_id").set_index("term")
    rr = fit.loc["C(condition)[T.policy]"]
    assert rr["rate_ratio"] == pytest.approx(counts[1].mean() / counts[0].mean())
    assert rr["rr_lo"] < 1.5 < rr["rr_hi"]
    assert fit.loc["Intercept", "rate_ratio"] == pytest.approx(counts[0].mean())
    # The errors are the hand-computed sandwich with CR1 and the per-term t of the code.
    exog = np.column_stack([np.ones(2 * n), np.repeat([0.0, 1.0], n)])
    mu = np.repeat([c.mean() for c in counts], 1 * n)
    raw = _sandwich(runs.tasks.to_numpy(float), exog, mu, np.arange(2 * n))
    for j, term in enumerate(["Intercept", "C(condition)[T.policy]"]):
        g = n if term == "Intercept" else 2 * n
        factor = g / (g - 1) * (2 * n - 1) / (2 * n - 2)
        assert fit.loc[term, "se"] == pytest.approx(math.sqrt(factor * raw[j, j]), rel=1e-6)
        assert fit.loc[term, "n_clusters"] == g and fit.loc[term, "df"] == n - 1
        t = fit.loc[term, "estimate"] / fit.loc[term, "se"]
        assert fit.loc[term, "p"] == pytest.approx(2 * sps.t.sf(abs(t), n - 1))
    naive = stats.count_model(runs, "tasks ~ C(condition)", cluster=None).set_index("term")
    assert naive.loc["Intercept", "se"] < 0.5 * fit.loc["Intercept", "se"]
    assert naive.loc["Intercept", "df"] == 2 * n - 2 and math.isnan(naive["n_clusters"].iloc[0])
    assert fit.attrs["cluster"] == "run_id" and fit.attrs["n_obs"] == 2 * n
    nb = stats.count_model(runs, "tasks ~ C(condition)", "negbin", "run_id").set_index("term")
    assert nb.loc["C(condition)[T.policy]", "rate_ratio"] == pytest.approx(1.5, abs=0.1)
    assert 0.3 < nb.attrs["alpha"] < 0.8  # the simulated dispersion is 1/2
    assert "alpha" not in nb.index
    with pytest.raises(ValueError):
        stats.count_model(runs, family="gaussian")
    with pytest.raises(KeyError, match="seed"):
        stats.count_model(runs, "tasks ~ C(condition)")


def _design(n_cells: int, n_seeds: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for c in range(n_cells):
        rate = rng.uniform(2, 200)
        for s in range(n_seeds):
            rows.append(
                dict(model=f"m{c}", seed=s, run_id=f"m{c}.{s}", tasks=rng.poisson(rate) + s)
            )
    return pd.DataFrame(rows).assign(scripted=True)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4), st.integers(2, 6), st.sampled_from(["seed", "run_id"]), st.integers(0, 99)
)
def test_a_rate_interval_is_never_narrower_than_the_run_level_t_interval(cells, seeds, cl, seed):
    runs = _design(cells, seeds, np.random.default_rng(seed))
    rates = stats.cell_rates(runs, cluster=cl)
    cells_t = stats.cell_summary(runs, "tasks", "model")
    assert rates["model"].tolist() == cells_t["model"].tolist()
    assert rates["rate"].to_numpy() == pytest.approx(cells_t["mean"].to_numpy())
    assert (rates["df"] == seeds - 1).all()
    varied = cells_t["sd"] > 0
    width = (rates["rate_hi"] - rates["rate_lo"])[varied]
    assert (width >= (cells_t["hi"] - cells_t["lo"])[varied] * (1 - 1e-9)).all()
    assert (rates[["t_lo", "t_hi"]].to_numpy() == cells_t[["lo", "hi"]].to_numpy()).all()


def test_cell_rates_and_rate_ratios_on_shared_seeds():
    runs = pd.DataFrame(
        [
            dict(model=m, seed=s, run_id=f"{m}{s}", tasks=t, scripted=m == "w")
            for m, ts in (("c", [164, 162, 161]), ("w", [19, 15, 18]), ("r", [136, 136, 130]))
            for s, t in enumerate(ts)
        ]
    )
    rates = stats.cell_rates(runs).set_index("model")
    assert rates.loc["c", "rate"] == pytest.approx(162.3333333)
    assert rates.loc["w", "scripted"] and not rates.loc["c", "scripted"]
    ratios = stats.rate_ratios(runs, reference="c").set_index("model")
    assert set(ratios.index) == {"w", "r"} and (ratios["reference"] == "c").all()
    w = ratios.loc["w"]
    assert w["rate_ratio"] == pytest.approx((52 / 3) / (487 / 3))
    assert (w["n"], w["n_reference"], w["df"]) == (3, 3, 2)
    assert w["rate"] == pytest.approx(52 / 3) and w["reference_rate"] == pytest.approx(487 / 3)
    welch = sps.ttest_ind([19, 15, 18], [164, 162, 161], equal_var=False)
    assert w["p_welch"] == pytest.approx(welch.pvalue)
    # Clustered by seed the contrast is paired: its p is the model's t on 2 df, far from
    # the normal-quantile p of 5.6e-227 that run-level clusters with z gave before.
    assert 1e-4 < w["p"] < 0.05 and w["scripted"]
    assert not ratios.loc["r", "scripted"]
    fit = stats.count_model(runs, "tasks ~ C(model, Treatment('c'))").set_index("term")
    assert fit.loc["C(model, Treatment('c'))[T.w]", "p"] == pytest.approx(w["p"])
    assert fit.loc["C(model, Treatment('c'))[T.w]", "rr_lo"] == pytest.approx(w["rr_lo"])
    assert fit["scripted"].all()
    by_run = stats.rate_ratios(runs, reference="c", cluster="run_id").set_index("model")
    assert by_run.loc["w", "df"] == 2 and by_run.loc["w", "p"] != pytest.approx(w["p"])
    assert stats.rate_ratios(runs).iloc[0]["reference"] == "c"  # first in sorted order
    with pytest.raises(ValueError, match="cells are"):
        stats.rate_ratios(runs, reference="nope")
    with warnings.catch_warnings():  # one run per cell: statsmodels warns, we return NaN
        warnings.simplefilter("ignore")
        one = stats.rate_ratios(runs[runs.seed == 0], reference="c", cluster="run_id")
    assert one["p"].isna().all() and one["p_welch"].isna().all()


# ---- capability ----------------------------------------------------------------------------


def test_capability_correlation_matches_scipy_and_skips_scripted_populations():
    elo = pd.DataFrame(
        {"model": ["a", "b", "c", "d", "e"], "elo": [1300.0, 1350.0, 1320.0, 1400.0, 1380.0]}
    )
    cells = pd.DataFrame(
        {
            "model": ["a", "b-2025-01-01", "c", "d", "e", "perfect"],
            "mean": [10.0, 40.0, 25.0, 30.0, 90.0, 200.0],
            "scripted": [False] * 5 + [True],
        }
    )
    out = stats.capability_correlation(cells, elo, condition=None).set_index("method")
    x, y = [1300.0, 1350.0, 1320.0, 1400.0, 1380.0], [10.0, 40.0, 25.0, 30.0, 90.0]
    pr, sr = sps.pearsonr(x, y), sps.spearmanr(x, y)
    assert out.loc["pearson", "statistic"] == pytest.approx(pr.statistic)
    assert out.loc["pearson", "p"] == pytest.approx(pr.pvalue)
    assert out.loc["spearman", "statistic"] == pytest.approx(sr.statistic)
    assert out.loc["pearson", "n"] == 5
    assert out.attrs["scripted"] == ["perfect"] and "perfect" in out.attrs["unmatched"]
    few = stats.capability_correlation(cells.iloc[:2], elo, condition=None)
    assert few["statistic"].isna().all()


def test_canonical_model_names():
    assert stats.canonical_model("google/gemini-2.5-pro") == "gemini-2.5-pro"
    assert stats.canonical_model("o3-mini-2025-01-31") == "o3-mini"
    assert stats.canonical_model("claude-sonnet-4-20250514") == "claude-sonnet-4"
    assert stats.canonical_model("deepseek-ai/DeepSeek-R1-0528") == "deepseek-r1"
    assert stats.canonical_model("gpt-4.1-mini") == "gpt-4.1-mini"
    assert stats.canonical_model("perfect") == "perfect_play"
    assert stats.canonical_model("withholder") == "withholder"


def test_elo_table_has_one_primary_score_per_paper_model():
    elo = stats.load_elo()
    assert set(elo["model"]) == set(PAPER_MODELS) and elo["model"].is_unique
    assert elo["elo"].between(1200, 1600).all()
    assert len(stats.load_elo(primary_only=False)) > len(elo)


# ---- power ---------------------------------------------------------------------------------


def _power_one_sample(d: float, n: float, alpha: float = 0.05) -> float:
    df, nc = n - 1, d * math.sqrt(n)
    crit = sps.t.ppf(1 - alpha / 2, df)
    return float(1 - sps.nct.cdf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def test_runs_needed_matches_textbook_and_noncentral_t():
    # Cohen (1988): d = 0.5 needs 64 per group, d = 0.8 needs 26, for power .8 at α = .05.
    assert stats.runs_needed(sd=10, difference=5).iloc[0]["n"] == 64
    assert stats.runs_needed(sd=10, difference=8).iloc[0]["n"] == 26
    paired = stats.runs_needed(sd=4, difference=4, paired=True).iloc[0]
    assert _power_one_sample(1.0, paired["n"]) >= 0.8 > _power_one_sample(1.0, paired["n"] - 1)
    with pytest.raises(ValueError):
        stats.runs_needed(sd=0, difference=1)


# ---- the paper's numbers -------------------------------------------------------------------


def test_paper_table_is_a_verbatim_copy_of_the_shared_one():
    assert paper.PAPER_PATH.read_bytes() == shared_file("paper_results.csv").read_bytes()


def test_paper_values_are_read_by_canonical_name():
    p = paper.load_paper()
    assert list(p.columns[:6]) == ["model", "condition", "metric", "value", "ci95", "source"]
    assert paper.paper_value("o3", "baseline", "tasks", p) == 34.4
    assert paper.paper_value("gpt-5-mini", "baseline", "tasks", p) == 78.7
    assert paper.paper_value("google/gemini-2.5-pro", "auto_request", "pct_optimal", p) == 99.1
    assert paper.paper_value("perfect", "baseline", "tasks", p) == 204.0
    assert math.isnan(paper.paper_value("o3", "policy", "tasks", p))


def test_paper_diagnoses_are_the_papers_words_or_say_they_are_missing():
    d = paper.load_diagnoses()
    assert sorted(d["model"]) == sorted(PAPER_MODELS) and d["model"].is_unique
    words = d[d["paper_diagnosis"] != ""]
    assert (words["source"] != "").all(), "every transcribed diagnosis names its source"
    assert (d.loc[d["paper_diagnosis"] == "", "source"] == "not transcribed").all()
    assert d["verbatim"].dtype == bool
    r1 = paper.diagnosis("DeepSeek-R1-0528", d)
    assert r1["paper_diagnosis"] == "moderate on both" and not r1["verbatim"]
    assert paper.diagnosis("deepseek-r1", d, scripted=True) is None
    assert paper.diagnosis("withholder", d) is None


def test_side_by_side_joins_by_canonical_name_and_never_for_scripted_populations():
    runs = pd.DataFrame(
        {
            # the last two: a scripted policy served under a model's alias
            "model": ["o3-2025-04-16"] * 2 + ["perfect"] * 2 + ["withholder"] * 2 + ["o3"] * 2,
            "condition": "baseline",
            "tasks": [30.0, 38.0, 200.0, 202.0, 15.0, 17.0, 1.0, 3.0],
            "scripted": [False, False, True, True, True, True, True, True],
        }
    )
    sbs = paper.side_by_side(runs[runs.index < 6], "tasks").set_index("model")
    assert sbs.loc["o3-2025-04-16", "paper_value"] == 34.4
    assert sbs.loc["o3-2025-04-16", "paper_ci95"] == 2.6
    assert sbs.loc["o3-2025-04-16", "ours_mean"] == 34.0 and sbs.loc["o3-2025-04-16", "ours_n"] == 2
    assert sbs.loc["perfect", "paper_value"] == 204.0 and sbs.loc["perfect", "scripted"]
    assert math.isnan(sbs.loc["withholder", "paper_value"])
    alias = paper.side_by_side(runs[runs.index >= 6], "tasks").iloc[0]
    assert alias["scripted"] and math.isnan(alias["paper_value"])
    assert sbs.loc["perfect", "paper_source"] == "Table 1"


def test_side_by_side_accepts_cell_tables_and_lists_paper_only_models():
    cells = stats.cell_summary(
        pd.DataFrame(
            {
                "model": ["o3-mini"] * 3,
                "condition": ["auto_fulfill"] * 3,
                "pct_optimal": [90.0, 92.0, 94.0],
            }
        ),
        "pct_optimal",
    )
    sbs = paper.side_by_side(cells, "pct_optimal", include_paper_only=True)
    row = sbs[sbs["model"] == "o3-mini"].iloc[0]
    assert row["paper_value"] == 92.1 and row["ours_mean"] == 92.0
    assert row["scripted"] is None  # the input did not say
    assert len(sbs) == 8 and set(sbs["condition"]) == {"auto_fulfill"}


def test_runs_needed_for_a_huge_effect_is_the_t_test_minimum():
    # Statsmodels' solver finds no root when two runs already give the power asked for.
    assert stats.runs_needed(sd=1, difference=10).iloc[0]["n"] == 2
    assert stats.runs_needed(sd=1, difference=10, paired=True).iloc[0]["n"] == 2
