"""Each statistic against a reference computed independently here (scipy, a hand
calculation, a simulation with a fixed seed or a textbook value), plus the paper
reference table and the Elo table."""

from __future__ import annotations

import importlib
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

from coop_utils.analysis import metrics, paper, stats
from coop_utils.game.config import PAPER_MODELS
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


@pytest.mark.slow
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
    # The errors are the hand-computed sandwich with CR2, which with one run per cluster
    # and leverage 1/n in each group is n/(n-1) times the raw one, and Bell-McCaffrey df:
    # n - 1 for a group's rate, (a + b)²(n − 1)/(a² + b²) for the ratio (a, b = 1/(n·μ)).
    exog = np.column_stack([np.ones(2 * n), np.repeat([0.0, 1.0], n)])
    means = [c.mean() for c in counts]
    raw = _sandwich(runs.tasks.to_numpy(float), exog, np.repeat(means, n), np.arange(2 * n))
    a, b = (1 / (n * m) for m in means)
    for j, term in enumerate(["Intercept", "C(condition)[T.policy]"]):
        g = n if term == "Intercept" else 2 * n
        df = n - 1 if term == "Intercept" else (a + b) ** 2 * (n - 1) / (a**2 + b**2)
        assert fit.loc[term, "se"] == pytest.approx(math.sqrt(n / (n - 1) * raw[j, j]), rel=1e-6)
        assert fit.loc[term, "n_clusters"] == g and fit.loc[term, "df"] == pytest.approx(df)
        t = fit.loc[term, "estimate"] / fit.loc[term, "se"]
        assert fit.loc[term, "p"] == pytest.approx(2 * sps.t.sf(abs(t), df))
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


@pytest.mark.slow
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
    assert rates["df"].to_numpy() == pytest.approx(seeds - 1)
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
    assert (w["n"], w["n_reference"]) == (3, 3) and w["df"] == pytest.approx(2)
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
    a, b = 1 / 487, 1 / 52  # 1 / (n · mean) of each cell: Bell-McCaffrey's df, unpaired
    assert by_run.loc["w", "df"] == pytest.approx((a + b) ** 2 * 2 / (a**2 + b**2))
    assert by_run.loc["w", "p"] != pytest.approx(w["p"])
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


def test_the_reference_tables_are_read_where_their_constants_say(monkeypatch, tmp_path):
    capability = importlib.import_module("coop_utils.analysis.stats.capability")
    for module, name, load in (
        (paper, "PAPER_PATH", paper.load_paper),
        (paper, "DIAGNOSES_PATH", paper.load_diagnoses),
        (capability, "ELO_PATH", stats.load_elo),
    ):
        monkeypatch.setattr(module, name, tmp_path / f"{name}.csv")
        with pytest.raises(FileNotFoundError, match=f"{name}.csv is missing.*pip install -e"):
            load()
        monkeypatch.undo()
        assert len(load()) > 5


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
    r1 = paper.paper_words("DeepSeek-R1-0528", d)
    assert r1["paper_diagnosis"] == "moderate on both" and not r1["verbatim"]
    assert paper.paper_words("deepseek-r1", d, scripted=True) is None
    assert paper.paper_words("withholder", d) is None


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


# ---- contracts: every column, every edge ---------------------------------------------------
# Written against mutation testing (benchmarks/mutation.py): each output column is checked
# by name and value, NaN as a float NaN, and each guard on both of its sides.


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def test_t_interval_of_one_and_of_no_value():
    assert stats.t_interval([3.0, None, np.nan])[0] == 3.0
    assert stats.t_interval([3.0])[2] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mean of an empty array is ever taken
        mean, half, n = stats.t_interval([np.nan])
    assert _nan(mean) and _nan(half) and n == 0


