"""``coop evaluate`` end to end, offline: scripted populations through the local server.

The diagnoses must come from the numbers: the withholder (sends rarely) is
cooperation-limited and gets the sender bonus, the bungler (rarely asks or submits)
competence-limited and gets the protocol, and a withholder under an innocent alias is
diagnosed the same way. Every test writes to a temporary leaderboard, never a tracked file.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from coop_utils.cli import main
from coop_utils.run.evaluate.leaderboard import DEFAULT_PATH
from coop_utils.run.evaluate.protocol import PROTOCOL_VERSION

QUICK = ["--rounds", "15", "--min-runs", "3", "--max-runs", "3"]
"""15 rounds and 3 runs per cell keep CI fast; % of optimal is then measured against perfect
play at 15 rounds. (At 10 rounds the bungler's cooperation rate sits at 50% itself.)"""


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """One evaluation of the two scripted populations, with its report, shared by tests."""
    out = tmp_path_factory.mktemp("evaluate")
    tracked = _digest(DEFAULT_PATH)
    argv = ["evaluate", "local:withholder", "local:bungler", "--out", str(out / "ev")]
    argv += ["--leaderboard", str(out / "board.csv"), *QUICK]
    code = main(argv)
    assert _digest(DEFAULT_PATH) == tracked, "a test must never write the tracked leaderboard"
    return code, out


@pytest.mark.slow
def test_offline_evaluation_diagnoses_from_the_numbers(offline):
    code, out = offline
    assert code == 0
    summary = json.loads((out / "ev" / "summary.json").read_text())
    w, b = summary["models"]["local:withholder"], summary["models"]["local:bungler"]
    assert w["diagnosis"] == "cooperation-limited" and list(w["interventions"]) == ["incentive"]
    assert w["cooperation_rate"]["hi"] < 50 <= w["competence_rate"]["lo"]
    assert b["diagnosis"] == "competence-limited" and "policy" in b["interventions"]
    assert b["competence_rate"]["hi"] < 50 <= b["cooperation_rate"]["mean"]
    if "incentive" in b["interventions"]:  # only as a check on an uncertain cooperation rate,
        assert b["uncertain"] == ["cooperation"]  # and the bonus then changes nothing
        assert abs(b["interventions"]["incentive"]["pct_change"]) < 10
    # the fix works, paired on shared seeds
    for m, fix in ((w, "incentive"), (b, "policy")):
        effect = m["interventions"][fix]
        assert effect["pct_change"] > 100 and effect["n_pairs"] == 3 and effect["p"] < 0.05
        tested = [e["p"] for e in m["interventions"].values() if e.get("p") is not None]
        assert effect["p_holm"] >= effect["p"], "Holm over the model's interventions"
        assert len(tested) > 1 or effect["p_holm"] == effect["p"]
        assert effect["significant"] is (effect["p_holm"] < 0.05)
    for m in (w, b):
        assert m["scripted"] and "scripted" in m["in_words"] and m["paper"] is None
        for cell in m["cells"].values():
            assert cell["runs"] == 3 and cell["status"] in ("settled", "capped")
            assert cell["status"] == "capped" or cell["half_width"] <= 5
    assert summary["ceiling"]["source"].startswith("our perfect play")
    assert summary["setting"] == "rounds=15" and summary["stopped"] is None


@pytest.mark.slow
def test_offline_evaluation_is_labelled_scripted_everywhere(offline):
    _, out = offline
    board = (out / "board.csv").read_text()
    rows = [r for r in board.splitlines() if r.startswith("local:")]
    assert len(rows) == 2 and all(",scripted," in r and "not model behaviour" in r for r in rows)
    assert board.count(",paper,paper,") == 8
    header = board.splitlines()[0].split(",")
    assert {"incentive_pct_change_lo", "incentive_pct_change_hi", "incentive_p_holm"} <= set(header)
    html = (out / "ev" / "report.html").read_text()
    assert "Scripted agents:" in html and "are scripted policies served over HTTP" in html
    assert html.count("data:image/png;base64") >= 4, "quadrant, capability, interventions, thoughts"
    for section in ("Table 1", "Table 2", "Interventions", "Private thoughts", "Provenance"):
        assert section in html
    notebook = nbformat.read(out / "ev" / "report.ipynb", as_version=4)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    noise = [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert outputs and not noise, noise
    record = json.loads((out / "ev" / "evaluation.json").read_text())
    assert record["protocol"] == PROTOCOL_VERSION and record["batches"]


@pytest.mark.slow
def test_the_report_links_to_a_view_of_each_cell(offline):
    _, out = offline
    html = (out / "ev" / "report.html").read_text()
    links = re.findall(r'href="([^"]+\.html)"', html)
    record = json.loads((out / "ev" / "evaluation.json").read_text())
    cells = {(c["model"], c["condition"]) for c in record["cells"] if c["runs"]}
    singles = [x for x in links if x.endswith("/view.html")]
    pairs = [x for x in links if "/view-vs-" in x]
    assert len(singles) == len(cells) and len(pairs) == len(cells) - 2  # all but 2 baselines
    for link in links:
        page = (out / "ev" / link).read_text()
        assert "coop view" in page and "scripted agents" in page


@pytest.mark.slow
def test_a_tighter_target_reuses_every_run(offline, capsys):
    """A second evaluation with a tighter target adds seeds, and re-plays none."""
    _, out = offline
    before = json.loads((out / "ev" / "evaluation.json").read_text())
    made = {c["condition"]: c["runs"] for c in before["cells"] if c["model"] == "local:withholder"}
    argv = ["evaluate", "local:withholder", "--out", str(out / "ev"), "--no-report"]
    argv += ["--leaderboard", str(out / "board.csv"), *QUICK]
    argv += ["--max-runs", "4", "--batch", "1", "--target", "0.5"]
    assert main(argv) == 0
    after = json.loads((out / "ev" / "evaluation.json").read_text())
    first = after["batches"][0]
    assert first["completed"] == 0 and first["already_done"] == 9, "the first batch was on disk"
    grown = {c["condition"]: c["runs"] for c in after["cells"]}
    assert sum(b["completed"] for b in after["batches"]) == sum(
        grown[k] - made[k] for k in grown
    ), "only the new seeds were played"
    assert all(grown[k] in (made[k], made[k] + 1) for k in grown) and grown != made
    board = (out / "board.csv").read_text()
    assert sum(r.startswith("local:withholder,") for r in board.splitlines()) == 1, "upserted"


@pytest.mark.slow
def test_the_name_plays_no_part_and_the_budget_holds(tmp_path, capsys):
    """A withholder behind an innocent alias is still cooperation-limited; priced, under a
    cap, the evaluation stops where the money ends and says so."""
    models = tmp_path / "models.yaml"
    entry = {"provider": "local", "model": "scripted/withholder", "max_output_tokens": 400}
    models.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "helpful-assistant": entry,
                    "priced-helper": {**entry, "prices": {"input": 1.0, "output": 1.0}},
                }
            }
        )
    )
    common = ["--models", str(models), "--no-report", "--rounds", "5"]
    common += ["--min-runs", "2", "--max-runs", "2", "--leaderboard", str(tmp_path / "b.csv")]
    assert main(["evaluate", "helpful-assistant", "--out", str(tmp_path / "a"), *common]) == 0
    m = json.loads((tmp_path / "a" / "summary.json").read_text())["models"]["helpful-assistant"]
    assert m["diagnosis"] == "cooperation-limited" and list(m["interventions"]) == ["incentive"]

    argv = ["evaluate", "priced-helper", "--out", str(tmp_path / "p"), "--max-cost", "0.2"]
    assert main([*argv, *common]) == 2, "cells left unfinished: as coop run and coop grid"
    assert "priced-helper" not in (tmp_path / "b.csv").read_text(), "no row with spending uncounted"
    s = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert s["stopped"].startswith("budget") and 0 < s["spent_usd"] <= 0.2
    cells = s["models"]["priced-helper"]["cells"]
    assert all(c["status"] == "stopped" for c in cells.values())
    assert s["models"]["priced-helper"]["interventions"] == {}


