"""Where things are written: runs kept by configuration, published vs exploration outputs,
atomic writes with ordinary modes, and no process left behind by a killed parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import psutil
import pytest
from matplotlib.figure import Figure

from coop_utils.analysis import plots
from coop_utils.analysis.tables import save_table
from coop_utils.paths import ROOT, TMP_GLOB, atomic_path
from coop_utils.run import experiments as ex
from coop_utils.run.reaper import MARKER_ENV


def test_a_changed_parameter_makes_new_runs_instead_of_an_error(tmp_path):
    first = ex.run_experiment(ex.perfect_play(runs=1, rounds=3), "offline", tmp_path)
    again = ex.run_experiment(ex.perfect_play(runs=1, rounds=4), "offline", tmp_path)
    assert first.root != again.root and first.root.parent == again.root.parent
    assert first.root.name.startswith("rounds=3-") and again.root.name.startswith("rounds=4-")
    resumed = ex.run_experiment(ex.perfect_play(runs=1, rounds=3), "offline", tmp_path)
    assert resumed.result.already_done == 1 and resumed.folders == first.folders


def test_the_config_folder_covers_the_whole_configuration():
    assert ex.config_folder({}) == ex.config_folder({"rounds": 20}), "a default is no change"
    assert ex.config_folder({}).startswith("default-")
    assert ex.config_folder({"rounds": 10}) != ex.config_folder({"n_agents": 20})


def test_a_remaining_mismatch_names_the_parameter_that_fixes_it(tmp_path):
    exp = ex.run_experiment(ex.perfect_play(runs=1, rounds=3), "offline", tmp_path)
    run_json = exp.folders[0] / "run.json"
    run_json.write_text(run_json.read_text().replace('"perfect"', '"someone-else"'))
    with pytest.raises(ValueError, match="runs_dir parameter"):
        ex.run_experiment(ex.perfect_play(runs=1, rounds=3), "offline", tmp_path)


def _params(notebook: str, **changes) -> dict:
    return {**ex.published_parameters(notebook), **changes}


def test_only_reproduce_at_the_published_parameters_publishes(tmp_path):
    runs = str(tmp_path)
    out = ex.notebook_outputs("01_baseline", _params("01_baseline", runs_dir=runs), True)
    assert out.published and out.figures == ROOT / "figures" / "offline"
    assert out.results == ROOT / "data" / "results" / "offline"
    by_hand = ex.notebook_outputs("01_baseline", _params("01_baseline", runs_dir=runs), False)
    assert not by_hand.published and by_hand.figures.is_relative_to(tmp_path / "explore")
    changed = _params("01_baseline", runs_dir=runs, runs=2, rounds=10)
    explore = ex.notebook_outputs("01_baseline", changed, True)
    assert not explore.published and explore.changed == {"runs": 2, "rounds": 10}
    folder = tmp_path / "explore" / "01_baseline" / "rounds=10,runs=2"
    assert explore.figures == folder / "figures" / "offline"
    assert explore.results == folder / "results" / "offline"
    assert "rounds=10" in str(explore) and "coop reproduce" in str(explore)
    forced = ex.notebook_outputs("01_baseline", {**changed, "publish": True}, False)
    assert forced.published and forced.figures == ROOT / "figures" / "offline"


def test_the_mode_picks_the_subfolder_and_explicit_folders_win(tmp_path):
    replay = ex.notebook_outputs(
        "02_causal_decomposition", _params("02_causal_decomposition", mode="replay"), True
    )
    assert replay.published and replay.figures == ROOT / "figures" / "replay"
    mine = _params(
        "02_causal_decomposition", figures_dir=str(tmp_path / "f"), results_dir=str(tmp_path / "r")
    )
    out = ex.notebook_outputs("02_causal_decomposition", mine, False)
    assert out.figures == tmp_path / "f" / "offline" and out.results == tmp_path / "r" / "offline"


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_atomic_writes_keep_ordinary_modes_and_leave_nothing_on_failure(tmp_path):
    target = tmp_path / "table.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a\n1\n")
    assert target.read_text() == "a\n1\n" and _mode(target) == 0o666 & ~_umask()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "a\n1\n", "the old file stays whole"
    assert list(tmp_path.glob(TMP_GLOB)) == []


def test_figures_and_tables_are_written_atomically(tmp_path):
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    png, pdf = plots.save(fig, "f", tmp_path)
    csv = save_table(pd.DataFrame({"a": [1]}), "t", tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")
    assert all(_mode(p) == 0o644 & ~_umask() for p in (png, pdf, csv))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png", "t.csv"]


def test_git_ignores_temporary_files_and_nbval_does_not_collect_them():
    name = "notebooks/.01_baseline.ipynb.0a1b2c3d.tmp"
    assert not name.endswith(".ipynb")
    ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
    assert ignored.returncode == 0, ".gitignore must cover atomic_path's temporary files"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from coop_utils.run.reaper import reaped
    with reaped(grace_s=1.0) as env:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                 env={**os.environ, **env})
        print(child.pid, flush=True)
        time.sleep(120)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_parent_leaves_no_marked_process(how):
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    deadline = time.monotonic() + 10  # /proc/PID/environ reads empty while exec completes
    while MARKER_ENV not in child.environ() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert MARKER_ENV in child.environ()
    parent.send_signal(how)
    parent.wait(timeout=10)
    try:
        child.wait(timeout=10)
    except psutil.TimeoutExpired:
        child.kill()
        pytest.fail("the marked child outlived its killed parent")
    time.sleep(0.1)
    assert not child.is_running()
