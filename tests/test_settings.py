"""Numbers at another setting than the paper's: % of optimal divides by the ceiling measured
at the setting that was run, and the paper's numbers are left out rather than set beside
ours as if they compared (issue 21)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from coop_utils.analysis import tables as T
from coop_utils.analysis.paper import ceiling, comparable, load_paper, setting_differences
from coop_utils.game.config import PERFECT_PLAY_TASKS, EnvConfig
from coop_utils.paths import ROOT
from coop_utils.run import experiments as ex


def test_the_paper_setting_is_the_configs_defaults():
    assert setting_differences({}) == ()
    assert setting_differences(EnvConfig.for_condition("incentive")) == ()  # the condition aside
    assert setting_differences({"rounds": 5}) == ("rounds 5 (the paper: 20)",)
    assert len(setting_differences({"rounds": 5, "n_agents": 20})) == 2


def test_the_ceiling_is_the_papers_only_at_its_setting():
    assert ceiling({}, [40, 41]) == (PERFECT_PLAY_TASKS, "the paper's perfect play (Table 1)")
    tasks, source = ceiling({"rounds": 5}, [40, 41])
    assert tasks == 40.5 and "this setting (2 seeds)" in source
    with pytest.raises(ValueError, match="no task"):
        ceiling({"rounds": 1}, [0, 0])


@pytest.mark.slow
def test_perfect_play_is_100_percent_of_its_own_ceiling(tmp_path):
    c = ex.ceiling(tmp_path, runs=3, rounds=5)
    assert not c.comparable and c.differences == ("rounds 5 (the paper: 20)",)
    assert c.perfect["pct_optimal"].mean() == pytest.approx(100.0)
    assert ex.ceiling(tmp_path, runs=2).tasks == PERFECT_PLAY_TASKS


def test_tables_leave_the_papers_columns_out_at_another_setting(tmp_path):
    runs = ex.ceiling(tmp_path, runs=2, rounds=5).perfect
    here = T.table1(runs, comparable({}, load_paper()))
    assert "paper_tasks" in T.show(here) and not here.attrs.get("not_comparable")
    there = T.table1(runs, comparable({"rounds": 5}, load_paper()))
    assert there.attrs["not_comparable"].endswith("rounds 5 (the paper: 20)")
    assert there["paper_tasks"].isna().all() and list(there["model"]) == ["perfect"]
    assert "paper_" not in T.show(there)
    assert "paper_" not in T.show(there[["model", "tasks", "paper_tasks"]])


NOTEBOOKS = ("00_quickstart", "01_baseline", "02_causal_decomposition", "03_interventions")
POPULATIONS = "[local:cooperator, local:withholder]"


@pytest.fixture(scope="module")
def at_five_rounds(tmp_path_factory):
    """Notebooks 00-03 by papermill at rounds=5 (small runs): their outputs and tables."""
    tmp = tmp_path_factory.mktemp("rounds5")
    out = {}
    for name in NOTEBOOKS:
        params = ["-p", "rounds", "5", "-p", "runs_dir", str(tmp / "runs")]
        params += ["-p", "results_dir", str(tmp / name), "-p", "figures_dir", str(tmp / name)]
        if name != "00_quickstart":
            params += ["-p", "runs", "3", "-y", f"models: {POPULATIONS}"]
        if name == "01_baseline":
            params += ["-p", "perfect_runs", "3"]
        nb = tmp / f"{name}.ipynb"
        cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{name}.ipynb")]
        done = subprocess.run([*cmd, str(nb), *params], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        text = "\n".join(
            str(o.get("text") or o.get("data", {}).get("text/plain", ""))
            for c in nbformat.read(nb, 4).cells
            if c.cell_type == "code"
            for o in c.outputs
        )
        out[name] = (text, tmp / name / "offline")
    return out


@pytest.mark.slow
def test_notebooks_at_five_rounds_put_perfect_play_at_100_percent(at_five_rounds):
    text, _ = at_five_rounds["00_quickstart"]
    assert "100% of optimal = 40.0 tasks" in text and "not comparable" in text
    _, results = at_five_rounds["01_baseline"]
    t1 = pd.read_csv(results / "table1_baseline.csv").set_index("model")
    assert t1.loc["perfect", "pct_optimal"] == pytest.approx(100.0, abs=0.5)
    assert t1.loc["local:cooperator", "pct_optimal"] > 50
    _, results = at_five_rounds["02_causal_decomposition"]
    t2 = pd.read_csv(results / "table2_decomposition.csv").set_index("model")
    assert "limited" not in t2.loc["local:cooperator", "diagnosis"]
    assert t2.loc["local:withholder", "diagnosis"] == "cooperation-limited"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_at_five_rounds_present_no_paper_column_as_comparable(name, at_five_rounds):
    text, _ = at_five_rounds[name]
    lines = [
        x for x in text.splitlines() if "paper_sd" not in x
    ]  # 03's plan for the paper's setting
    assert not [x for x in lines if "paper_" in x], "a paper column beside 5-round numbers"
    assert "204.0" not in text or "not comparable" in text
