"""Every figure renders from small frames and from real scripted runs, saves non-trivial PNG
and PDF, labels scripted data in its title, and keeps the paper's values apart from ours.

The synthetic frames are shaped like ``coop_utils.analysis.load``'s output with means near the
paper's cells (so the layouts are exercised at realistic scales). They are flagged
``scripted`` by default because they are not model behaviour; a few layout checks flip
the flag to exercise what a real model's data would look like.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from coop_utils.agents import scripted_agent  # noqa: E402
from coop_utils.analysis import load, plots  # noqa: E402
from coop_utils.analysis import tables as T  # noqa: E402
from coop_utils.analysis.paper import load_paper  # noqa: E402
from coop_utils.analysis.thoughts import run_level_table, thought_table  # noqa: E402
from coop_utils.game.config import CONDITIONS, EnvConfig  # noqa: E402
from coop_utils.run.runner import run_episode, write_run  # noqa: E402

MODELS = {  # baseline tasks, auto_request %, auto_fulfill %  (paper Tables 1–2)
    "gemini-2.5-pro": (161.0, 99.1, 89.2),
    "claude-sonnet-4": (132.0, 90.7, 80.3),
    "o3-mini": (102.8, 17.2, 92.1),
    "deepseek-r1": (93.5, 70.5, 75.5),
    "gpt-5-mini": (78.7, 18.6, 95.3),
    "gemini-2.5-flash": (62.2, 86.4, 25.6),
    "o3": (34.4, 15.2, 94.9),
    "gpt-4.1-mini": (11.8, 30.1, 14.4),
}
SEEDS = range(5)


def _paper() -> pd.DataFrame:
    return load_paper()


def synthetic_runs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for model, (base, coop, comp) in MODELS.items():
        targets = {
            "baseline": base,
            "auto_request": coop * 2.04,
            "auto_fulfill": comp * 2.04,
            "policy": base * 1.6,
            "incentive": base * 1.3,
            "limited": base * 1.1,
        }
        for cond, mu in targets.items():
            for s in SEEDS:
                tasks = max(0, int(rng.normal(mu, 0.06 * mu + 2)))
                rows.append(
                    dict(
                        run_id=f"{model}-{cond}-{s}",
                        model=model,
                        condition=cond,
                        seed=s,
                        scripted=True,
                        tasks=tasks,
                        pct_optimal=100 * tasks / 204.0,
                    )
                )
    return pd.DataFrame(rows)


def synthetic_thoughts(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hard = "I'll withhold the Q3 sales data; my pieces are leverage in this trade."
    soft = "I'll send it once agent_2 sends me the Region 4 market data."
    plain = "Sending the requested pieces to agent_1 and agent_5, then submitting task_3."
    rows = []
    for i, model in enumerate(MODELS):
        p_hard, p_soft = 0.4 * (i % 3) / 2, 0.1 + 0.05 * (i % 4)
        for k in range(60):
            u = rng.random()
            text = hard if u < p_hard else soft if u < p_hard + p_soft else plain
            rows.append(
                dict(
                    run_id=f"{model}-r0",
                    model=model,
                    condition="baseline",
                    seed=0,
                    round=k % 20,
                    agent=f"agent_{k % 10}",
                    text=text,
                )
            )
    return pd.DataFrame(rows)


def synthetic_transfers(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(120):
        s, r = rng.choice(10, 2, replace=False)
        rows.append(
            dict(
                run_id="demo-run",
                round=int(k // 6),
                sender=f"agent_{s}",
                to=f"agent_{r}",
                piece=f"Q{k} data",
                value=60,
                manipulated=bool(rng.random() < 0.05),
            )
        )
    return pd.DataFrame(rows)


def synthetic_per_round(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for model, (base, *_) in list(MODELS.items())[:4]:
        for cond in ("baseline", "policy"):
            for s in SEEDS:
                for r in range(20):
                    lam = (
                        (base if cond == "baseline" else base * 1.5) / 20 * (0.2 if r == 0 else 1.0)
                    )
                    rows.append(
                        dict(
                            run_id=f"{model}-{cond}-{s}",
                            model=model,
                            condition=cond,
                            seed=s,
                            round=r,
                            tasks=int(rng.poisson(lam)),
                        )
                    )
    return pd.DataFrame(rows)


def _all_figures(runs, thoughts, transfers, per_round, paper, *, scripted=True) -> dict:
    return {
        "baseline_bars": plots.baseline_bars(runs, paper),
        "capability_scatter": plots.capability_scatter(runs, paper=paper),
        "quadrant_plot": plots.quadrant_plot(runs, paper),
        "intervention_effects": plots.intervention_effects(runs, paper),
        "thought_classes": plots.thought_classes(
            run_level_table(thoughts), paper, scripted=scripted
        ),
        "thought_classes_pooled": plots.thought_classes(
            thought_table(thoughts), paper, scripted=scripted
        ),
        "exchange_network": plots.exchange_network(transfers, scripted=scripted),
        "tasks_per_round": plots.tasks_per_round(per_round, scripted=scripted),
    }


def _check_saved(figs: dict[str, Figure], folder: Path) -> None:
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        assert "scripted agents" in fig.get_suptitle(), name
        png, pdf = plots.save(fig, name, folder)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pdf.read_bytes()[:5] == b"%PDF-"
        assert png.stat().st_size > 20_000, f"{name}.png looks empty"
        assert pdf.stat().st_size > 5_000, f"{name}.pdf looks empty"


def _texts(fig: Figure) -> str:
    """Every piece of text drawn in the figure (titles, labels, annotations, legends)."""
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


@pytest.mark.slow
def test_every_figure_renders_and_saves(tmp_path):
    figs = _all_figures(
        synthetic_runs(),
        synthetic_thoughts(),
        synthetic_transfers(),
        synthetic_per_round(),
        _paper(),
    )
    _check_saved(figs, tmp_path)


def test_ablation_effects_shows_each_setting_and_its_change_from_the_default():
    base = synthetic_runs().query("condition == 'baseline'")
    doubled = base.assign(setting="rounds_10", tasks=2 * base["tasks"])
    table = T.ablation_table(pd.concat([base.assign(setting="default"), doubled]), _paper())
    fig = plots.ablation_effects(table)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in right.get_xticklabels()] == ["default", "rounds_10"]
    assert sorted({round(p.get_height(), 6) for p in right.patches}) == [0, 100]
    assert "scripted agents" in fig.get_suptitle()


@pytest.mark.slow
def test_figures_render_without_paper_references():
    figs = _all_figures(
        synthetic_runs(), synthetic_thoughts(), synthetic_transfers(), synthetic_per_round(), None
    )
    for name, fig in figs.items():
        text = _texts(fig).replace("perfect play (paper)", "")  # the ceiling is always shown
        assert "paper" not in text, name


def test_unlabelled_provenance_is_refused():
    """Frames without a scripted column must say what they are."""
    with pytest.raises(ValueError, match="scripted"):
        plots.tasks_per_round(synthetic_per_round())
    runs = synthetic_runs().drop(columns="scripted")
    with pytest.raises(ValueError, match="scripted"):
        plots.baseline_bars(runs)


def test_model_data_carry_no_scripted_note_and_mixed_data_say_so():
    runs = synthetic_runs().assign(scripted=False)
    assert "scripted" not in plots.baseline_bars(runs).get_suptitle()
    runs.loc[runs["model"] == "o3", "scripted"] = True
    assert "includes scripted" in plots.baseline_bars(runs).get_suptitle()


def test_baseline_bars_draws_paper_bars_beside_ours_and_the_ceiling():
    runs = synthetic_runs().assign(scripted=False)  # pretend model data: paired bars
    fig = plots.baseline_bars(runs, _paper())
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_width() < 1]  # not the ceiling's band
    hatched = sorted(round(p.get_height(), 1) for p in bars if p.get_hatch())
    solid = [p for p in bars if not p.get_hatch()]
    assert 34.4 in hatched and 161.0 in hatched  # paper bars at the paper's values
    assert len(hatched) == len(solid) == 8
    assert any(abs(line.get_ydata()[0] - 204.0) < 1e-9 for line in ax.get_lines())
    assert "paper (Table 1)" in _texts(fig)


def test_scripted_populations_never_get_paper_values_under_a_model_name():
    runs = synthetic_runs()  # scripted, but named like the paper's models
    ax = plots.baseline_bars(runs, _paper()).axes[0]
    assert "paper only" in " ".join(t.get_text() for t in ax.get_xticklabels())
    fig = plots.intervention_effects(runs, _paper())
    assert not [line for line in fig.axes[0].get_lines() if line.get_marker() in ("D", "o")]


def test_capability_scatter_with_models_and_with_scripted_populations_only():
    runs = synthetic_runs().assign(scripted=False)
    fig = plots.capability_scatter(runs, paper=_paper())
    text = _texts(fig)
    assert "ours (n=8 models): r =" in text and "paper (n=8" in text and "p = 0.71" in text
    scripted = synthetic_runs()
    fig = plots.capability_scatter(scripted, paper=_paper())
    text = _texts(fig)
    assert len(fig.axes) == 2 and "no capability score" in text
    assert "o3 (paper)" in text and "scripted agents" in fig.get_suptitle()


def test_labels_do_not_overlap_in_a_crowded_scatter():
    fig = plots.quadrant_plot(synthetic_runs().assign(scripted=False), _paper())
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    text_box = matplotlib.text.Text.get_window_extent  # the text alone, not its leader line
    boxes = [text_box(a, renderer) for a in ax.texts if a.get_text() in _LABELS]
    assert len(boxes) == 16
    overlaps = [
        (a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if Bbox.intersection(a, b)
    ]
    assert not overlaps


_LABELS = set(MODELS) | {f"{m} (paper)" for m in MODELS}


def test_model_colours_are_stable_across_figures():
    a = plots.model_colors(["o3", "gpt-4.1-mini", "withholder"])
    b = plots.model_colors(["gpt-4.1-mini", "zeta", "o3", "alpha", "withholder"])
    assert all(a[m] == b[m] for m in a)
    assert len(set(b.values())) == 5
    assert (
        plots.model_colors(["perfect"])["perfect"]
        == plots.model_colors(["perfect_play"])["perfect_play"]
    )


def test_exchange_network_edge_weights_follow_pieces_sent():
    t = pd.DataFrame(
        [
            dict(run_id="r", sender="agent_0", to="agent_1", piece=f"p{i}", manipulated=False)
            for i in range(5)
        ]
        + [dict(run_id="r", sender="agent_1", to="agent_2", piece="q", manipulated=True)]
    )
    fig = plots.exchange_network(t, scripted=True, agents=[f"agent_{i}" for i in range(4)])
    ax = fig.axes[0]
    widths = sorted(p.get_linewidth() for p in ax.patches)
    assert widths[-1] > 3 * widths[0]  # 5 pieces drawn much wider than 1
    assert "6 pieces" in fig.get_suptitle()
    assert len(fig.axes) == 2  # a colour bar for altered values


def test_tasks_per_round_wraps_panels_in_condition_order():
    per_round = synthetic_per_round().assign(scripted=True)
    fig = plots.tasks_per_round(per_round, ncols=1)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["baseline", "policy"]
    assert "3 runs" not in _texts(fig) and "5 runs per panel" in _texts(fig)


@pytest.fixture(scope="module")
def scripted_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for spec in ("perfect", "withholder", "bungler", "manipulator"):
        for cond in CONDITIONS:
            for seed in (0, 1):
                cfg = EnvConfig.for_condition(cond, rounds=6)
                agents = [scripted_agent(spec, seed * 1000 + k) for k in range(10)]
                ep = run_episode(cfg, agents, seed, run_id=f"{spec}-{cond}-{seed}")
                write_run(root / ep.run_id, ep)
    return root


@pytest.mark.slow
def test_figures_from_real_scripted_runs(scripted_root, tmp_path):
    root = scripted_root
    runs = load.load_runs(root)
    assert runs["scripted"].all() and len(runs) == 4 * len(CONDITIONS) * 2
    thoughts = load.load_thoughts(root)
    transfers = load.load_transfers(root)
    per_round = load.load_per_round(root)
    figs = _all_figures(runs, thoughts, transfers, per_round, _paper())
    agents = load.load_agents(root)
    run_id = runs.loc[runs["model"] == "manipulator", "run_id"].iloc[0]
    figs["exchange_network"] = plots.exchange_network(transfers, run_id=run_id, revenue=agents)
    _check_saved(figs, tmp_path / "figs")
    # scripted populations sit in the capability figure's strip, never at an Elo
    assert len(figs["capability_scatter"].axes) == 2
    # the withholders' thoughts say they keep pieces back: hard defection is found
    table = run_level_table(thoughts).set_index(["model", "condition"])
    assert table.loc[("withholder", "baseline"), "hard_defection_pct"] > 50
    assert table.loc[("perfect", "baseline"), "hard_defection_pct"] == 0


def test_every_condition_has_its_own_colour():
    """Colours follow the conditions: a new condition gets the next colour, none is shared."""
    colours = plots.CONDITION_COLORS
    assert list(colours)[:4] == ["baseline", "policy", "incentive", "limited"]
    assert set(colours) == set(CONDITIONS) and len(set(colours.values())) == len(CONDITIONS)