def test_cell_summary_contract():
    runs = pd.DataFrame(
        {
            "model": ["c", "b", "a", "a", "a", np.nan],
            "condition": "x",
            "tasks": [7, 5, 2, 4, "n/a", 1],
            "scripted": [True, False, False, np.nan, False, False],
        }
    )
    cells = stats.cell_summary(runs, "tasks")
    assert list(cells.columns) == [
        "model", "condition", "metric", "n", "mean", "sd", "se", "ci95", "lo", "hi", "scripted",
    ]  # fmt: skip
    assert cells["model"].tolist()[:3] == ["a", "b", "c"] and _nan(cells["model"].iloc[3])
    a, b = cells.iloc[0], cells.iloc[1]
    assert (a["n"], a["mean"], a["metric"]) == (2, 3.0, "tasks")
    assert a["sd"] == pytest.approx(math.sqrt(2)) and a["se"] == pytest.approx(1.0)
    assert a["ci95"] == pytest.approx(sps.t.ppf(0.975, 1))
    assert (a["lo"], a["hi"]) == pytest.approx((3 - a["ci95"], 3 + a["ci95"]))
    assert b["n"] == 1 and b["mean"] == 5.0
    assert all(_nan(b[c]) for c in ("sd", "se", "ci95", "lo", "hi"))
    assert cells["scripted"].tolist() == [False, False, True, False]
    wide99 = stats.cell_summary(runs, "tasks", confidence=0.99).iloc[0]
    assert wide99["ci95"] == pytest.approx(sps.t.ppf(0.995, 1))
    empty = stats.cell_summary(
        runs.assign(tasks=np.where(runs.model == "b", np.nan, runs.tasks)), "tasks"
    )
    assert empty.set_index("model").loc["b", "n"] == 0
    assert _nan(empty.set_index("model").loc["b", "se"]) and _nan(
        empty.set_index("model").loc["b", "mean"]
    )
    floats = runs.assign(scripted=[1.0, 0.0, 0.0, np.nan, 0.0, 0.0])  # NaN is not scripted
    assert stats.cell_summary(floats, "tasks")["scripted"].tolist() == [False, False, True, False]
    whole = stats.cell_summary(runs, "tasks", by=[])
    assert len(whole) == 1 and whole["n"].iloc[0] == 5 and "model" not in whole
    assert "scripted" not in stats.cell_summary(runs.drop(columns="scripted"), "tasks")
    with pytest.raises(KeyError, match="metric 'nope'"):
        stats.cell_summary(runs, "nope")


def test_one_rule_reads_the_scripted_flag_everywhere():
    assert stats.scripted_flag(pd.DataFrame({"scripted": [np.nan, None, False]})) is False
    assert stats.scripted_flag(pd.DataFrame({"scripted": [np.nan, True]})) is True
    assert stats.scripted_flag(pd.DataFrame({"x": [1]})) is None
    assert stats.scripted_flag(pd.DataFrame({"scripted": []})) is None
    runs = pd.DataFrame(
        {
            "model": ["m", "m", "n", "n"],
            "condition": ["auto_request", "auto_fulfill"] * 2,
            "pct_optimal": [50.0, 60.0, 70.0, 80.0],
            "scripted": [np.nan, True, np.nan, np.nan],  # a missing flag is not scripted
        }
    )
    cc = metrics.cooperation_competence(runs).set_index("model")["scripted"]
    assert cc.to_dict() == {"m": True, "n": False}
    assert stats.capability_correlation(runs, metric="pct_optimal", condition=None).attrs[
        "scripted"
    ] == ["m"]
    assert "scripted" not in metrics.cooperation_competence(runs.drop(columns="scripted"))


