"""Notebooks' computed sentences at 1 and 2 runs per cell, from the functions that write
them (no notebook executed): nothing testable is said so, a zero baseline has no % change,
and an interval beside a test comes from the test's own statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coop_utils.analysis import readings
from coop_utils.analysis import tables as T
from coop_utils.analysis.paper import load_paper
from coop_utils.analysis.readings.ablations import versus_default
from coop_utils.analysis.readings.interventions import paired_interval


def _runs(cells: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """A runs frame: per (model, condition), tasks of seeds 0, 1, ..."""
    rows = [
        {"model": m, "condition": c, "seed": s, "tasks": t, "scripted": True, "setting": c}
        for (m, c), tasks in cells.items()
        for s, t in enumerate(tasks)
    ]
    return pd.DataFrame(rows)


def _reading(cells) -> str:
    return readings.interventions.changes(T.table3(_runs(cells), load_paper()))


def test_one_run_says_nothing_could_be_tested_and_why():
    text = _reading({("a", "baseline"): [10], ("a", "policy"): [30], ("b", "baseline"): [5],
                     ("b", "incentive"): [50]})  # fmt: skip
    assert "Nothing could be tested" in text and "1 paired seed per cell" in text
    assert "survive" not in text and "- none" not in text
    assert "Not significant" not in text, "no test ran, so none is reported as negative"


@pytest.mark.slow
def test_two_runs_set_the_test_beside_its_own_statistics_interval():
    text = _reading({("a", "baseline"): [1, 3], ("a", "policy"): [15, 25]})
    assert "+900%" in text and "paired 95% CI" in text
    lo, hi = paired_interval(18.0, np.std([14, 22], ddof=1), 2)
    assert lo < 0 < hi, "with 2 pairs this interval crosses 0 ..."
    assert "Not significant after correction" in text, "... and the test agrees with it"
    assert "not evidence of no change" in text


@pytest.mark.parametrize(
    "seed", [*range(2), *(pytest.param(s, marks=pytest.mark.slow) for s in range(2, 20))]
)
def test_the_paired_interval_excludes_0_exactly_when_p_is_below_5_percent(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    base, after = rng.normal(10, 3, n), rng.normal(10 + rng.normal(0, 4), 3, n)
    cells = {("a", "baseline"): list(base), ("a", "policy"): list(after)}
    r = T.table3(_runs(cells), load_paper()).iloc[0]
    lo, hi = paired_interval(r["diff"], r["sd_diff"], int(r["n_pairs"]))
    assert (lo > 0 or hi < 0) == (r["p"] < 0.05)


def test_a_zero_baseline_has_no_percent_change():
    text = _reading({("w", "baseline"): [0, 0], ("w", "incentive"): [4, 6]})
    assert "nan" not in text.lower() and "inf" not in text.lower()
    assert "from a baseline of 0 tasks (no % change)" in text


def test_identical_runs_are_said_identical_not_null():
    text = _reading({("c", "baseline"): [7, 9], ("c", "policy"): [7, 9]})
    assert "Identical to baseline" in text and "Not significant" not in text


def _ablation(default: list[float], other: list[float]) -> pd.DataFrame:
    cells = {("m", "default"): default, ("m", "rounds_10"): other}
    return T.ablation_table(_runs(cells), load_paper()).set_index(["model", "setting"])


def test_ablation_sentence_at_one_run_has_no_interval_to_compare_with():
    ab = _ablation([10], [12])
    text = versus_default(ab.loc[("m", "rounds_10")], ab.loc[("m", "default")])
    assert text == "by +20.0% (the default has 1 run, so no interval to compare with)"


def test_ablation_sentence_at_two_runs_and_from_a_zero_default():
    ab = _ablation([10, 12], [30, 32])  # default 11 ± 12.7 (t with 1 df)
    text = versus_default(ab.loc[("m", "rounds_10")], ab.loc[("m", "default")])
    assert text == "by +181.8% (outside the default's interval)"
    ab = _ablation([0, 0], [3, 5])
    text = versus_default(ab.loc[("m", "rounds_10")], ab.loc[("m", "default")])
    assert "nan" not in text and "4.0 tasks from a default of 0" in text


def _baseline(tasks: dict[str, list[float]]) -> str:
    import warnings

    from coop_utils.analysis.stats import cell_rates, rate_ratios

    runs = _runs({(m, "baseline"): t for m, t in tasks.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning reaches a notebook, even at 1 run
        rates, ratios = cell_rates(runs), rate_ratios(runs, reference="a")
    return readings.baseline.count_model(rates, ratios, "a", scripted=True)


def test_baseline_reading_at_one_run_has_no_interval_and_says_why():
    text = _baseline({"a": [30], "b": [3]})
    assert "no interval and no test" in text and "needs at least 2 runs" in text
    assert "–" not in text and "p =" not in text and "0 degrees" not in text


def test_baseline_reading_at_two_runs_gives_intervals_and_tests():
    text = _baseline({"a": [30, 34], "b": [3, 5]})
    assert "With 2 runs per population each interval rests on 1 degrees" in text
    assert "`b` 0.125 (" in text and "p = " in text and "nan" not in text


def test_baseline_reading_with_a_reference_that_completed_nothing():
    text = _baseline({"a": [0, 0], "b": [3, 5]})
    assert "completed no task, so no rate ratio" in text and "inf" not in text


def test_table2_at_one_run_calls_both_rates_uncertain():
    runs = _runs({("m", "auto_request"): [90.0], ("m", "auto_fulfill"): [95.0]})
    t2 = T.table2(runs.assign(pct_optimal=runs["tasks"]), load_paper(), paper_only=False)
    assert t2.set_index("model").loc["m", "uncertain"] == "cooperation+competence"


def test_fig5_draws_no_zero_width_interval_at_one_run():
    import matplotlib

    matplotlib.use("Agg")
    from coop_utils.analysis.plots import intervention_effects

    fig = intervention_effects(_runs({("m", "baseline"): [10], ("m", "policy"): [20]}), None)
    ax = fig.axes[0]
    assert "no bar: 1 run" in ax.get_ylabel()
    bars = [c.errorbar for c in ax.containers if getattr(c, "errorbar", None)]
    segments = [seg for eb in bars for col in eb.lines[2] for seg in col.get_segments()]
    assert not [seg for seg in segments if seg.size and np.isfinite(seg).all()], "a bar drawn"


# ---- notebooks 02, 04 and 06 ------------------------------------------------------------------


def _decomposition(cells: dict[str, tuple[list[float], list[float]]], auto: float = 90.0) -> str:
    """Notebook 02's reading of per-model (auto_request, auto_fulfill) % of optimal runs."""
    runs = _runs({(m, c): v for m, pair in cells.items()
                  for c, v in zip(("auto_request", "auto_fulfill"), pair)})  # fmt: skip
    t2 = T.table2(runs.assign(pct_optimal=runs["tasks"]), load_paper(), paper_only=False)
    ceilings = pd.DataFrame({"condition": ["baseline", "auto_request"],
                             "perfect_play_tasks": [200.0, 1.8 * auto],
                             "pct_of_ceiling": [100.0, auto]})  # fmt: skip
    return readings.decomposition.quadrants(t2, ceilings, "5 runs", load_paper())


