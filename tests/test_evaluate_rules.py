"""The pure rules of ``coop evaluate``: stopping, diagnosis, expected runs, leaderboard."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from coop_utils.analysis.quadrants import Rate
from coop_utils.game.config import INTERVENTIONS
from coop_utils.run.evaluate import leaderboard as L
from coop_utils.run.evaluate.diagnosis import diagnose
from coop_utils.run.evaluate.estimate import expected_interventions, paper_spread
from coop_utils.run.evaluate.stopping import (
    Played,
    StopRule,
    adapt,
    cell_state,
    runs_for_target,
    runs_wanted,
    sd_from_ci95,
)

# ---- stopping rule ------------------------------------------------------------------------


class Population:
    """Simulated cells: % of optimal drawn per seed (seeded), each run costing ``cost``; the
    budget is spent run by run, as the grid's cap does, and play stops when it is reached."""

    def __init__(self, spreads: dict[str, float], cost: float = 1.0, budget: float = math.inf):
        rng = np.random.default_rng(7)
        self.draws = {c: 50 + sd * rng.standard_normal(100) for c, sd in spreads.items()}
        self.done = {c: 0 for c in spreads}
        self.cost, self.budget, self.spent = cost, budget, 0.0

    def __call__(self, wanted: dict[str, int]) -> Played:
        stopped = None
        for cell, n in wanted.items():
            while self.done[cell] < n:
                if self.spent + self.cost > self.budget:
                    stopped = f"budget: ${self.spent:g} of ${self.budget:g} spent"
                    break
                self.spent += self.cost
                self.done[cell] += 1
        values = {c: list(self.draws[c][:k]) for c, k in self.done.items()}
        return Played(values, stopped)


def test_small_spread_stops_at_the_minimum_and_large_spread_runs_more():
    rule = StopRule(target=5.0, min_runs=5, batch=2, max_runs=80)
    play = Population({"tight": 1.0, "wide": 12.0})
    out = adapt(["tight", "wide"], play, rule)
    tight, wide = out.states["tight"], out.states["wide"]
    assert out.stopped is None
    assert tight.status == "settled" and tight.runs == 5 and tight.half_width <= 5
    assert wide.status == "settled" and wide.half_width <= 5
    assert 25 <= wide.runs <= 80, wide  # (2.776·12/5)² ≈ 44 from the first stage's sd
    # each batch asked only the open cell for more, at most `batch` at a time
    assert all("tight" not in batch for batch in out.requested[1:])
    steps = [b["wide"] for b in out.requested]
    assert steps[0] == 5 and all(0 < y - x <= 2 for x, y in zip(steps, steps[1:]))
    assert steps[-1] == wide.runs


def test_the_two_stage_interval_is_fixed_by_the_first_stage():
    """The runs needed and the half-width come from the first min_runs runs' sd alone."""
    rule = StopRule(target=5.0, min_runs=5, batch=2, max_runs=50)
    first = [40.0, 60.0, 50.0, 45.0, 55.0]  # sd 7.9: needs ⌈(2.776·7.9/5)²⌉ = 20 runs
    state = cell_state(first + [50.0] * 14, rule)
    assert state.status == "open" and runs_wanted(first + [50.0] * 14, rule) == 20
    done = cell_state(first + [50.0] * 15, rule)
    assert done.status == "settled" and done.runs == 20
    assert done.half_width == pytest.approx(2.776445 * np.std(first, ddof=1) / 20**0.5, 1e-5)


def test_the_run_cap_stops_a_wide_cell_and_says_so():
    rule = StopRule(target=5.0, min_runs=5, batch=2, max_runs=10)
    out = adapt(["wide"], Population({"wide": 25.0}), rule)
    assert out.states["wide"].status == "capped" and out.states["wide"].runs == 10
    assert out.states["wide"].half_width > 5


def test_the_budget_stops_both_populations():
    """Each population alone, with a budget too small for it: both stop where the money
    ends, the tight one before its minimum, the wide one before its target."""
    rule = StopRule(target=5.0, min_runs=5, batch=2, max_runs=60)
    tight = adapt(["tight"], Population({"tight": 1.0}, budget=3.0), rule)
    wide = adapt(["wide"], Population({"wide": 25.0}, budget=12.0), rule)
    for out, runs in ((tight, 3), (wide, 12)):
        (state,) = out.states.values()
        assert out.stopped.startswith("budget") and state.status == "stopped"
        assert state.runs == runs
    assert wide.states["wide"].half_width > 5
    # together under one budget: the tight cell settles first, the wide one is cut short
    play = Population({"tight": 1.0, "wide": 12.0}, budget=16.0)
    out = adapt(["tight", "wide"], play, rule)
    assert play.spent == 16.0 and out.stopped.startswith("budget")
    assert {c: (s.runs, s.status) for c, s in out.states.items()} == {
        "tight": (5, "settled"),
        "wide": (11, "stopped"),
    }


