"""No data lost, nothing silent: the cache, run folders and inputs under kills, races and misuse.

Each test is one case of issue 10 (and item 5 of issue 12) that failed before the fix: a
gzip cache torn by SIGKILL, run folders that collide, two grids on one folder, a folder
or cache that is not ours, a reply with half a surrogate pair, degenerate grids, and input
files that ended in a traceback instead of one line naming the file and key. The cache on
its own is tested in tests/test_cache.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coop_utils.analysis import load
from coop_utils.cli import main
from coop_utils.llm import client as llm_client
from coop_utils.llm.cache import ResponseCache
from coop_utils.llm.completion import Completion
from coop_utils.run.grid import GridSpec, load_grid, run_grid

GRID_CLI = [sys.executable, "-m", "coop_utils.cli", "grid"]
DEAD = {"local": "http://127.0.0.1:9/v1"}  # nothing listens there: no call may be made


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("COOP_LOCAL_URL", None)
    return env


def _events(out: Path) -> dict[str, str]:
    return {
        str(p.parent.relative_to(out)): p.read_text() for p in sorted(out.rglob("events.jsonl"))
    }


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- 1. a cache that survives kills (the cache itself: tests/test_cache.py) ---------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_gz_cache_killed_with_sigkill_resumes_and_replays_every_run(tmp_path, killed_grid):
    cache = tmp_path / "c.jsonl.gz"
    killed = killed_grid("--cache", str(cache))
    out, done_before, cmd = killed.out, killed.done, killed.cmd
    readable_before = len(ResponseCache(cache))
    rerun = subprocess.run(
        [*cmd, "--json"], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    resumed = json.loads(rerun.stdout)
    after = ResponseCache(cache)
    assert len(after) == 12 * 3 * 10, "one record per turn of every run"
    assert len(after) >= readable_before and len(after) - readable_before <= resumed["live_calls"]
    spec = load_grid(killed.grid).model_copy(update={"mode": "replay", "cache": str(cache)})
    replay = run_grid(spec, tmp_path / "replay", progress=False, base_urls=DEAD)
    assert len(replay.completed) == 12 and replay.usage.live_calls == 0, replay.failed
    assert _events(out) == _events(tmp_path / "replay")
    print(
        f"\ngz SIGKILL: {done_before} of 12 runs done at the kill; {readable_before} records "
        f"readable after the kill, {len(after)} after the resume ({resumed['live_calls']} live "
        f"calls); replay completed {len(replay.completed)} of 12 runs with 0 live calls"
    )


def test_torn_records_are_reported_in_the_grid_summary(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COOP_LOCAL_URL", server.base_url)
    grid = tmp_path / "g.yaml"
    grid.write_text("models: ['local:cooperator']\nruns: 1\nenv: {rounds: 2}\n")
    out = tmp_path / "out"
    assert _cli(["grid", grid, "--out", out], capsys)[0] == 0
    with open(out / "llm_cache.jsonl", "a") as fh:
        fh.write('{"key": "abc", "text": "cut by a ki')
    grid.write_text("models: ['local:cooperator']\nruns: 2\nenv: {rounds: 2}\n")
    code, stdout, _ = _cli(["grid", grid, "--out", out, "--json"], capsys)
    assert code == 0 and json.loads(stdout)["cache_torn_records"] == 1
    grid.write_text("models: ['local:cooperator']\nruns: 3\nenv: {rounds: 2}\n")
    with open(out / "llm_cache.jsonl", "a") as fh:
        fh.write('{"key": "def", "te')
    code, _, err = _cli(["grid", grid, "--out", out], capsys)
    assert code == 0 and "1 torn record" in err, err
    assert ResponseCache(out / "llm_cache.jsonl").torn_lines == 0, "the torn tail was cut off"


# ---- 2. run folders named injectively; duplicate cells refused -----------------------------------


def test_populations_whose_names_collide_get_their_own_folders(server, tmp_path):
    f = tmp_path / "models.yaml"
    f.write_text(
        "models:\n  team/x: {provider: local, model: scripted/cooperator}\n"
        "  team_x: {provider: local, model: scripted/withholder}\n"
    )
    spec = GridSpec(models=["team/x", "team_x"], runs=1, env={"rounds": 2}, models_file=str(f))
    urls = {"local": server.base_url}
    first = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert len(first.completed) == 2
    runs = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("run.json")]
    assert sorted(r["population"] for r in runs) == ["team/x", "team_x"]
    assert len(set(first.completed)) == 2
    again = run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert again.already_done == 2 and again.completed == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("models: [perfect, perfect]", "models: lists 'perfect' twice"),
        ("models: [perfect, '10*perfect']", "'perfect' and '10*perfect' are the same population"),
        ("models: [perfect]\nseeds: [1, 1]", "seeds: lists 1 twice"),
        ("models: [perfect]\nconditions: [baseline, baseline]", "conditions: lists 'baseline'"),
    ],
    ids=["models", "same-seats", "seeds", "conditions"],
)
def test_duplicate_cells_are_refused(tmp_path, capsys, body, says):
    grid = tmp_path / "g.yaml"
    grid.write_text(body + "\n")
    code, _, err = _cli(["grid", grid, "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert not (tmp_path / "out").exists(), "refused before anything was written"


# ---- 3. one grid per folder ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_a_second_grid_on_the_same_out_refuses_within_a_second(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "name: slow\nmodels: ['local:cooperator']\nruns: 2\nenv: {rounds: 5}\n"
        "episodes_in_flight: 1\nserver: {latency_s: 0.05}\n"
    )
    out, cache = tmp_path / "out", tmp_path / "shared.jsonl"
    first = subprocess.Popen(
        [*GRID_CLI, str(grid), "--out", str(out), "--cache", str(cache)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not cache.exists():
            time.sleep(0.02)
        assert cache.exists(), "the first grid is running"
        start = time.perf_counter()
        second = subprocess.run(
            [*GRID_CLI, str(grid), "--out", str(out)], env=_env(), capture_output=True, text=True
        )
        took = time.perf_counter() - start  # the whole command, Python's start-up included
        assert (
            second.returncode == 2 and f"in use by another grid (pid {first.pid}" in second.stderr
        )
        assert len(second.stderr.strip().splitlines()) == 1 and took < 1.0, (took, second.stderr)
        with pytest.raises(ValueError, match=f"in use by .*pid {first.pid}"):
            run_grid(load_grid(grid), out, progress=False)  # the lock itself, past the CLI
        other = tmp_path / "other"  # another folder, the same cache file: refused too
        with pytest.raises(ValueError, match=f"shared.jsonl is in use by .*pid {first.pid}"):
            run_grid(load_grid(grid, cache=str(cache)), other, progress=False)
        print(f"\nsecond coop grid on one --out refused in {took * 1000:.0f} ms (whole command)")
        assert first.poll() is None, "the first grid was not disturbed"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


# ---- 4. folders and caches that are not ours -----------------------------------------------------


def test_a_folder_not_made_by_a_grid_is_refused_unless_empty(tmp_path):
    spec = GridSpec(models=["perfect"], runs=1, env={"rounds": 1})
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "grid.json").write_text('{"my": "own notes"}')
    with pytest.raises(ValueError, match="not made by coop grid"):
        run_grid(spec, mine, progress=False)
    assert (mine / "grid.json").read_text() == '{"my": "own notes"}'
    assert sorted(p.name for p in mine.iterdir()) == ["grid.json"], "nothing was added"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_grid(spec, empty, progress=False).ok
    assert run_grid(spec, empty, progress=False).already_done == 1, "ours is reused"


def test_a_cache_with_garbage_lines_is_refused_not_appended_to(server, tmp_path):
    notes = tmp_path / "notes.jsonl"
    good = json.dumps(Completion("k1", text="one").record())
    notes.write_text(f"{good}\nmy shopping list\n{good}\n")
    before = notes.read_text()
    spec = GridSpec(
        models=["local:cooperator"], runs=1, env={"rounds": 1}, mode="live", cache=str(notes)
    )
    urls = {"local": server.base_url}
    with pytest.raises(ValueError, match=r"notes\.jsonl.*line 2"):
        run_grid(spec, tmp_path / "out", progress=False, base_urls=urls)
    assert notes.read_text() == before and server.stats()["requests"] == 0


# ---- 6. a reply with half a surrogate pair -------------------------------------------------------


def test_a_reply_with_a_lone_surrogate_never_fails_a_run(server, tmp_path, monkeypatch):
    real = llm_client.read_completion

    def with_surrogate(*args, **kw):
        done = real(*args, **kw)
        return Completion(**{**done.record(), "text": done.text + " \ud83d"})

    monkeypatch.setattr(llm_client, "read_completion", with_surrogate)
    spec = GridSpec(models=["local:cooperator"], runs=1, env={"rounds": 2}, mode="live")
    live = run_grid(spec, tmp_path / "live", progress=False, base_urls={"local": server.base_url})
    assert live.ok and live.usage.live_calls == 20, live.failed
    replay = spec.model_copy(
        update={"mode": "replay", "cache": str(tmp_path / "live" / "llm_cache.jsonl")}
    )
    again = run_grid(replay, tmp_path / "replay", progress=False, base_urls=DEAD)
    assert again.ok and again.usage.cached_calls == 20, again.failed
    assert _events(tmp_path / "live") == _events(tmp_path / "replay")


# ---- 7. degenerate input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("models: []", "models"),
        ("models: [perfect]\nconditions: []", "conditions"),
        ("models: [perfect]\nseeds: []", "seeds"),
        ("models: [perfect]\nsettings: {}", "settings"),
        ("models: [perfect]\nmax_cost: -5", "max_cost"),
        ("models: ['local:cooperator']\nserver: {rate_429: 0.6, rate_500: 0.6}", "add up to 1.2"),
        ("models: ['local:cooperator']\nconcurrency: {local: 0}", "concurrency.local"),
        ("models: [perfect]\nenv: {rounds: 100000}", "rounds"),
        ("models: [perfect]\nsettings: {long: {rounds: 1000}}", "settings.long"),
    ],
    ids=[
        "no-models",
        "no-conditions",
        "no-seeds",
        "no-settings",
        "negative-max-cost",
        "fault-rates-past-1",
        "concurrency-0",
        "rounds-100000",
        "setting-rounds-1000",
    ],  # fmt: skip
)
def test_degenerate_grids_are_refused_in_one_line(tmp_path, capsys, body, says):
    grid = tmp_path / "g.yaml"
    grid.write_text(body + "\n")
    code, _, err = _cli(["grid", grid, "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err, err
    assert str(grid) in err and not (tmp_path / "out").exists()


def test_rounds_times_agents_has_a_documented_cap(capsys):
    from coop_utils.game.config import MAX_TURNS, EnvConfig

    docs = " ".join(f.description or "" for f in EnvConfig.model_fields.values())
    assert f"MAX_TURNS ({MAX_TURNS:,})" in docs
    code, _, err = _cli(["run", "--rounds", "100000"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "rounds" in err and f"{MAX_TURNS:,}" in err


# ---- 8. one line naming the file, the key and what is accepted -----------------------------------


@pytest.mark.parametrize(
    ("grid", "models", "says"),
    [
        ("models: [perfect\n", None, ["GRID", "YAML", "line 2"]),
        ("- perfect\n", None, ["GRID", "a mapping", "list"]),
        ("models: hello\n", None, ["GRID", "models", "list"]),
        ("modles: [perfect]\n", None, ["GRID", "modles", "accepted keys", "models"]),
        ("models: [perfect]\nruns: 2\nruns: 3\n", None, ["GRID", "runs", "twice"]),
        ("models: ['local:cooperator']\n", "providers: [local\n", ["MODELS", "YAML"]),
        ("models: ['local:cooperator']\n", "- local\n", ["MODELS", "a mapping"]),
        (
            "models: ['local:cooperator']\n",
            "providers:\n  local: {concurrency: 0}\n",
            ["MODELS", "concurrency", "greater than or equal to 1"],
        ),
        (
            "models: ['local:cooperator']\n",
            "models:\n  x: {provider: local, modle: y}\n",
            ["MODELS", "modle"],
        ),
    ],
    ids=[
        "bad-yaml",
        "top-level-list",
        "models-hello",
        "unknown-key",
        "duplicate-key",
        "models-file-bad-yaml",
        "models-file-list",
        "models-file-bad-value",
        "models-file-unknown-key",
    ],  # fmt: skip
)
def test_input_files_fail_in_one_line_naming_the_file_and_key(tmp_path, capsys, grid, models, says):
    path = tmp_path / "g.yaml"
    path.write_text(grid + (f"models_file: {tmp_path / 'm.yaml'}\n" if models else ""))
    if models:
        (tmp_path / "m.yaml").write_text(models)
    code, _, err = _cli(["grid", path, "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    names = {"GRID": str(path), "MODELS": str(tmp_path / "m.yaml")}
    for word in says:
        assert names.get(word, word) in err, (word, err)


def test_out_naming_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "out.txt").write_text("mine")
    code, _, err = _cli(["run", "--out", tmp_path / "out.txt"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file" in err, err
    assert (tmp_path / "out.txt").read_text() == "mine"


def test_replay_from_a_missing_cache_says_file_not_found(tmp_path, capsys):
    argv = [
        "run",
        "--agents",
        "local:cooperator",
        "--cache-mode",
        "replay",
        "--out",
        tmp_path / "o",
    ]
    code, _, err = _cli([*argv, "--cache", tmp_path / "missing.jsonl"], capsys)
    assert code == 2 and "missing.jsonl" in err and "file not found" in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_misspelled_scripted_model_is_caught_before_any_run_in_full_words(
    server, tmp_path, monkeypatch, capsys
):
    from coop_utils.agents import PRESETS

    monkeypatch.setenv("COOP_LOCAL_URL", server.base_url)
    argv = ["run", "--agents", "local:cooperater", "--out", tmp_path / "o"]
    code, _, err = _cli(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cooperater" in err and all(name in err for name in PRESETS), "never cut mid-word"
    assert server.stats()["requests"] == 0 and not list((tmp_path / "o").rglob("run.json"))


def test_long_provider_errors_are_shortened_at_a_word():
    import httpx
    import openai

    from coop_utils.llm.failures import detail

    request = httpx.Request("POST", "http://x/v1/chat/completions")
    body = "unknown model; accepted models: " + ", ".join(f"scripted/policy{i}" for i in range(60))
    exc = openai.NotFoundError(body, response=httpx.Response(404, request=request), body=None)
    reason = detail(exc)
    assert len(reason) < len(body) and reason.endswith("…")
    kept = reason.removesuffix("…").split()[-1]
    assert kept in body.split(), f"cut mid-word: {kept!r}"


def test_a_truncated_events_log_is_named_and_a_resume_redoes_the_run(tmp_path, capsys):
    spec = GridSpec(models=["perfect"], runs=2, env={"rounds": 2})
    out = tmp_path / "out"
    assert len(run_grid(spec, out, progress=False).completed) == 2
    log = out / "perfect" / "baseline" / "seed1" / "events.jsonl"
    whole = log.read_text()
    log.write_text(whole[: len(whole) - 40])
    with pytest.raises(ValueError, match=f"{log}.*line"):
        load.load_runs(out)
    again = run_grid(spec, out, progress=False)
    assert again.completed == ["perfect.baseline.seed1"] and again.already_done == 1
    assert "events.jsonl" in again.damaged["perfect.baseline.seed1"]
    assert log.read_text() == whole and len(load.load_runs(out)) == 2


# ---- issue 12, item 5: paths inside a grid file ------------------------------------------------


def test_relative_paths_in_a_grid_file_resolve_against_its_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "p" / "grids"
    folder.mkdir(parents=True)
    (folder / "fast.yaml").write_text("providers:\n  local:\n    timeout_s: 3\n")
    grid = folder / "g.yaml"
    grid.write_text("models: [perfect]\nruns: 1\nenv: {rounds: 1}\nmodels_file: fast.yaml\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Path(load_grid(grid).models_file) == folder / "fast.yaml"
    assert load_grid(grid, models_file="mine.yaml").models_file == "mine.yaml", "options: cwd"
    code, _, err = _cli(["grid", grid, "--out", "o"], capsys)
    assert code == 0, err
    assert (elsewhere / "o" / "perfect" / "baseline" / "seed0" / "summary.json").exists()


def test_the_shipped_fault_grid_runs_from_any_folder(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    spec = load_grid(root / "grids" / "faults.yaml")
    assert Path(spec.models_file).is_file()
