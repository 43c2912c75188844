"""Each statistic against a reference computed independently here (scipy, a hand
calculation, a simulation with a fixed seed or a textbook value), plus the paper
reference table and the Elo table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from coop_utils import paper, stats
from coop_utils.config import PAPER_MODELS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "paper_results.csv"


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
    out = stats.pct_change(runs, "baseline", "policy").iloc[0]
    ma = np.mean([30.0, 35.0, 28.0, 40.0, 33.0])
    mb = np.mean([55.0, 61.0, 50.0, 70.0, 52.0, 80.0])
    assert out["pct_change"] == pytest.approx(100 * (mb - ma) / ma)
    assert out["lo"] < out["pct_change"] < out["hi"]
    zero = runs.assign(tasks=np.where(runs.condition == "baseline", 0.0, runs.tasks))
    assert math.isnan(stats.pct_change(zero, "baseline", "policy").iloc[0]["pct_change"])


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


def test_poisson_glm_recovers_a_known_rate_ratio():
    rng = np.random.default_rng(12345)
    n = 400
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(2 * n)],
            "model": "m",
            "condition": ["baseline"] * n + ["policy"] * n,
            "tasks": np.concatenate([rng.poisson(20.0, n), rng.poisson(30.0, n)]),
        }
    )
    fit = stats.count_model(runs, "tasks ~ C(condition)").set_index("term")
    rr = fit.loc["C(condition)[T.policy]"]
    assert rr["rate_ratio"] == pytest.approx(1.5, abs=0.04)
    assert rr["rr_lo"] < 1.5 < rr["rr_hi"]
    assert fit.loc["Intercept", "rate_ratio"] == pytest.approx(20.0, rel=0.04)
    assert fit.attrs["cov_type"] == "cluster" and fit.attrs["n_obs"] == 2 * n
    nb = stats.count_model(runs, "tasks ~ C(condition)", family="negbin").set_index("term")
    assert nb.loc["C(condition)[T.policy]", "rate_ratio"] == pytest.approx(1.5, abs=0.04)
    with pytest.raises(ValueError):
        stats.count_model(runs, family="gaussian")


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
    assert paper.PAPER_PATH.exists()
    if SHARED.exists():
        assert paper.PAPER_PATH.read_bytes() == SHARED.read_bytes()
    p = paper.load_paper()
    assert list(p.columns[:6]) == ["model", "condition", "metric", "value", "ci95", "source"]
    assert paper.paper_value("o3", "baseline", "tasks", p) == 34.4
    assert paper.paper_value("google/gemini-2.5-pro", "auto_request", "pct_optimal", p) == 99.1
    assert paper.paper_value("perfect", "baseline", "tasks", p) == 204.0
    assert math.isnan(paper.paper_value("o3", "policy", "tasks", p))


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