def test_decomposition_at_one_run_settles_no_quadrant_and_says_why():
    text = _decomposition({"a": ([20], [90]), "b": ([80], [30])})
    assert "With 1 run per condition no rate has an interval, so no quadrant is settled" in text
    assert "`a` cooperation-limited; `b` competence-limited (one draw each" in text
    assert "Uncertain" not in text and "interval contains" not in text and "nan" not in text


def test_decomposition_at_two_runs_settles_some_and_says_why_the_others_are_not():
    text = _decomposition({"a": ([20, 22], [90, 92]), "b": ([40, 60], [90, 92])}, auto=110)
    assert "over 2 runs, by the quadrant rule: cooperation-limited: `a`." in text
    assert "`b` (cooperation rate's interval contains the line; cooperative & competent" in text
    assert "can score above 100% there" in text and "nan" not in text


def _reasoning(shares: dict[str, list[tuple[int, int]]], requests: int = 10) -> str:
    """Notebook 04's reading; per population, per run (hard-defection, neutral) thoughts."""
    from coop_utils.analysis.thoughts import (
        by_agent,
        classifier_scores,
        classify_frame,
        false_positive_floor,
        held_out_examples,
    )
    from coop_utils.paths import repo_file

    hard, calm = "I'll withhold the Q3 sales data for now; agent_4 is ahead of me.", "Sent it."
    rows = [{"run_id": f"{m}-{s}", "model": m, "label": m, "condition": "baseline", "text": t}
            for m, runs in shares.items() for s, (h, n) in enumerate(runs)
            for t in [hard] * h + [calm] * n]  # fmt: skip
    thoughts = classify_frame(pd.DataFrame(rows))
    runs = _runs({(m, "baseline"): [0] * len(r) for m, r in shares.items()}).assign(
        requests=requests, truthful_sends=requests // 2, manipulated_values=0, response_rate=50.0
    )
    held = held_out_examples()
    idioms = held[held.set == "thought_idioms"]
    scores = pd.concat([classifier_scores(pd.read_csv(repo_file("tests", f"thought_{s}.csv")))
                        .assign(set=s) for s in ("examples", "idioms")], ignore_index=True)  # fmt: skip
    families = idioms.groupby("family").agg(n=("text", "size")).reset_index()
    floor = false_positive_floor(held)
    run_level, _ = T.thought_tables(by_agent(thoughts), load_paper(), floor)
    said_did = T.thoughts_beside_actions(thoughts, runs, floor)
    return readings.reasoning.classes(scores, families, floor, run_level, said_did)


