"""`coop view`: the page holds every turn, thought and event kind of its run, opens with no
network, and puts two runs of one seed side by side where they part."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter

import pytest

from coop_utils.cli import main
from coop_utils.game.events import read_events
from coop_utils.game.prompts import parse_observation
from coop_utils.run.grid import GridSpec, run_grid
from coop_utils.run.view import view_html, write_view
from coop_utils.run.view.data import thought_marks

POPULATION = "3*local:withholder,3*local:manipulator,4*local:bungler"


@pytest.fixture(scope="module")
def runs(_server, tmp_path_factory):
    """Baseline and incentive of one seed, 4 rounds, with malformed replies injected."""
    out = tmp_path_factory.mktemp("view")
    _server.set_faults(rate_malformed=0.2)  # P(no parse error in 40 turns) = 0.8**40 < 1e-3
    try:
        spec = GridSpec(
            name="view",
            models=[POPULATION],
            conditions=["baseline", "incentive"],
            seeds=[3],
            env={"rounds": 4},
        )
        result = run_grid(spec, out, progress=False, base_urls={"local": _server.base_url})
    finally:
        _server.set_faults(rate_malformed=0)
    assert not result.failed
    found = {p.parent.parent.name: p.parent for p in out.rglob("summary.json")}
    return found["baseline"], found["incentive"]


def _data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="view-data">(.*?)</script>', page, re.S)
    return json.loads(blob.group(1))


def _prompts(page: str, i: int) -> dict:
    blob = re.search(rf'id="view-prompts-{i}">(.*?)</script>', page, re.S).group(1)
    return json.loads(gzip.decompress(base64.b64decode(blob)))


def _unpack(lines: list[str], refs: list[int]) -> str:
    out, last = [], -1
    for r in refs:
        if r >= 0:
            out.append(lines[r])
            last = r
        else:
            out += lines[last + 1 : last + 1 - r]
            last -= r
    return "\n".join(out)


def test_every_turn_thought_and_event_kind_is_on_the_page(runs):
    folder = runs[0]
    events = read_events(folder / "events.jsonl")
    page = view_html([folder])
    run = _data(page)["runs"][0]
    turns = [it for it in run["items"] if it["type"] == "turn"]
    starts = [e for e in events if e.kind == "turn_start"]
    assert len(turns) == len(starts) == run["n_turns"]
    assert [(t["round"], t["agent"]) for t in turns] == [(e.round, e.agent) for e in starts]
    placed = sorted(ev[0] for it in run["items"] for ev in it["events"])
    assert placed == [e.seq for e in events], "every event in exactly one item"
    kinds = Counter(e.kind for e in events)
    assert run["kinds"] == kinds
    assert {"parse_error", "submit", "message", "llm_call"} <= set(kinds), kinds
    by_seq = {ev[0]: it for it in run["items"] for ev in it["events"]}
    for e in events:
        if e.kind == "agent_reply" and e.payload["private_thoughts"]:
            assert by_seq[e.seq]["thoughts"] == e.payload["private_thoughts"]
            assert by_seq[e.seq]["raw"] == e.payload["raw"]
    assert any(t.get("classes") for t in turns), "withholders' thoughts are classified"


def test_each_turn_opens_to_the_messages_its_agent_was_sent(runs):
    folder = runs[0]
    page = view_html([folder])
    run = _data(page)["runs"][0]
    assert run["prompt_note"].startswith("rebuilt from the seed")
    packed = _prompts(page, 0)
    assert len(packed["prompts"]) == run["n_turns"]
    first = [[role, _unpack(packed["lines"], refs)] for role, refs in packed["prompts"][0]]
    assert first[0][0] == "system" and first[1][0] == "user"
    turn = next(it for it in run["items"] if it["type"] == "turn")
    assert f"You are {turn['agent']}," in first[1][1]
    assert "It is round 1 of 4." in first[1][1]
    turns = [it for it in run["items"] if it["type"] == "turn"]
    for t, messages in zip(turns, packed["prompts"]):  # each read back as the server reads it
        obs = parse_observation(
            [{"role": r, "content": _unpack(packed["lines"], x)} for r, x in messages]
        )
        assert (obs.agent, obs.round) == (t["agent"], t["round"])


def test_a_replay_that_parts_from_the_log_shows_no_prompt(runs, tmp_path):
    """A log edited so that the seed cannot give it back: the page says so, no prompt."""
    folder = tmp_path / "run"
    shutil.copytree(runs[0], folder)
    lines = (folder / "events.jsonl").read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if '"kind":"transfer"' in line)
    lines[k] = lines[k].replace('"manipulated":false', '"manipulated":true', 1)
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    page = view_html([folder])
    assert _data(page)["runs"][0]["prompt_note"].startswith("prompts not rebuilt")
    assert 'id="view-prompts-0"' not in page


def test_thought_marks_cover_the_classifier_matches():
    text = "agent_2 asked me for Q3 sales data, but I am holding it back for now."
    classes, spans = thought_marks(text)
    assert classes == ["hard_defection"]
    assert [text[a:b] for a, b, _ in spans] == ["holding it back"]
    assert thought_marks("Sending agent_2 what it asked for.") == ([], [])


def test_two_runs_of_one_seed_part_where_their_histories_differ(runs):
    data = _data(view_html(list(runs)))
    cmp = data["compare"]
    assert cmp["same_seed"]
    assert ["condition", "baseline", "incentive"] in cmp["settings"]
    a, b = ([it for it in r["items"] if it["type"] == "turn"] for r in data["runs"])
    k = cmp["first"]
    assert k is not None
    same = [[ev[1:3] for ev in t["events"] if ev[1] not in ("llm_call",)] for t in a[:k]]
    assert same == [[ev[1:3] for ev in t["events"] if ev[1] not in ("llm_call",)] for t in b[:k]]
    assert cmp["round"] == a[k]["round"]
    alike = _data(view_html([runs[0], runs[0]]))["compare"]
    assert alike["first"] is None and alike["settings"] == []


# Anything that could make a browser load something: an attribute or a CSS url() naming
# a resource, an import, a request made from script.
_LOADS = re.compile(
    r"""(?<![\w-])(?:src|href|srcset|action|formaction|poster|xlink:href)\s*[=:]\s*["']?([^"'\s>]*)"""
    r"""|url\(\s*["']?([^)"']*)|@import|\bimport\s*\(|\bimport\s+[\w{*]"""
    r"""|<(?:link|iframe|object|embed|base|meta\s+http-equiv=["']?refresh)\b"""
    r"""|\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|navigator\.serviceWorker"""
)


