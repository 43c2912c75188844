"""The command line as a careless user meets it: mistyped options and values, a server that
is not there, paths, leftovers, missing keys, help pages and the README's samples."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from coop_utils.llm.client import ClientPool
from coop_utils.llm.failures import Failure


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _coop(*argv: str, env: dict[str, str] | None = None, timeout: float = 60, cwd=None):
    cmd = [sys.executable, "-m", "coop_utils.cli", *argv]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
        cwd=cwd,
    )  # fmt: skip


# item 2: a server that is not there stops the run at once and says what to check


@pytest.mark.slow
@pytest.mark.parametrize(
    "variable, agents", [("OLLAMA_BASE_URL", "ollama:llama3.1"), ("VLLM_BASE_URL", "vllm:m")]
)
def test_a_refused_connection_stops_the_run_within_seconds(variable, agents):
    start = time.perf_counter()
    done = _coop(
        "run", "--agents", agents, "--runs", "1", "--rounds", "2",
        env={variable: f"http://127.0.0.1:{_closed_port()}/v1"}, timeout=60,
    )  # fmt: skip
    assert time.perf_counter() - start < 30
    assert done.returncode == 2, done.stderr
    assert "connection refused" in done.stderr and "nothing answers at" in done.stderr
    assert variable in done.stderr, "names what to check"


def _error(cause: BaseException) -> openai.APIConnectionError:
    exc = openai.APIConnectionError(request=httpx.Request("POST", "http://x/v1"))
    exc.__cause__ = cause
    return exc


def test_an_unknown_host_is_a_stop_until_the_endpoint_answered_then_a_retry(monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", "http://gpu-box.invalid:8000/v1")
    pool = ClientPool(mode="live", cache=None)
    client = pool.client("vllm:m")
    for cause in (socket.gaierror(-2, "Name or service not known"), ConnectionRefusedError()):
        assert client._classify(_error(cause)) is Failure.STOP
    assert client._classify(_error(OSError("reset"))) is Failure.RETRY, "other errors retry"
    timeout = openai.APITimeoutError(request=httpx.Request("POST", "http://x/v1"))
    assert client._classify(timeout) is Failure.RETRY, "a slow server is not a wrong address"
    pool.answered.add(client.profile.base_url)
    assert client._classify(_error(ConnectionRefusedError())) is Failure.RETRY, "a blip"


def test_an_endpoint_that_closes_without_a_word_stops_on_the_first_call(tmp_path, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    monkeypatch.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    from coop_utils.llm.failures import StopError

    async def call() -> None:
        async with ClientPool(mode="live", cache=tmp_path / "c.jsonl") as pool:
            await pool.client("vllm:m").complete([{"role": "user", "content": "hi"}], "s")

    start = time.perf_counter()
    try:
        with pytest.raises(StopError, match="closed without a response.*nothing answers"):
            asyncio.run(call())
    finally:
        listener.close()
    assert time.perf_counter() - start < 10


# items 1 and 3: --set keys and values are checked against the notebooks' parameters first


@pytest.fixture
def no_notebook_runs(monkeypatch):
    """Records any notebook coop reproduce would execute, instead of executing it."""
    from coop_utils.run import reproduce

    ran: list[str] = []
    monkeypatch.setattr(reproduce, "run_notebook", lambda nb, *a, **k: ran.append(nb.stem) or 0.0)
    return ran


@pytest.mark.parametrize(
    "sets, says",
    [
        (["rnds=3"], "no notebook run has a parameter 'rnds' (did you mean 'rounds'?)"),
        (["01_baseline.rnds=3"], "(did you mean 'rounds'?)"),
        (["02.runs=3"], "notebook 02 is not among those run"),
        (["runs=0"], "parameter runs must be a positive whole number (got 0)"),
        (["runs=three"], "parameter runs must be a positive whole number (got 'three')"),
        (["mode=ofline"], "(did you mean 'offline'?)"),
        (["models=o3"], "parameter models must be a list; give it in YAML"),
        (["models=[]"], "parameter models must not be empty"),
    ],
)
def test_reproduce_refuses_a_mistyped_set_before_running_anything(
    capsys, no_notebook_runs, sets, says
):
    from coop_utils.cli import main

    argv = ["reproduce", "--only", "01"] + [a for s in sets for a in ("--set", s)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert no_notebook_runs == [], "nothing ran"


def test_reproduce_accepts_the_sets_it_documents(capsys, no_notebook_runs, monkeypatch):
    from coop_utils.run import reproduce

    monkeypatch.setattr(reproduce, "runs_report", lambda *a, **k: "")
    sets = ["runs=2", "01.rounds=5", "models=[local:cooperator]", "seed=0"]
    assert reproduce.reproduce(["01"], sets) == {"01_baseline": 0.0}
    assert no_notebook_runs == ["01_baseline"]


# item 8 (the notebook side): a notebook checks its own parameters, as papermill passes them


@pytest.mark.parametrize(
    "notebook, params, says",
    [
        ("00_quickstart", {"watch_rounds": "[1]"}, "must be a list; give it in YAML"),
        ("00_quickstart", {"watch_rounds": ["1"]}, "items must be a positive whole number"),
        ("01_baseline", {"runs": 0}, "must be a positive whole number"),
        ("06_decomposition_validity", {"p_answer": "0.5"}, "papermill -y"),
    ],
)
def test_a_notebook_refuses_parameters_of_the_wrong_kind(notebook, params, says):
    from coop_utils.run import experiments as ex

    full = {**ex.published_parameters(notebook), **params}
    with pytest.raises(ValueError, match=re.escape(says)):
        ex.notebook_outputs(notebook, full)
    ex.notebook_outputs(notebook, ex.published_parameters(notebook))  # the published pass


# item 4: paths are shown from where the user stands


def test_paths_are_shown_relative_to_the_working_folder(tmp_path, monkeypatch):
    from coop_utils.paths import ROOT, shown

    monkeypatch.chdir(ROOT / "notebooks")
    assert shown(ROOT / "figures" / "offline") == os.path.join("..", "figures", "offline")
    monkeypatch.chdir(tmp_path)
    assert shown(ROOT / "data") == str(ROOT / "data"), "absolute from outside the repository"
    assert shown(tmp_path / "a" / "b") == os.path.join("a", "b")


def test_clean_lists_paths_a_user_can_paste_from_elsewhere(tmp_path, monkeypatch, capsys):
    from coop_utils.cli import main
    from coop_utils.paths import ROOT

    (ROOT / "runs" / "explore").mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)
    assert main(["clean"]) == 0
    listed = [line.split(maxsplit=2)[2] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert listed and all(os.path.isabs(p) and os.path.exists(p) for p in listed), listed


# item 5: nothing is left behind by a command that stopped before any work


def test_a_missing_key_leaves_no_folder_and_no_lock(tmp_path, monkeypatch, capsys):
    from coop_utils.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "runs" / "o3"
    assert main(["run", "--agents", "o3", "--runs", "1", "--out", str(out)]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert not out.exists()


def test_a_lock_is_removed_when_its_holder_ends_and_a_waiter_takes_the_new_one(tmp_path):
    from coop_utils.run.folders import GridLockedError, hold

    lock = tmp_path / ".coop-grid.lock"
    with hold(lock, "the folder", "--out"):
        assert "pid" in lock.read_text()
        with pytest.raises(GridLockedError):
            with hold(lock, "the folder", "--out"):
                pass
    assert not lock.exists()

    def first() -> None:
        with hold(lock, "the folder", "--out"):
            time.sleep(0.5)

    holder = threading.Thread(target=first)
    holder.start()
    time.sleep(0.1)
    with hold(lock, "the folder", "--out", wait_s=10):
        assert lock.exists() and str(os.getpid()) in lock.read_text()
        with pytest.raises(GridLockedError):  # a third sees the waiter's lock, not a free file
            with hold(lock, "the folder", "--out"):
                pass
    holder.join()
    assert not lock.exists()


@pytest.mark.slow
def test_an_evaluation_leaves_no_lock_file(tmp_path, capsys):
    from coop_utils.cli import main

    out = tmp_path / "eval"
    argv = ["evaluate", "local:cooperator", "--rounds", "3", "--min-runs", "2", "--max-runs", "2"]
    argv += ["--out", str(out), "--no-leaderboard", "--no-report"]
    assert main(argv) == 0
    assert (out / "summary.json").exists()
    assert not list(out.rglob(".coop-*.lock"))


# item 6: every missing key at once, by the dry run too; the heading says what happens


PAID = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "DEEPINFRA_TOKEN")


@pytest.mark.slow
def test_every_missing_key_of_a_grid_is_named_at_once(tmp_path, monkeypatch, capsys):
    from coop_utils.cli import main
    from coop_utils.paths import ROOT

    for key in PAID:
        monkeypatch.delenv(key, raising=False)
    grid = str(ROOT / "grids" / "paper.yaml")
    assert main(["grid", grid, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert all(key in err for key in PAID), err
    assert not (tmp_path / "out").exists()
    assert main(["grid", grid, "--dry-run"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("keys not set"))
    assert all(key in line for key in PAID), line


@pytest.mark.slow
def test_evaluate_names_a_missing_key_before_printing_an_estimate(monkeypatch, capsys, tmp_path):
    from coop_utils.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    argv = ["evaluate", "o3", "claude-sonnet-4", "--max-cost", "5", "--out", str(tmp_path / "e")]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "OPENAI_API_KEY" in err and "ANTHROPIC_API_KEY" in err
    assert not (tmp_path / "e").exists()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("coop_utils.run.evaluate.protocol.run_evaluation", _no_evaluation)
    with pytest.raises(_NoEvaluation):
        main(["evaluate", "o3", "--max-cost", "5", "--out", str(tmp_path / "e")])
    out = capsys.readouterr().out
    assert "about to run grid 'evaluate o3'" in out and "nothing called" not in out


class _NoEvaluation(Exception):
    pass


def _no_evaluation(*args, **kwargs):
    raise _NoEvaluation


# item 7: help a person can use, and errors that point at the subcommand and its flags


def _help(command: str) -> str:
    return _coop(command, "--help").stdout


@pytest.mark.slow
def test_help_shows_defaults_notebooks_and_their_parameters_in_wrapped_lines():
    assert "(default 1)" in _help("run").split("--runs", 2)[2].split("\n  --")[0]
    text = _help("reproduce")
    from coop_utils.run.experiments import published_parameters
    from coop_utils.run.reproduce import notebooks

    for nb in notebooks():
        assert nb.stem in text and all(k in text for k in published_parameters(nb))
    for command in ("run", "grid", "reproduce", "evaluate", "clean", "models"):
        wide = [line for line in _help(command).splitlines() if len(line) > 100]
        assert not wide, f"coop {command} --help: {wide}"


def test_an_unknown_option_points_at_the_subcommands_help_with_the_nearest():
    done = _coop("grid", "grids/offline.yaml", "--dryrun")
    assert done.returncode == 2
    assert "(did you mean --dry-run?)" in done.stderr and "see coop grid --help" in done.stderr


def test_evaluate_names_its_flags_as_typed(capsys):
    from coop_utils.cli import main

    assert main(["evaluate", "local:cooperator", "--max-runs", "1", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "--max-runs" in err and "max_runs" not in err
    assert main(["evaluate", "local:cooperator", "--min-runs", "5", "--max-runs", "4"]) == 2
    err = capsys.readouterr().err
    assert "--min-runs" in err and "min_runs" not in err


def test_did_you_mean_for_a_models_file_key_an_agent_and_a_grids_model(tmp_path, capsys):
    from coop_utils.cli import main

    models = tmp_path / "m.yaml"
    models.write_text("models:\n  m:\n    provder: openai\n    model: x\n")
    assert main(["models", "--models", str(models)]) == 2
    assert "'provder' (did you mean 'provider'?)" in capsys.readouterr().err
    assert main(["run", "--agents", "5*perfect,5*withholdr", "--rounds", "1"]) == 2
    assert "(did you mean 'withholder'?)" in capsys.readouterr().err
    assert main(["run", "--agents", "local:withholdr", "--rounds", "1"]) == 2
    assert "(did you mean 'local:withholder'?)" in capsys.readouterr().err
    grid = tmp_path / "g.yaml"
    grid.write_text("models: [local:cooperator, withholdr]\nruns: 1\n")
    assert main(["grid", str(grid), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"grid file {grid}: models: unknown model 'withholdr' (did you mean" in err


# item 8: tables render as HTML tables, population labels survive Markdown


def test_a_shown_table_prints_as_text_and_displays_as_html():
    import pandas as pd
    from IPython.core.formatters import DisplayFormatter

    from coop_utils.analysis import tables as T

    label = "5*local:reciprocator,5*local:withholder"
    shown = T.show(pd.DataFrame({"model": [label], "tasks": [12.345], "p": [0.01234]}))
    assert str(shown).splitlines()[1].split() == [label, "12.3", "0.012"], "print: the text"
    data, _ = DisplayFormatter().format(shown)
    assert data["text/html"].startswith("<table") and f"<td>{label}</td>" in data["text/html"]
    assert data["text/plain"] == str(shown), "text/plain is the table, not a quoted string"


def test_notebook_03_displays_tables_3_and_5_as_html():
    import nbformat

    from coop_utils.paths import ROOT

    nb = nbformat.read(ROOT / "notebooks" / "03_interventions.ipynb", as_version=4)
    for table in ("T.table3(", "T.table5("):
        cell = next(c for c in nb.cells if c.cell_type == "code" and table in c.source)
        html = [o for o in cell.outputs if "text/html" in o.get("data", {})]
        assert html and "<table" in html[0]["data"]["text/html"], f"{table}: no HTML table"


def test_population_labels_keep_their_asterisks_in_markdown():
    from coop_utils.analysis.prose import names

    text = names(["5*local:reciprocator,5*local:withholder under auto_request"], code=False)
    assert text == r"5\*local:reciprocator,5\*local:withholder under auto\_request"


# item 9: README samples come from their commands; labels stay inside the axes; paper rows


@pytest.mark.slow
def test_the_readmes_paper_grid_dry_run_is_what_the_command_prints(monkeypatch, capsys):
    from coop_utils.cli import main
    from coop_utils.paths import ROOT

    for key in PAID:  # the sample is printed with every key set
        monkeypatch.setenv(key, "test")
    monkeypatch.chdir(ROOT)
    assert main(["grid", "grids/paper.yaml", "--dry-run"]) == 0
    text = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    assert f"```text\n$ coop grid grids/paper.yaml --dry-run\n{text}```" in readme, (
        "paste the output of `coop grid grids/paper.yaml --dry-run` into the README again"
    )


def test_point_labels_stay_inside_the_axes_even_where_nothing_fits():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coop_utils.analysis.plots.labels import place_labels

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.set(xlim=(0, 100), ylim=(0, 100))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    crowded = [frame.frozen()] * 20  # legend, quadrant names, error bars: no free place
    xs, ys = [99, 1, 50, 99, 1, 50], [99, 1, 99, 1, 50, 2]
    texts = ["5*local:reciprocator,5*local:withholder (paper)"] * 6
    place_labels(ax, xs, ys, texts, ["k"] * 6, crowded)
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5, text.get_text()
        assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5, text.get_text()
    plt.close(fig)


def test_the_reports_paper_rows_show_the_papers_runs_not_zero(tmp_path):
    from coop_utils.analysis.load import load_runs
    from coop_utils.analysis.paper import load_paper
    from coop_utils.run.evaluate import report as R
    from coop_utils.run.grid import run_grid
    from coop_utils.run.plan import GridSpec

    run_grid(GridSpec(models=["perfect"], runs=2, env={"rounds": 3}), tmp_path, progress=False)
    table = R.table1(load_runs(tmp_path), load_paper()).data
    assert table.set_index("model").loc["perfect", "runs"] == "2"
    paper_rows = table[table.model != "perfect"]
    assert len(paper_rows) >= 8 and (paper_rows.runs == str(R.PAPER_RUNS)).all()