def test_degraded_runs_count_against_the_cap_not_the_interval():
    rule = StopRule(target=5.0, min_runs=3, batch=2, max_runs=6)
    state = cell_state([50.0, None, 51.0, None, 50.5], rule)
    assert (state.runs, state.n) == (5, 3)
    assert state.status == "settled" and state.mean == pytest.approx(50.5)
    assert runs_wanted([50.0, None, None, None, None, None], rule) == 6
    assert cell_state([50.0, None, None, None, None, None], rule).status == "capped"


def test_a_batch_that_finishes_nothing_ends_the_phase():
    rule = StopRule()
    out = adapt(["a"], lambda wanted: Played({"a": []}), rule)
    assert out.batches == 1 and out.stopped.startswith("no progress")
    assert out.states["a"].status == "stopped"


def test_runs_already_made_are_used_not_asked_again():
    """A rerun with a tighter target: play reports every finished run, the rule goes on
    from there (it never asks for fewer runs than exist)."""
    made = [50.0, 58.0, 44.0, 53.0, 47.0, 55.0, 45.0]
    asked = []

    def play(wanted):
        asked.append(dict(wanted))
        n = max(len(made), *wanted.values())
        return Played({"a": (made + [50.0] * n)[:n]})

    out = adapt(["a"], play, StopRule(target=3.0, min_runs=5, max_runs=40))
    assert asked[0] == {"a": 5} and asked[1] == {"a": 9}, "continues after the 7 runs on disk"
    assert out.states["a"].status == "settled" and out.states["a"].runs >= 9


def test_runs_for_target_from_the_papers_own_spread():
    rule = StopRule(target=5.0, min_runs=5, max_runs=10)
    assert sd_from_ci95(17.3) == pytest.approx(17.3 * 5**0.5 / 2.776445, abs=1e-4)  # o3-mini
    o3_mini = paper_spread("o3-mini")
    assert o3_mini.sd == pytest.approx(100 * 13.9329 / 204, abs=0.001)
    assert runs_for_target(o3_mini.sd, rule) == 15  # ⌈(2.776 · 6.83 / 5)²⌉, the cap then cuts it
    assert runs_for_target(paper_spread("o3").sd, rule) == 5
    assert runs_for_target(o3_mini.sd, StopRule(target=2.0, max_runs=10)) == 90
    assert runs_for_target(0.0, rule) == 5


def test_a_model_the_paper_did_not_run_and_a_scripted_namesake_get_the_median_spread():
    unknown, scripted = paper_spread("openai:gpt-4o"), paper_spread("o3", scripted=True)
    assert unknown.sd == scripted.sd and "median" in unknown.source
    assert 0.6 < unknown.sd < 6.9 and unknown.sd != paper_spread("o3").sd


def test_stop_rule_refuses_nonsense():
    for bad in ({"target": 0}, {"min_runs": 1}, {"min_runs": 5, "max_runs": 4}, {"batch": 0}):
        with pytest.raises(ValueError):
            StopRule(**bad)


# ---- diagnosis ------------------------------------------------------------------------------


def rates(coop, coop_ci, comp, comp_ci, n=5):
    return Rate("cooperation", coop, coop_ci, n), Rate("competence", comp, comp_ci, n)


@pytest.mark.parametrize(
    "numbers, quadrant, interventions, uncertain",
    [
        ((10, 3, 95, 2), "cooperation-limited", ("incentive",), ()),
        ((85, 4, 20, 5), "competence-limited", ("policy",), ()),
        ((30, 5, 14, 3), "both limited", ("policy", "incentive"), ()),
        ((95, 2, 90, 3), "cooperative & competent", (), ()),
        # the cooperation interval straddles the line: its fix is tried as well
        ((56, 11, 15, 2), "competence-limited", ("policy", "incentive"), ("cooperation",)),
        ((45, 8, 90, 2), "cooperation-limited", ("incentive",), ("cooperation",)),
        ((70, 3, 52, 4), "cooperative & competent", ("policy",), ("competence",)),
    ],
)
def test_diagnosis_rule(numbers, quadrant, interventions, uncertain):
    d = diagnose(*rates(*numbers))
    assert (d.quadrant, d.interventions, d.uncertain) == (quadrant, interventions, uncertain)