_INERT = re.compile(r'(<script type="application/(?:json|octet-stream)"[^>]*>).*?(</script>)', re.S)
"""Data blocks: never run nor parsed as markup (the run's own text, e.g. a message quoting a
URL, lives there, JSON-escaped so it cannot close its block)."""


def network_loads(page: str) -> list[str]:
    """Every place the page could load something from outside itself (an in-page anchor,
    ``#...``, loads nothing)."""
    found = []
    for m in _LOADS.finditer(_INERT.sub(r"\1\2", page)):
        target = m.group(1) if m.group(1) is not None else m.group(2)
        if target is not None and (target == "" or target.startswith("#")):
            continue
        found.append(m.group(0))
    return found


def test_the_page_loads_nothing_from_outside(runs):
    page = view_html(list(runs))
    assert network_loads(page) == []
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for bad in ('<img src="http://x/a.png">', "<img src=a.png>", "@import 'a.css'", "url(a.woff)"):
        assert network_loads(page + bad), f"the check must catch {bad}"


def test_text_from_the_run_cannot_break_out_of_the_page(runs, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(runs[0], folder)
    text = (folder / "events.jsonl").read_text()
    evil = "</script><script src=http://example.invalid/x.js></script>"
    text = text.replace("It is round", evil.replace('"', '\\"') + "It is round", 1)
    (folder / "events.jsonl").write_text(text)
    page = view_html([folder])
    assert evil not in page and network_loads(page) == []
    assert any(evil in (it.get("thoughts") or "") for it in _data(page)["runs"][0]["items"])


def test_coop_view_writes_the_page_beside_the_run(runs, capsys):
    assert main(["view", str(runs[0])]) == 0
    assert (runs[0] / "view.html").is_file()
    assert capsys.readouterr().out.strip() == str(runs[0] / "view.html")
    assert main(["view", str(runs[0] / "nothing")]) == 2
    assert "not a run folder" in capsys.readouterr().err


_WATCH = """<script>
addEventListener("securitypolicyviolation", (e) => { document.documentElement.dataset.blocked =
  (document.documentElement.dataset.blocked || "") + " " + e.blockedURI; });
addEventListener("load", () => setTimeout(() => { document.documentElement.dataset.loaded =
  performance.getEntriesByType("resource").map((r) => r.name).join(" ") || "nothing"; }, 500));
</script>"""
"""Put first in the page: what it loaded (resource timing) and what its policy refused."""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chromium_renders_every_turn_and_requests_nothing(runs, tmp_path):
    page = write_view(list(runs), tmp_path / "view.html")
    html = page.read_text()
    page.write_text(html.replace("<head>", "<head>" + _WATCH, 1))
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    cmd += ["--disable-background-networking", f"--user-data-dir={tempfile.mkdtemp()}"]
    cmd += ["--virtual-time-budget=5000", "--dump-dom", page.as_uri() + "#turn=3"]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    n_turns = _data(html)["runs"][0]["n_turns"]
    assert dom.count('class="item turn') >= n_turns  # the list, beside the side-by-side rows
    assert 'class="prompt"' in dom, "an opened turn shows its prompt"
    assert 'data-loaded="nothing"' in dom and "data-blocked" not in dom


async def test_a_notebook_cell_can_build_the_page(runs):
    """Inside a running event loop (a notebook cell) the replay runs on a loop of its own."""
    assert _data(view_html([runs[0]]))["runs"][0]["prompt_note"].startswith("rebuilt")


def test_jumps_land_on_the_first_withholding_thought_unanswered_request_and_bad_submissions(
    runs,
):
    events = read_events(runs[0] / "events.jsonl")
    run = _data(view_html([runs[0]]))["runs"][0]
    turns = [it for it in run["items"] if it["type"] == "turn"]
    jumps = run["jumps"]
    withholding = [t["n"] for t in turns if "hard_defection" in t.get("classes", [])]
    assert jumps["withholding"] == withholding[0]
    sent = {(e.agent, e.payload["to"], e.payload["piece"]) for e in events if e.kind == "transfer"}
    asked = next(
        e
        for e in events
        if e.kind == "message"
        and any((e.payload["to"], e.agent, p) not in sent for p in e.payload["requests"])
    )
    assert asked.seq in [ev[0] for ev in turns[jumps["unanswered"]]["events"]]
    penalised = [e.seq for e in events if e.kind == "submit" and e.payload["penalty"]]
    assert penalised, "the manipulators' altered values are penalised"
    landed = [ev[0] for n in jumps["failed_submissions"] for ev in turns[n]["events"]]
    assert set(penalised) <= set(landed)