def test_reasoning_at_one_run_compares_one_share_with_the_floor_and_says_so():
    text = _reasoning({"a": [(9, 1)], "b": [(0, 10)]}, requests=0)
    assert "With 1 run per cell a share has no interval" in text
    assert "`a`: 90% of thoughts classed hard defection; received no request" in text
    assert "nan" not in text.lower()


def test_reasoning_at_two_runs_reads_a_share_inside_the_floor_as_zero():
    text = _reasoning({"a": [(9, 1), (8, 2)], "b": [(0, 40), (1, 39)]})
    assert "With 1 run" not in text
    assert "`b`: 1% of thoughts classed hard defection (within the floor" in text
    assert "hard defection: `b`" in text
    assert "`a` answered most requests yet" in text and "nan" not in text.lower()


def _validity(p_submit: list[float], runs: int, leak: float) -> str:
    """Notebook 06's reading of a grid where the cooperation rate follows p_answer and,
    by ``leak``, p_submit (``runs`` noisy runs per setting)."""
    import warnings

    from coop_utils.analysis import validity as V

    rng = np.random.default_rng(0)
    rows = [{"model": f"behaviour:p_answer={a}:p_request={r}:p_submit={s}", "condition": c,
             "seed": k, "pct_optimal": 100 * (a + leak * s if c == "auto_request" else r * s)
             + rng.normal(0, 5)}
            for a in (0.0, 0.5, 1.0) for r in (0.5, 1.0) for s in p_submit
            for c in ("auto_request", "auto_fulfill") for k in range(runs)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning reaches the notebook
        rec = V.recovery(V.knob_table(pd.DataFrame(rows)))
    return readings.validity.recovery(rec)


@pytest.mark.parametrize("runs", [1, 2])
def test_validity_says_the_leak_only_when_detected(runs):
    text = _validity([0.5, 1.0], runs, leak=1.0)
    assert "`p_submit` weighs on the cooperation rate" in text and "nan" not in text
    text = _validity([0.5, 1.0], runs, leak=0.0)
    assert "weighs on" not in text and "not evidence of no leak" in text


def test_validity_with_p_submit_held_constant_cannot_test_the_leak():
    text = _validity([1.0], 1, leak=1.0)
    assert "`p_submit` not varied by this grid" in text and "could not be tested" in text
    assert "nan" not in text and "p = –" not in text


# ---- one test per reading that the notebooks' outputs alone would not catch -----------------


def test_the_ceiling_reading_counts_task_slots_at_any_rounds():
    from types import SimpleNamespace

    def reading(rounds, tasks, comparable=True):
        hundred = SimpleNamespace(
            perfect=pd.DataFrame({"tasks": tasks}),
            tasks=204.0 if comparable else float(np.mean(tasks)),
            comparable=comparable,
            differences=() if comparable else (f"rounds {rounds}, the paper's 20",),
        )
        return readings.baseline.ceiling(hundred, rounds)

    text = reading(20, [199, 203])
    assert "⌊20 rounds / 2⌋ = 200 tasks, plus the occasional task" in text
    assert "range 199 to 203" in text and "divides by the paper's 204.0" in text
    text = reading(10, [100, 100], comparable=False)
    assert "⌊10 rounds / 2⌋ = 100 tasks: our perfect play completes 100.0 ± 0.0" in text
    assert "occasional" not in text and "100% by construction" in text
    assert "left out below (rounds 10, the paper's 20)" in text


def test_the_count_model_reading_says_what_the_ranking_reflects():
    runs = _runs({("a", "baseline"): [30, 34], ("b", "baseline"): [3, 5]})
    from coop_utils.analysis.stats import cell_rates, rate_ratios

    rates, ratios = cell_rates(runs), rate_ratios(runs, reference="a")
    scripted = readings.baseline.count_model(rates, ratios, "a", scripted=True)
    models = readings.baseline.count_model(rates, ratios, "a", scripted=False)
    assert "Ranked by tasks per run: `a` and `b`." in scripted
    assert scripted.endswith("not any model.") and "knobs" not in models
    assert models.endswith("Table 1 shows each model beside the paper's value.")


def test_the_runs_needed_reading_gives_each_changes_range_and_upper_bound():
    power = pd.DataFrame(
        {
            "runs_for_10pct": [9, 4, 6],
            "runs_for_10pct_upper": [20, 30, 12],
            "runs_for_25pct": [3, 2, 2],
            "runs_for_25pct_upper": [5, 4, 7],
        }
    )
    text = readings.interventions.runs_needed(power, (0.10, 0.25))
    assert text == (
        "From the paper's own spreads, by the paired test, detecting a 10% change needs 4 to 9 "
        "runs per condition at the estimated spreads, and up to 30 at their upper bound; a 25% "
        "change needs 2 to 3 runs per condition at the estimated spreads, and up to 7 at their "
        "upper bound, depending on the model."
    )


def _settings(cells: dict[tuple[str, str], list[float]]) -> str:
    ab = T.ablation_table(_runs(cells), load_paper())
    return readings.ablations.settings(ab, sorted({s for _, s in cells}))


def test_the_ablation_reading_sorts_settings_by_what_they_change():
    text = _settings({
        ("perfect", "default"): [200, 202], ("perfect", "rounds_10"): [100, 100],
        ("perfect", "agents_20"): [400, 404], ("perfect", "reward_100"): [200, 202],
        ("still", "default"): [50, 60], ("still", "reward_100"): [50, 60],
        ("still", "joint_goal"): [50, 60],
        ("moved", "default"): [50, 60], ("moved", "reward_100"): [70, 80],
        ("moved", "joint_goal"): [50, 60],
    })  # fmt: skip
    assert "Perfect play scales with the game: 201.0 tasks at `default`" in text
    assert "; 100.0 tasks at `rounds_10`; 402.0 tasks at `agents_20`." in text, "ABLATIONS' order"
    assert "The wording and reward settings (`joint_goal` and `reward_100`)" in text
    assert "leave `still` exactly where they were and move `moved`" in text
    assert "neutral_items" not in text


def test_the_ablation_reading_of_renamed_pieces_and_no_wording_setting():
    text = _settings({
        ("perfect", "default"): [200], ("perfect", "neutral_items"): [200],
        ("m", "default"): [10], ("m", "neutral_items"): [12],
    })  # fmt: skip
    assert "The wording and reward settings" not in text, "none of them ran"
    assert "so it moves `m` by +20.0% (the default has 1 run" in text


def test_the_quadrants_a_reading_lists_are_the_rules_own():
    from coop_utils.analysis.quadrants import DEFAULT_THRESHOLD, quadrant

    found = {quadrant(c, k) for c in (0.0, 100.0) for k in (0.0, 100.0)}
    assert set(readings.decomposition.QUADRANTS) == found
    text = _decomposition({"a": ([20], [90])})
    assert f"tested against the {DEFAULT_THRESHOLD:g}% line" in text