def test_diagnosis_edge_cases():
    every = diagnose(*rates(10, 3, 95, 2), all_interventions=True).interventions
    assert every == INTERVENTIONS
    d = diagnose(Rate("cooperation", math.nan, math.nan, 0), Rate("competence", 90, 2, 5))
    assert d.quadrant == "undetermined" and d.interventions == ()
    one_run = diagnose(*rates(10, math.nan, 95, math.nan, n=1))
    assert one_run.uncertain == ("cooperation", "competence")
    # the threshold is the rule's, not a constant: at 20% a 30% rate is not limited
    assert diagnose(*rates(30, 3, 95, 2), threshold=20).interventions == ()
    text = diagnose(*rates(56, 11, 15, 2)).sentence("m")
    assert "m is competence-limited" in text and "straddles 50%" in text


def test_expected_interventions_follow_the_papers_rates_or_count_both():
    assert expected_interventions("o3", False, False, 50)[0] == ("incentive",)
    assert expected_interventions("gemini-2.5-flash", False, False, 50)[0] == ("policy",)
    assert expected_interventions("gpt-4.1-mini", False, False, 50)[0] == ("policy", "incentive")
    assert expected_interventions("openai:gpt-4o", False, False, 50)[0] == ("policy", "incentive")
    assert expected_interventions("o3", True, False, 50)[0] == ("policy", "incentive")
    assert expected_interventions("o3", False, True, 50)[0] == INTERVENTIONS


# ---- leaderboard ----------------------------------------------------------------------------


def summary(model, scripted, protocol="1", baseline=40.0):
    rate = {"mean": 20.0, "ci95": 3.0}
    return {
        "protocol": protocol,
        "setting": "default",
        "code_version": "abc",
        "models": {
            model: {
                "scripted": scripted,
                "diagnosis": "cooperation-limited",
                "uncertain": [],
                "baseline": {"pct_optimal": {"mean": baseline, "ci95": 2.0}},
                "cooperation_rate": rate,
                "competence_rate": {"mean": 90.0, "ci95": 1.0},
                "interventions": {"incentive": {"pct_change": 150.0}},
                "cells": {"baseline": {"runs": 3}, "auto_request": {"runs": 5}},
                "usage": {"cost_usd": 1.5},
            }
        },
    }


@pytest.mark.slow
def test_leaderboard_upserts_and_keeps_the_papers_rows(tmp_path):
    path = tmp_path / "board.csv"
    L.upsert(L.evaluation_rows(summary("my-model", False)), path)
    L.upsert(L.evaluation_rows(summary("my-model", False, baseline=44.0)), path)
    L.upsert(L.evaluation_rows(summary("my-model", False, protocol="2")), path)
    board = L.upsert(L.evaluation_rows(summary("local:withholder", True), {"x": 1}), path)
    again = pd.read_csv(path, dtype={"protocol": str})
    assert len(again) == len(board) == 8 + 3
    paper = again[again["kind"] == "paper"]
    assert sorted(paper["model"]) == sorted(L.paper_rows()["model"])
    assert (paper["protocol"] == "paper").all() and paper["source"].str.contains("paper").all()
    mine = again[again["model"] == "my-model"].set_index("protocol")
    assert mine.loc["1", "baseline_pct"] == 44.0, "the second evaluation replaced the first"
    assert mine.loc["2", "runs"] == 8
    scripted = again[again["model"] == "local:withholder"].iloc[0]
    assert scripted["kind"] == "scripted" and "not model behaviour" in scripted["source"]
    assert math.isnan(scripted["elo"]), "a scripted population has no Elo"
    assert path.with_suffix(".png").stat().st_size > 10_000
    assert list(again["baseline_pct"]) == sorted(again["baseline_pct"], reverse=True)