def test_paired_difference_contract():
    rows = [dict(model="m2", condition="a", seed=0, tasks=1.0, scripted=False)]
    rows.append(dict(model="m2", condition="b", seed=1, tasks=2.0, scripted=False))
    for s, (x, y) in enumerate([(10.0, 13.0), (12.0, 13.0), (11.0, 16.0)]):
        rows += [dict(model="m1", condition="a", seed=s, tasks=x, scripted=s == 2)]
        rows += [dict(model="m1", condition="b", seed=s, tasks=y, scripted=False)]
    rows += [
        dict(model="m3", condition=c, seed=0, tasks=v, scripted=False)
        for c, v in (("a", 1.0), ("b", 4.0))
    ]
    rows += [
        dict(model="m4", condition=c, seed=s, tasks=s + (c == "b"), scripted=False)
        for c in "ab"
        for s in (0, 1)
    ]
    rows += [dict(model="m5", condition=c, seed=s, tasks=s + (c == "b") * (1 + s / 2), scripted=False)
             for c in "ab" for s in (0, 1)]  # fmt: skip
    rows += [dict(model="m6", condition=c, seed=np.nan, tasks=1.0, scripted=False) for c in "ab"]
    runs = pd.DataFrame(rows)
    out = stats.paired_difference(runs, "tasks", "a", "b")
    assert list(out.columns) == [
        "model", "metric", "a", "b", "n_pairs", "unpaired", "mean_a", "mean_b",
        "diff", "sd_diff", "ci95", "lo", "hi", "t", "p", "scripted",
    ]  # fmt: skip
    out = out.set_index("model")
    assert out.index.tolist() == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert (out["metric"] == "tasks").all() and (out["a"] == "a").all() and (out["b"] == "b").all()
    m1 = out.loc["m1"]
    d = np.array([3.0, 1.0, 5.0])
    ref = sps.ttest_1samp(d, 0.0)
    assert (m1["n_pairs"], m1["unpaired"], m1["mean_a"], m1["mean_b"]) == (3, 0, 11.0, 14.0)
    assert (m1["diff"], m1["sd_diff"]) == pytest.approx((3.0, 2.0))
    assert m1["ci95"] == pytest.approx(sps.t.ppf(0.975, 2) * 2 / math.sqrt(3))
    assert (m1["lo"], m1["hi"]) == pytest.approx((3 - m1["ci95"], 3 + m1["ci95"]))
    assert (m1["t"], m1["p"]) == pytest.approx((ref.statistic, ref.pvalue))
    assert m1["scripted"] and not out.loc["m2", "scripted"]
    m2 = out.loc["m2"]  # no seed run under both conditions
    assert (m2["n_pairs"], m2["unpaired"]) == (0, 2)
    assert all(_nan(m2[c]) for c in ("mean_a", "mean_b", *stats.PAIRED_COLUMNS))
    m3 = out.loc["m3"]  # one pair: a difference, nothing more
    assert (m3["n_pairs"], m3["diff"], m3["mean_a"], m3["mean_b"]) == (1, 3.0, 1.0, 4.0)
    assert all(_nan(m3[c]) for c in ("sd_diff", "ci95", "lo", "hi", "t", "p"))
    m4 = out.loc["m4"]  # identical differences: zero width, no test
    assert (m4["diff"], m4["sd_diff"], m4["ci95"], m4["lo"], m4["hi"]) == (1, 0, 0, 1, 1)
    assert _nan(m4["t"]) and _nan(m4["p"])
    m5 = out.loc["m5"]  # differences 1 and 1.5: sd below 1 is still tested
    ref = sps.ttest_1samp([1.0, 1.5], 0.0)
    assert (m5["t"], m5["p"]) == pytest.approx((ref.statistic, ref.pvalue))
    assert (out.loc["m6", "n_pairs"], out.loc["m6", "unpaired"]) == (0, 0), "no seed, no pair"
    pooled = stats.paired_difference(runs[runs.model == "m1"], "tasks", "a", "b", by=None)
    assert len(pooled) == 1 and "model" not in pooled and pooled["n_pairs"].iloc[0] == 3
    assert "scripted" not in stats.paired_difference(
        runs.drop(columns="scripted"), "tasks", "a", "b"
    )


