"""Paper tables, the validity analysis, transcripts and their figures, on real scripted runs."""

from __future__ import annotations

import importlib

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from coop_utils.agents import scripted_agent  # noqa: E402
from coop_utils.analysis import plots  # noqa: E402
from coop_utils.analysis import tables as T  # noqa: E402
from coop_utils.analysis import validity as V  # noqa: E402
from coop_utils.analysis.load import load_runs, load_thoughts  # noqa: E402
from coop_utils.analysis.transcript import transcript  # noqa: E402
from coop_utils.game.config import CONDITIONS, EnvConfig  # noqa: E402
from coop_utils.run import experiments as ex  # noqa: E402
from coop_utils.run.grid import GridSpec, run_grid  # noqa: E402
from coop_utils.run.runner import run_episode  # noqa: E402

POPS = ["cooperator", "withholder", "bungler"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """In-process scripted runs of every condition, 2 seeds, the paper's 20 rounds (seconds)."""
    out = tmp_path_factory.mktemp("runs")
    spec = GridSpec(
        name="t",
        models=[*POPS, "perfect"],
        conditions=list(CONDITIONS),
        runs=2,
    )
    assert run_grid(spec, out, progress=False).ok
    return out


@pytest.mark.slow
def test_table1_puts_paper_values_beside_ours_and_never_on_scripted_rows(grid):
    t1 = T.table1(load_runs(grid))
    ours = t1[t1["n"] > 0]
    assert set(ours["model"]) == {*POPS, "perfect"}
    assert ours.loc[ours.model == "cooperator", "paper_tasks"].isna().all()
    assert ours.loc[ours.model == "perfect", "paper_tasks"].iloc[0] == 204.0
    paper_only = t1[t1["n"] == 0]
    assert len(paper_only) == 8 and paper_only["tasks"].isna().all()
    assert paper_only.set_index("model").loc["o3", "paper_tasks"] == 34.4


@pytest.mark.slow
def test_table2_diagnoses_the_presets_as_designed(grid):
    t2 = T.table2(load_runs(grid)).set_index("model")
    assert t2.loc["withholder", "diagnosis"] == "cooperation-limited"
    assert t2.loc["bungler", "diagnosis"] == "competence-limited"
    assert t2.loc["cooperator", "diagnosis"] == "cooperative & competent"
    ours = t2[t2["cooperation"].notna()]
    assert ours["paper_cooperation"].isna().all(), "scripted rows get no paper value"
    assert (ours["paper_diagnosis"] == "").all() and (ours["paper_quadrant"] == "").all()
    assert T.quadrant(20, 90) == "cooperation-limited" and T.quadrant(np.nan, 1) == ""


@pytest.mark.slow
def test_table2_and_coop_evaluate_share_one_diagnosis_rule_with_uncertain(grid):
    from coop_utils.analysis.quadrants import Rate
    from coop_utils.run.evaluate.diagnosis import diagnose

    runs = load_runs(grid)
    rng = np.random.default_rng(0)  # spread the withholder's cooperation runs around 50%
    coop = (runs["model"] == "withholder") & (runs["condition"] == "auto_request")
    runs.loc[coop, "pct_optimal"] = [20.0, 80.0][: coop.sum()] + rng.normal(0, 1, coop.sum())
    t2 = T.table2(runs, paper_only=False).set_index("model")
    assert t2.loc["withholder", "uncertain"] == "cooperation", "an interval across the line"
    assert t2.loc["perfect", "uncertain"] == "" and t2.loc["perfect", "competence_n"] == 2
    for model, r in t2.iterrows():
        d = diagnose(
            *(
                Rate(k, r[k], r[f"{k}_ci95"], int(r[f"{k}_n"]))
                for k in ("cooperation", "competence")
            )
        )
        assert (d.quadrant, "+".join(d.uncertain)) == (r["diagnosis"], r["uncertain"]), model


@pytest.mark.slow
def test_table2_shows_the_papers_words_apart_from_our_quadrant_of_its_rates(grid):
    t2 = T.table2(load_runs(grid)).set_index("model")
    paper_rows = t2[t2["cooperation"].isna()]
    assert len(paper_rows) == 8
    r1 = paper_rows.loc["deepseek-r1"]
    assert (r1["paper_cooperation"], r1["paper_competence"]) == (70.5, 75.5)
    assert r1["paper_quadrant"] == "cooperative & competent", "our 50% rule on its rates"
    assert r1["paper_diagnosis"] == "moderate on both", "the paper's words, kept apart"
    assert "a reviewer's reading" in r1["paper_diagnosis_source"]
    assert paper_rows.loc["o3", "paper_quadrant"] == "cooperation-limited"
    assert paper_rows.loc["o3", "paper_diagnosis"] == ""
    assert len(T.table2(load_runs(grid), paper_only=False)) == len(t2) - 8


@pytest.mark.slow
def test_table3_finds_the_designed_effects_and_no_others(grid):
    t3 = T.table3(load_runs(grid)).set_index(["model", "condition"])
    assert t3.loc[("withholder", "incentive"), "pct_change"] > 100
    assert t3.loc[("bungler", "policy"), "pct_change"] > 100
    same = t3.loc[("cooperator", "policy")]
    assert same["pct_change"] == 0 and same["lo"] == same["hi"] == 0 and same["identical"]
    assert np.isnan(same["p"]) and not same["reject"]
    assert not t3.loc[("withholder", "incentive"), "identical"]
    assert {"p_holm", "reject", "paper_pct_change"} <= set(t3.columns)


@pytest.mark.slow
def test_table5_thoughts_and_ablations(grid, tmp_path, monkeypatch):
    runs = load_runs(grid)
    t5 = T.table5(runs)
    assert set(t5["model"]) == {*POPS, "perfect"} and "baseline_tasks" in t5
    thoughts = load_thoughts(grid)
    module = importlib.import_module("coop_utils.analysis.thoughts.classify")
    read = []
    monkeypatch.setattr(
        module, "classify", lambda text, f=module.classify: read.append(1) or f(text)
    )
    run_level, pooled = T.thought_tables(thoughts)
    assert len(read) == len(thoughts), "each thought classified once for both tables"
    w = run_level[(run_level.model == "withholder") & (run_level.condition == "baseline")]
    assert w["hard_defection_pct"].iloc[0] > 50
    said_did = T.thoughts_beside_actions(load_thoughts(grid), runs).set_index(
        ["model", "condition"]
    )
    b = runs[(runs.model == "withholder") & (runs.condition == "baseline")]
    row = said_did.loc[("withholder", "baseline")]
    assert row["hard_defection_pct"] == w["hard_defection_pct"].iloc[0]
    assert row["response_rate"] == pytest.approx(b["response_rate"].mean())
    answered = 100 * (b["truthful_sends"] + b["manipulated_values"]) / b["requests"]
    assert row["answered_pct"] == pytest.approx(answered.mean()) and row["scripted"]
    ab = T.ablation_table(runs.assign(setting=np.where(runs.seed == 0, "default", "rounds_10")))
    assert list(dict.fromkeys(ab["setting"])) == ["default", "rounds_10"]
    path = T.save_table(ab, "ablations", tmp_path)
    assert pd.read_csv(path).shape == ab.shape
    fig = plots.ablation_effects(ab)
    assert "scripted" in fig.get_suptitle()
    assert "0.0017" in T.show(pd.DataFrame({"p": [0.00171], "gini": [0.01234]}), 1)
    assert "-" not in T.show(pd.DataFrame({"beta": [-8.3e-17], "gini": [-1e-17]}), 3)


def test_validity_recovers_known_knobs(tmp_path):
    specs = V.knob_specs(p_answer=(0.0, 0.5, 1.0), p_request=(0.5, 1.0), p_submit=(1.0,))
    spec = ex.validity_grid(specs, runs=2, rounds=8)
    assert run_grid(spec, tmp_path, progress=False).ok
    knobs = V.knob_table(load_runs(tmp_path))
    assert list(knobs["p_answer"]).count(0.5) == 2
    rec = V.recovery(knobs).set_index(["rate", "knob"])
    assert rec.loc[("cooperation", "p_answer"), "r"] > 0.9, "cooperation follows p_answer"
    assert abs(rec.loc[("competence", "p_answer"), "beta"]) < 0.05, "competence ignores it"
    assert rec.loc[("competence", "p_request"), "claimed"]
    fig = plots.decomposition_validity(knobs)
    assert len(fig.axes) == 2


@pytest.mark.slow
def test_transcript_reads_a_run(grid):
    folder = next(grid.rglob("withholder/baseline/seed0"))
    text = transcript(folder, rounds=[2])
    assert text.startswith("── round 2") and "round 1" not in text
    assert "[withholder]" in text and "thinks:" in text and "messages agent_" in text


def test_transcript_reads_an_episode_in_memory():
    """The same reading of one short in-process episode (the fast loop's, without the grid)."""
    agents = [scripted_agent("withholder", k) for k in range(10)]
    episode = run_episode(EnvConfig(rounds=2), agents, 0, run_id="t")
    text = transcript(episode.events, rounds=[2])
    assert text.startswith("── round 2") and "round 1" not in text
    assert "[withholder]" in text and "thinks:" in text and "end of round 2" in text


def test_outputs_cannot_move_with_float_noise(tmp_path):
    """A value a kernel computes a hair either side of a rounding boundary, or as noise
    around zero, prints and saves the same: what keeps `coop reproduce` byte-identical."""
    from coop_utils.analysis.prose import interval, num, p_value
    from coop_utils.analysis.rounding import snap

    below, above = np.nextafter(0.2125, 0), np.nextafter(0.2125, 1)
    assert snap(below) == snap(above) == snap(0.2125)
    assert num(below, 3) == num(above, 3) and interval(below, above, 3).count(num(above, 3)) == 2
    assert snap(1.4e-16) == snap(-8e-17) == 0.0 and str(snap(-1e-17)) == "0.0"
    assert p_value(1.7e-18) == "1.7e-18", "a tiny p-value is a strong test, not noise"
    noisy = pd.DataFrame(
        {"r": [3.0e-17, below], "p": [1.7e-18, 1.0], "tasks": [1, 2], "label": ["x", "y"]}
    )
    clean = noisy.assign(r=[-8.3e-17, above])
    paths = [T.save_table(t, f"t{i}", tmp_path) for i, t in enumerate((noisy, clean))]
    texts = [path.read_text() for path in paths]
    assert texts[0] == texts[1] and texts[0].splitlines()[1] == "0,1.7e-18,1,x"
    assert T.show(noisy, 3) == T.show(clean, 3)
    assert noisy["r"].iloc[0] == 3.0e-17, "the caller's frame is not changed"