def test_a_rewrite_changes_no_row_it_did_not_touch(tmp_path):
    """Rows are read back as text: adding a row adds one line, rewriting changes nothing."""
    path = tmp_path / "board.csv"
    L.upsert(L.evaluation_rows(summary("first", False, baseline=41.0)), path)
    before = path.read_text().splitlines()
    L.upsert(L.evaluation_rows(summary("second", False, baseline=7.25)), path)
    after = path.read_text().splitlines()
    assert len(after) == len(before) + 1 and set(before) <= set(after)
    assert [r for r in after if r not in before][0].startswith("second,model,1,")
    written = path.read_bytes()
    L.upsert(L.evaluation_rows(summary("second", False, baseline=7.25)), path)
    assert path.read_bytes() == written, "the same row again: not one byte changes"
    L.upsert(pd.DataFrame(columns=list(L.COLUMNS)), path)
    assert path.read_bytes() == written, "a rebuild: not one byte changes"


def test_a_row_written_elsewhere_keeps_its_text(tmp_path):
    """A row in another number format (by hand, an older version) is never reformatted."""
    path = tmp_path / "board.csv"
    L.upsert(L.evaluation_rows(summary("mine", False)), path)
    lines = path.read_text().splitlines()
    i = next(i for i, r in enumerate(lines) if r.startswith("mine,"))
    lines[i] = lines[i].replace(",40,", ",40.00,").replace(",1.5,", ",1.50,")
    path.write_text("\n".join(lines) + "\n")
    L.upsert(L.evaluation_rows(summary("other", True, baseline=3.0)), path)
    assert lines[i] in path.read_text().splitlines()


def test_the_published_leaderboard_is_current(tmp_path):
    """data/leaderboard.csv is what a rebuild writes, so rewriting it changes no byte."""
    copy = tmp_path / "leaderboard.csv"
    shutil.copy(L.DEFAULT_PATH, copy)
    L.upsert(pd.DataFrame(columns=list(L.COLUMNS)), copy)
    assert copy.read_bytes() == L.DEFAULT_PATH.read_bytes(), (
        "data/leaderboard.csv is stale: python -m coop_utils.run.evaluate.leaderboard"
    )
    assert set(L.read()["kind"]) <= {"paper", "model"}, "a scripted row is never published"


def test_every_intervention_reaches_the_leaderboard(monkeypatch, tmp_path):
    """The columns are read from the interventions list: a new one gets its own."""
    import importlib

    from coop_utils.game import config

    monkeypatch.setattr(config, "INTERVENTIONS", (*config.INTERVENTIONS, "toy"))
    try:
        importlib.reload(L)
        wanted = {"toy_pct_change", "toy_pct_change_lo", "toy_pct_change_hi", "toy_p_holm"}
        assert wanted <= set(L.COLUMNS)
        s = summary("my-model", False)
        s["models"]["my-model"]["interventions"]["toy"] = {"pct_change": 12.5, "p_holm": 0.01}
        L.upsert(L.evaluation_rows(s), tmp_path / "board.csv")
        row = pd.read_csv(tmp_path / "board.csv").set_index("model").loc["my-model"]
        assert row["toy_pct_change"] == 12.5 and row["toy_p_holm"] == 0.01
    finally:
        monkeypatch.undo()
        importlib.reload(L)
    assert "toy_pct_change" not in L.COLUMNS


def test_the_papers_rows_give_every_intervention_the_paper_has():
    rows = L.paper_rows().set_index("model")
    # limited: the paper prints tasks (Table 5), not a % change: computed from its counts
    assert rows.loc["o3", "limited_pct_change"] == pytest.approx(100 * (42.0 / 34.4 - 1), abs=0.1)
    assert rows.loc["o3", "incentive_pct_change"] == 190.7, "the paper's own % where printed"
    assert math.isnan(rows.loc["o3-mini", "policy_pct_change"]), "none where it has none"


def test_the_leaderboard_figure_is_fig_4_with_the_evaluations():
    board = L.as_text(
        pd.concat([L.paper_rows(), L.evaluation_rows(summary("local:withholder", True))])
    )
    fig = L.figure(board)
    quadrants, bars = fig.axes[:2]
    texts = {t.get_text() for t in quadrants.texts}
    assert "local:withholder (scripted)" in texts and "o3 (paper)" in texts
    assert "cooperation-limited\n(asks & submits, won't send)" in texts, "Fig. 4's corners"
    lines = {tuple(line.get_xdata()) for line in quadrants.lines}
    assert (L.DEFAULT_THRESHOLD, L.DEFAULT_THRESHOLD) in lines, "the one threshold"
    legend = [t.get_text() for t in quadrants.get_legend().get_texts()]
    assert legend == ["scripted agents: not model behaviour", "paper (Table 2)"]