def test_pct_change_contract():
    rows = [dict(model="z", condition="a", seed=s, tasks=0.0) for s in (0, 1)]
    rows += [dict(model="z", condition="b", seed=s, tasks=2.0) for s in (0, 1)]
    rows += [dict(model="h", condition=c, seed=s, tasks=v, scripted=True)
             for c, vs in (("a", (0.4, 0.6)), ("b", (0.9, 1.3))) for s, v in enumerate(vs)]  # fmt: skip
    rows += [dict(model="g", condition="a", seed=s, tasks=1.0 + s) for s in (0, 1)]
    rows += [dict(model="g", condition="b", seed=s, tasks=0.0) for s in (0, 1)]
    rows += [dict(model="k", condition=c, seed=s, tasks=v)
             for c, vs in (("a", (0.4, 0.6)), ("b", (0.7, 0.9))) for s, v in enumerate(vs)]  # fmt: skip
    runs = pd.DataFrame(rows).assign(scripted=lambda f: f["scripted"].fillna(False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a zero mean, no mean of nothing
        out = stats.pct_change(runs, "a", "b")
        missing = stats.pct_change(runs, "a", "nope").set_index("model").loc["h"]
    assert list(out.columns) == [
        "model", "metric", "a", "b", "paired", "n_a", "n_b", "mean_a", "mean_b",
        "pct_change", "lo", "hi", "scripted",
    ]  # fmt: skip
    out = out.set_index("model")
    assert out.index.tolist() == ["g", "h", "k", "z"] and out["paired"].all()
    assert (
        out.loc["k", "mean_b"] == pytest.approx(0.8)
        and out.loc["k", "lo"] < 60 < out.loc["k", "hi"]
    )
    assert (out["metric"] == "tasks").all() and (out["a"] == "a").all() and (out["b"] == "b").all()
    h = out.loc["h"]  # means below 1 and two pairs still give an interval
    q = sps.t.ppf(0.975, 1)
    se = np.std(np.array([0.9, 1.3]) / 1.1 - np.array([0.4, 0.6]) / 0.5, ddof=1) / math.sqrt(2)
    assert (h["n_a"], h["n_b"], h["mean_a"], h["mean_b"]) == pytest.approx((2, 2, 0.5, 1.1))
    assert h["pct_change"] == pytest.approx(120.0) and h["scripted"]
    expected = [100 * (math.exp(math.log(2.2) + s * q * se) - 1) for s in (-1, 1)]
    assert [h["lo"], h["hi"]] == pytest.approx(expected)
    g = out.loc["g"]  # dropped to zero: -100%, no log-ratio interval
    assert g["pct_change"] == -100.0 and _nan(g["lo"]) and _nan(g["hi"]) and not g["scripted"]
    assert _nan(out.loc["z", "pct_change"]) and _nan(out.loc["z", "lo"])
    # Without a seed column, or with seeds that never pair: unpaired, two runs per cell.
    for frame in (
        runs.drop(columns="seed"),
        runs.assign(seed=np.where(runs.condition == "a", 0, 9)),
    ):
        un = stats.pct_change(frame, "a", "b").set_index("model").loc["h"]
        se = math.sqrt(
            np.var([0.4, 0.6], ddof=1) / 2 / 0.25 + np.var([0.9, 1.3], ddof=1) / 2 / 1.21
        )
        expected = [100 * (math.exp(math.log(2.2) + s * q * se) - 1) for s in (-1, 1)]
        assert not un["paired"] and [un["lo"], un["hi"]] == pytest.approx(expected)
    assert missing["n_b"] == 0 and _nan(missing["mean_b"]) and _nan(missing["pct_change"])
    assert not missing["paired"] and missing["n_a"] == 2


def test_count_model_contract(capsys):
    runs = pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 4,
            "condition": ["x", "y"] * 4,
            "seed": [0, 0, 1, 1] * 2,
            "tasks": [10, 14, 12, 13, 30, 41, 36, 33],
            "scripted": True,
            "other": [1.0, np.nan] + [2.0] * 6,  # a missing value the formula does not use
        }
    )
    fit = stats.count_model(runs)  # the default formula: model × condition
    assert list(fit.columns) == [
        "term", "estimate", "se", "df", "t", "p", "rate_ratio", "rr_lo", "rr_hi",
        "n_clusters", "not_estimable", "scripted",
    ]  # fmt: skip
    assert fit["term"].tolist() == [
        "Intercept", "C(model)[T.b]", "C(condition)[T.y]", "C(model)[T.b]:C(condition)[T.y]",
    ]  # fmt: skip
    assert fit["scripted"].tolist() == [True] * 4 and fit.attrs == {
        "family": "poisson",
        "formula": "tasks ~ C(model) * C(condition)",
        "cov_type": "cluster (CR2, Bell-McCaffrey df)",
        "cluster": "seed",
        "n_obs": 8,
        "alpha": None,
    }
    assert fit["df"].to_numpy() == pytest.approx(1) and (fit["n_clusters"] == 2).all()
    # Model b's two seeds both sit 2.75x above model a's: the robust variance of that term is
    # exactly 0 (a kernel computes +-1e-17). Said, never a silent NaN or a noise-sized se.
    flat = fit.set_index("term").loc["C(model)[T.b]"]
    assert flat["not_estimable"].startswith("zero robust variance: 2 clusters")
    assert _nan(flat["se"]) and _nan(flat["p"]) and _nan(flat["rr_lo"])
    est = fit[fit["not_estimable"] == ""]
    assert len(est) == 3
    assert est["t"].to_numpy() == pytest.approx((est["estimate"] / est["se"]).to_numpy())
    assert est["p"].to_numpy() == pytest.approx(2 * sps.t.sf(np.abs(est["t"]), 1))
    assert fit["rate_ratio"].iloc[0] == pytest.approx(11.0)
    q = sps.t.ppf(0.975, 1)
    assert est["rr_lo"].to_numpy() == pytest.approx(np.exp(est["estimate"] - q * est["se"]))
    nospace = stats.count_model(
        runs.assign(tasks=runs.tasks.where(runs.index != 0)), "tasks~C(model)"
    )
    assert nospace.attrs["n_obs"] == 7
    assert "scripted" not in stats.count_model(runs.drop(columns="scripted"), "tasks ~ C(model)")
    with pytest.raises(KeyError, match="cluster column 'run_id'"):
        stats.count_model(runs, "tasks ~ C(model)", cluster="run_id")
    covariate = stats.count_model(runs.assign(x=np.arange(8.0)), "tasks ~ x")
    assert covariate["df"].between(1, 2).all(), "two clusters: Bell-McCaffrey's df near 1"
    naive = stats.count_model(runs, "tasks ~ C(model)", cluster=None)
    assert (naive["df"] == 6).all() and naive.attrs["cov_type"] == "nonrobust"
    assert naive.attrs["cluster"] is None and naive["n_clusters"].isna().all()
    nb = stats.count_model(runs.assign(tasks=runs.tasks * 3), "tasks ~ C(model)", "negbin")
    assert nb.attrs["family"] == "negbin" and nb.attrs["alpha"] > 0
    assert nb["term"].tolist() == ["Intercept", "C(model)[T.b]"]
    nb_naive = stats.count_model(
        runs.assign(tasks=runs.tasks * 3), "tasks ~ C(model)", "negbin", None
    )
    assert (nb_naive["df"] == 5).all(), "N - K, alpha counted among the parameters"
    assert capsys.readouterr().out == "", "fits are quiet"
    with pytest.raises(ValueError, match="family must be 'poisson' or 'negbin', not 'x'"):
        stats.count_model(runs, family="x")