@pytest.mark.slow
def test_dry_run_prints_the_expected_runs_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["evaluate", "o3-mini", "--dry-run", "--out", str(tmp_path / "x")]) == 0
    assert "keys not set, needed before it can run: OPENAI_API_KEY" in capsys.readouterr().out
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # the README's sample: the key is set
    assert main(["evaluate", "o3-mini", "--dry-run", "--out", str(tmp_path / "x")]) == 0
    text = capsys.readouterr().out
    assert "sd 6.8 points" in text and "±5 points: 10" in text
    assert "then incentive (the paper's rates put o3-mini cooperation-limited)" in text
    assert "cost USD" in text and "at most:" in text
    assert not (tmp_path / "x").exists()
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"$ coop evaluate o3-mini --dry-run\n{text}```" in readme, (
        "the README shows this output: paste `coop evaluate o3-mini --dry-run` into it again"
    )


def test_a_model_that_costs_money_needs_a_cap(tmp_path, capsys):
    assert main(["evaluate", "o3", "--out", str(tmp_path)]) == 2
    assert "--max-cost USD is required" in capsys.readouterr().err
    assert main(["evaluate", "a", "b", "--elo", "1400", "--dry-run"]) == 2
    assert "--elo MODEL=SCORE" in capsys.readouterr().err