def test_paper_rows_are_the_papers_numbers():
    rows = L.paper_rows().set_index("model")
    assert rows.loc["o3", "baseline_pct"] == 16.9 and rows.loc["o3", "cooperation"] == 15.2
    assert rows.loc["o3", "incentive_pct_change"] == 190.7
    assert rows.loc["o3", "diagnosis"] == "cooperation-limited"
    assert rows.loc["gemini-2.5-flash", "diagnosis"] == "competence-limited"
    assert rows.loc["o3-mini", "baseline_pct_ci95"] == pytest.approx(100 * 17.3 / 204)


def test_the_capability_plot_gets_elo_from_the_user_or_the_snapshot_else_unknown():
    from coop_utils.run.evaluate.report import elo_table

    models = {
        "openai:gpt-4o": {"scripted": False},
        "vllm:my-model": {"scripted": False},
        "o3": {"scripted": False},
        "local:withholder": {"scripted": True},
    }
    elo, unknown = elo_table({"models": models}, {"spec": {"elo": {"openai:gpt-4o": 1360}}})
    assert unknown == ["vllm:my-model"], "no --elo and not in the snapshot: marked unknown"
    scores = dict(zip(elo["model"], elo["elo"]))
    assert scores["openai:gpt-4o"] == 1360 and scores["o3"] == 1434
    assert "local:withholder" not in scores, "a scripted population never gets a score"


def test_the_papers_own_words_travel_with_its_numbers_never_with_a_scripted_namesake():
    from coop_utils.run.evaluate.findings import paper_row

    rows = L.paper_rows().set_index("model")
    assert rows.loc["deepseek-r1", "paper_words"] == "moderate on both"
    assert rows.loc["deepseek-r1", "diagnosis"] == "cooperative & competent", "our rule's words"
    ref = paper_row("DeepSeek-R1-0528", scripted=False)
    assert ref["diagnosis_words"] == "moderate on both" and ref["cooperation_rate"] == 70.5
    assert paper_row("deepseek-r1", scripted=True) is None
    assert paper_row("openai:gpt-4o", scripted=False) is None


def test_the_report_template_types_no_result():
    """Every number the report states comes from its outputs, as in the notebooks."""
    import nbformat

    from coop_utils.analysis.prose import allowed_numbers, typed_numbers
    from coop_utils.run.evaluate.report import TEMPLATE

    allowed = allowed_numbers()
    cells = nbformat.read(TEMPLATE, as_version=4).cells
    prose = [c.source for c in cells if c.cell_type == "markdown"]
    assert len(prose) >= 8 and not [
        typed_numbers(p, allowed) for p in prose if typed_numbers(p, allowed)
    ]


def test_the_baseline_is_extended_to_every_interventions_seeds():
    from coop_utils.run.evaluate.protocol import pair_baselines

    rule = StopRule(target=5.0, min_runs=5, batch=2, max_runs=40)
    play = Population({("m", "baseline"): 1.0, ("m", "incentive"): 12.0, ("m", "policy"): 1.0})
    phases = {"decomposition": adapt([("m", "baseline")], play, rule)}
    phases["interventions"] = adapt([("m", "incentive"), ("m", "policy")], play, rule)
    longest = phases["interventions"].states[("m", "incentive")].runs
    assert phases["decomposition"].states[("m", "baseline")].runs == 5 < longest
    paired = pair_baselines(phases, play, rule)
    assert paired.requested == [{("m", "baseline"): longest}]
    assert paired.states[("m", "baseline")].runs == longest
    phases["pairing"] = paired
    assert pair_baselines({**phases, "decomposition": paired}, play, rule) is None


def test_a_baseline_of_zero_tasks_reads_as_no_percent_change():
    """A withholder's baseline can be 0 tasks: its % change is None, said in words."""
    from coop_utils.run.evaluate.report import diagnosis_text

    effect = dict(runs=2, identical=False, p=None, baseline_tasks=0.0, tasks=3.0)
    effect.update(pct_change=None, paired_diff_tasks=3.0, n_pairs=2)
    model = {"in_words": "w", "interventions": {"incentive": effect}, "paper": None}
    text = diagnosis_text({"models": {"m": model}})
    assert "from 0.0 to 3.0 (no % change from a baseline of 0 tasks;" in text