def test_cell_rates_and_rate_ratios_contract():
    runs = pd.DataFrame(
        {
            "model": ["b", "b", "a", "a", "c", "c", "c"],
            "condition": "x",
            "run_id": list("pqrstuv"),
            "seed": [0, 1, 0, 1, 0, 1, 2],
            "tasks": [20, 30, 10, 14, 5, 9, 4],
            "scripted": [False, False, False, np.nan, True, True, True],
            "cost": [np.nan, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # unused, with a missing value
        }
    )
    rates = stats.cell_rates(runs, by=["model", "condition"])
    assert list(rates.columns) == [
        "model", "condition", "metric", "n", "rate", "rate_lo", "rate_hi", "df", "t_lo",
        "t_hi", "not_estimable", "scripted",
    ]  # fmt: skip
    assert rates["model"].tolist() == ["a", "b", "c"] and rates["n"].tolist() == [2, 3 - 1, 3]
    assert rates["rate"].tolist() == [12.0, 25.0, 6.0], "the cell means, exactly"
    assert (rates["not_estimable"] == "").all()
    assert rates["df"].to_numpy() == pytest.approx([1, 1, 2])
    assert rates["scripted"].tolist() == [False, False, True]
    assert "scripted" not in stats.cell_rates(runs.drop(columns="scripted"))
    ratios = stats.rate_ratios(runs, by=["model", "condition"], reference="b | x", cluster="run_id")
    assert list(ratios.columns) == [
        "model", "condition", "reference", "n", "n_reference", "rate", "reference_rate",
        "rate_ratio", "rr_lo", "rr_hi", "df", "p", "p_welch", "not_estimable", "scripted",
    ]  # fmt: skip
    ratios = ratios.set_index("model")
    a = ratios.loc["a"]
    assert (a["condition"], a["reference"], a["n"], a["n_reference"]) == ("x", "b | x", 2, 2)
    assert (a["rate"], a["reference_rate"]) == pytest.approx((12.0, 25.0))
    assert a["rate_ratio"] == 12 / 25, "a ratio of counts, not exp of a fitted log"
    assert (a["rate"], a["reference_rate"]) == (12.0, 25.0)
    ia, ib = 1 / 24, 1 / 50  # 1 / (n · mean): Bell-McCaffrey's df of two cells of 2 runs
    assert a["df"] == pytest.approx((ia + ib) ** 2 / (ia**2 + ib**2)), "between 1 and 2, not 3"
    t = math.log(12 / 25) / (
        (math.log(a["rr_hi"]) - math.log(a["rr_lo"])) / 2 / sps.t.ppf(0.975, a["df"])
    )
    assert a["p"] == pytest.approx(2 * sps.t.sf(abs(t), a["df"]))
    welch = sps.ttest_ind([10, 14], [20, 30], equal_var=False)
    assert a["p_welch"] == pytest.approx(welch.pvalue) and not a["scripted"]
    assert ratios.loc["c", "scripted"] and ratios.loc["c", "df"] > 1
    one = runs[runs.run_id != "q"]  # the reference keeps a single run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lone = stats.rate_ratios(one, reference="b", cluster="run_id").set_index("model")
    assert lone.loc["a", "n_reference"] == 1 and lone.loc["a", "df"] == 0
    assert lone.loc["a", "not_estimable"].startswith("no degrees of freedom")
    assert (
        _nan(lone.loc["a", "p"]) and _nan(lone.loc["a", "rr_lo"]) and _nan(lone.loc["a", "p_welch"])
    )


@pytest.mark.slow
def test_holm_contract():
    out = stats.holm([0.01, 0.04, np.nan], alpha=0.01)
    assert list(out.columns) == ["p", "p_holm", "reject"]
    assert out["p_holm"].iloc[:2].tolist() == pytest.approx([0.02, 0.04])
    assert out["reject"].tolist() == [False, False, False] and out["reject"].dtype == bool
    assert _nan(out["p_holm"].iloc[2]) and out["p"].dtype == float
    assert stats.holm([0.01, 0.04])["reject"].tolist() == [True, True]
    assert stats.holm([0, 1])["p"].dtype == float
    comps = pd.DataFrame({"metric": ["a", "a", np.nan, "b"], "p": [0.02, 0.2, 0.001, 0.5]})
    fam = stats.holm_family(comps, family="metric")
    assert fam["p_holm"].iloc[[0, 1, 3]].tolist() == pytest.approx([0.04, 0.2, 0.5])
    assert _nan(fam["p_holm"].iloc[2]) and fam["reject"].tolist() == [True, False, False, False]
    assert fam["reject"].dtype == bool and list(fam.columns) == ["metric", "p", "p_holm", "reject"]
    strict = stats.holm_family(comps, family="metric", alpha=0.01)
    assert strict["reject"].tolist() == [False] * 4
    assert comps.columns.tolist() == ["metric", "p"], "the input is not modified"


def test_canonical_model_keeps_only_the_last_path_part():
    assert stats.canonical_model("openrouter/google/Gemini-2.5-Pro") == "gemini-2.5-pro"


def test_load_elo_reads_the_primary_flag(tmp_path):
    path = tmp_path / "elo.csv"
    path.write_text("# comment\nmodel,elo,primary\na,1300,yes\nb,1310,1\nc,1320,TRUE\nd,1330,no\n")
    elo = stats.load_elo(path)
    assert elo["model"].tolist() == ["a", "b", "c"] and elo["primary"].all()
    assert list(elo.columns) == ["model", "elo", "primary"] and elo.index.tolist() == [0, 1, 2]
    every = stats.load_elo(path, primary_only=False)
    assert every["primary"].tolist() == [True, True, True, False]


def test_capability_correlation_contract():
    elo = pd.DataFrame(
        {"model": ["a", "b", "c", "d", "d"], "elo": [1300.0, 1350.0, 1320.0, 1400.0, 999.0]}
    )
    runs = pd.DataFrame(
        {
            "model": ["a", "a", "b", "c", "d", "x", "a"],
            "condition": ["baseline"] * 6 + ["policy"],
            "tasks": [10.0, 20.0, 40.0, 25.0, 30.0, 5.0, 1000.0],
            "scripted": [False, np.nan, False, False, False, True, True],
        }
    )
    out = stats.capability_correlation(runs, elo)  # defaults: tasks, baseline only
    assert list(out.columns) == [
        *("method", "statistic", "p", "n", "lo", "hi", "loo_lo", "loo_hi", "metric", "models")
    ]
    assert out["method"].tolist() == ["pearson", "spearman"] and (out["n"] == 4).all()
    x, y = [1300.0, 1350.0, 1320.0, 1400.0], [15.0, 40.0, 25.0, 30.0]
    pr = sps.pearsonr(x, y)
    z, half = math.atanh(pr.statistic), sps.norm.ppf(0.975) / math.sqrt(4 - 3)
    assert out["statistic"].iloc[0] == pytest.approx(pr.statistic)
    assert (out["lo"].iloc[0], out["hi"].iloc[0]) == pytest.approx(
        (math.tanh(z - half), math.tanh(z + half))
    )
    assert out["p"].iloc[1] == pytest.approx(sps.spearmanr(x, y).pvalue)
    assert _nan(out["lo"].iloc[1]) and _nan(out["hi"].iloc[1])
    assert (out["metric"] == "tasks").all() and (out["models"] == "a,b,c,d").all()
    points = out.attrs["points"]
    assert list(points.columns) == ["model", "elo", "value"] and points.index.tolist() == [
        0,
        1,
        2,
        3,
    ]
    assert points["elo"].tolist() == x, "the first Elo row of a model is used"
    assert out.attrs["scripted"] == ["x"] and out.attrs["unmatched"] == ["x"]
    default = stats.capability_correlation(
        cells_of_paper := pd.DataFrame(
            {"model": ["o3", "o3-mini", "gpt-5-mini"], "mean": [1.0, 3.0, 2.0]}
        )
    )
    assert default["statistic"].tolist() == pytest.approx(
        stats.capability_correlation(cells_of_paper, stats.load_elo())["statistic"].tolist()
    )
    assert default["n"].iloc[0] == 3
    three = stats.capability_correlation(runs[runs.model != "d"], elo)
    assert (three["n"] == 3).all() and three["statistic"].notna().all()
    assert three[["lo", "hi"]].isna().all().all(), "no Fisher interval with three models"
    everything = stats.capability_correlation(runs.drop(columns="scripted"), elo, condition=None)
    assert everything.attrs["scripted"] == [] and "x" in everything.attrs["unmatched"]
    assert everything.attrs["points"]["value"].iloc[0] == pytest.approx(1030 / 3)


def test_runs_needed_contract():
    out = stats.runs_needed(sd=10, difference=5, power=0.9, alpha=0.01, paired=True)
    assert list(out.columns) == [
        "sd", "difference", "effect_size", "power", "alpha", "paired", "n_exact", "n",
    ]  # fmt: skip
    row = out.iloc[0]
    assert (row["sd"], row["difference"], row["effect_size"]) == (10, 5, 0.5)
    assert (row["power"], row["alpha"], row["paired"]) == (0.9, 0.01, True)
    assert (
        _power_one_sample(0.5, row["n"], 0.01) >= 0.9 > _power_one_sample(0.5, row["n"] - 1, 0.01)
    )
    assert row["n"] == math.ceil(row["n_exact"]) and row["n_exact"] > row["n"] - 1
    assert stats.runs_needed(sd=2, difference=-1).iloc[0]["effect_size"] == 0.5
    assert stats.runs_needed(sd=1, difference=1).iloc[0]["n"] > 2
    with pytest.raises(ValueError, match="^sd must be positive and difference non-zero$"):
        stats.runs_needed(sd=1, difference=0)


def test_capability_r_comes_with_its_interval_and_leave_one_out_range():
    """Issue 21: r = 0.20 over the paper's 8 models has a 95% CI of -0.59 to 0.79 and a
    leave-one-out range of -0.30 to 0.43; both stand beside r."""
    table = paper.load_paper()
    pts = table[(table.metric == "tasks") & (table.condition == "baseline")]
    pts = pts[pts.model != "perfect_play"].rename(columns={"value": "tasks"})
    r = stats.capability_correlation(pts).set_index("method").loc["pearson"]
    assert (round(r.lo, 2), round(r.hi, 2)) == (-0.59, 0.79)
    assert (round(r.loo_lo, 2), round(r.loo_hi, 2)) == (-0.30, 0.43)
    assert r.loo_lo < r.statistic < r.loo_hi


def test_fig3_labels_the_papers_r_apart_from_what_its_points_give():
    import matplotlib

    matplotlib.use("Agg")
    from coop_utils.analysis import plots

    runs = pd.DataFrame(
        {"model": ["local:x"], "condition": ["baseline"], "tasks": [3.0], "scripted": [True]}
    )
    note = plots.capability_scatter(runs, paper=paper.load_paper()).axes[0].texts[0].get_text()
    assert "paper's points at this snapshot (n=8): r = 0.20 (95% CI -0.59 to 0.79" in note
    assert "r = 0.16 (p = 0.71), ρ = 0.08 (p = 0.84), at its own Elo snapshot" in note


def test_the_plan_is_a_range_from_the_larger_spread_and_paired():
    lo, hi = stats.sd_bounds(1.0)
    assert (round(lo, 2), round(hi, 2)) == (0.6, 2.87), "an sd from 5 runs: 0.6 to 2.9 times"
    plan = stats.paper_plan(paper.load_paper()).set_index("model")
    assert len(plan) == len(PAPER_MODELS)
    assert plan.loc["claude-sonnet-4", "sd_from"] == "Table 5", "21.9 there beside 9.6"
    assert plan.loc["o3-mini", "sd_from"] == "Table 1", "17.3 there beside 6.5"
    assert (plan["runs_for_10pct_upper"] > plan["runs_for_10pct"]).all()
    sd = plan.loc["o3-mini", "paper_sd"]
    paired = stats.runs_needed(2**0.5 * sd, 0.1 * 102.8, paired=True)["n"].iloc[0]
    assert plan.loc["o3-mini", "runs_for_10pct"] == paired


def test_cr2_with_bell_mccaffrey_df_matches_the_two_sample_closed_forms():
    """Checked against published closed forms (Imbens and Kolesár 2016, Bell and McCaffrey
    2002): with one observation per cluster in a two-group linear model, the CR2 variance of
    the difference is Welch's s1²/n1 + s2²/n2, and the Bell-McCaffrey df (homoskedastic
    working model) is (1/n1 + 1/n2)² / (1/(n1²(n1−1)) + 1/(n2²(n2−1)))."""
    import statsmodels.api as sm

    from coop_utils.analysis.stats.counts import cr2

    rng = np.random.default_rng(1)
    for n1, n2 in ((3, 3), (4, 6), (2, 9)):
        a, b = rng.normal(10, 2, n1), rng.normal(12, 5, n2)
        exog = np.column_stack([np.ones(n1 + n2), np.r_[np.zeros(n1), np.ones(n2)]])
        fit = sm.GLM(np.r_[a, b], exog, family=sm.families.Gaussian()).fit()
        var, df = cr2(fit, np.arange(n1 + n2))
        assert var[1] == pytest.approx(a.var(ddof=1) / n1 + b.var(ddof=1) / n2, rel=1e-10)
        bm = (1 / n1 + 1 / n2) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n2**2 * (n2 - 1)))
        assert df[1] == pytest.approx(bm, rel=1e-10)


def test_identical_cells_say_identical_not_tested_instead_of_a_p():
    runs = pd.DataFrame(
        [
            dict(model=m, seed=s, tasks=t)
            for m, ts in (("a", [10, 14, 12]), ("b", [10, 14, 12]), ("c", [20, 22, 25]))
            for s, t in enumerate(ts)
        ]
    )
    ratios = stats.rate_ratios(runs, reference="a").set_index("model")
    b = ratios.loc["b"]
    assert b["rate_ratio"] == 1 and math.isnan(b["p"]) and math.isnan(b["rr_lo"])
    assert b["not_estimable"].startswith("identical, not tested")
    assert ratios.loc["c", "not_estimable"] == "" and ratios.loc["c", "p"] < 0.05