def test_one_evaluation_at_a_time_and_never_into_a_foreign_folder(tmp_path, capsys):
    from coop_utils.run.evaluate.protocol import LOCK_FILE, EvaluationSpec, run_evaluation
    from coop_utils.run.folders import hold

    out = tmp_path / "ev"
    (out / "runs").mkdir(parents=True)
    argv = ["evaluate", "local:withholder", "--out", str(out), "--no-leaderboard", "--rounds", "2"]
    with hold(out / LOCK_FILE, "held by this test", "--out"):
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out {out} is in use" in err and f"pid {__import__('os').getpid()}" in err
    assert not (out / "evaluation.json").exists()

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main([*argv[:2], "--out", str(foreign), *argv[4:]]) == 2
    assert "not made by coop evaluate" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    with pytest.raises(ValueError, match="one folder name"):
        run_evaluation(EvaluationSpec(models=["team/x", "team_x"]), tmp_path / "clash")


def _git_status() -> str | None:
    """``git status --porcelain`` of the checkout (None when this is not one)."""
    import subprocess

    root = Path(__file__).parent.parent
    done = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


def test_an_evaluation_writes_no_tracked_file_unless_asked(tmp_path, monkeypatch, capsys):
    """From the repository's root, with no leaderboard option: everything lands in --out."""
    before = _git_status()
    if before is None:
        pytest.skip("not a git checkout")
    monkeypatch.chdir(Path(__file__).parent.parent)
    out = tmp_path / "ev"
    argv = ["evaluate", "local:withholder", "--out", str(out), "--rounds", "2", "--no-report"]
    assert main([*argv, "--min-runs", "2", "--max-runs", "2"]) == 0
    assert _git_status() == before, "coop evaluate wrote in the repository"
    board = (out / "leaderboard.csv").read_text()
    assert board.count(",paper,paper,") == 8 and "\nlocal:withholder,scripted," in board
    assert (out / "leaderboard.png").exists()
    assert f"leaderboard: {out / 'leaderboard.csv'}" in capsys.readouterr().err


def test_publishing_a_scripted_population_is_refused(tmp_path, capsys):
    tracked = _digest(DEFAULT_PATH)
    for flags in (["--publish"], ["--leaderboard", str(DEFAULT_PATH)]):
        argv = ["evaluate", "local:withholder", "--out", str(tmp_path / "ev"), *flags]
        assert main([*argv, "--rounds", "2"]) == 2
        err = capsys.readouterr().err
        assert "local:withholder is scripted" in err and "OUT/leaderboard.csv" in err
    assert not (tmp_path / "ev").exists() and _digest(DEFAULT_PATH) == tracked
    argv = ["evaluate", "local:withholder", "--out", str(tmp_path / "ev"), "--dry-run"]
    assert main([*argv, "--leaderboard", str(tmp_path / "board.txt")]) == 2
    assert "a leaderboard is a .csv file" in capsys.readouterr().err
    argv = ["evaluate", "local:withholder", "--publish", "--no-leaderboard", "--dry-run"]
    with pytest.raises(SystemExit):
        main(argv)
    assert "not allowed with argument" in capsys.readouterr().err
