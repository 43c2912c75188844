"""Conclusions are computed, not typed: prose helpers, the typed-number check over every
notebook's Markdown, and the README's generated block of our numbers."""

from __future__ import annotations

import math
import shutil

import nbformat
import pytest

from coop_utils.analysis import prose
from coop_utils.paths import ROOT
from coop_utils.run.reproduce import notebooks

NOTEBOOKS = notebooks(ROOT)
ALLOWED = prose.allowed_numbers()


def test_markdown_shows_as_markdown_and_prints_the_same_text():
    m = prose.md("**Reading it.** one", "", "  two  ")
    assert m._repr_markdown_() == "**Reading it.** one\n\ntwo"
    assert repr(m) == str(m) == m.text, "nbval compares the plain text: it must be the prose"


def test_small_formatters():
    assert prose.names([]) == "none" and prose.names(["a"]) == "`a`"
    assert prose.names(["a", "b", "c"], code=False) == "a, b and c"
    assert prose.names(["a", "b"]) == "`a` and `b`"
    assert prose.num(math.nan) == "–" and prose.num(3.14159, 2) == "3.14"
    assert prose.num(-8.3e-17, 2) == "0.00" and prose.num(-0.004, 2) == "0.00"
    assert prose.interval(-41.8, -12.39, 0) == "-42 to -12"
    assert prose.p_value(0.000123456) == "0.00012" and prose.p_value(math.nan) == "–"


def test_typed_numbers_flags_our_results_and_passes_the_papers():
    typed = (
        "The cooperator completes 162.3 ± 3.8 tasks; about 310 in 30 rounds; "
        "10 × 2 × 20 / 2 = 200; cross-talk 0.28."
    )
    assert prose.typed_numbers(typed, ALLOWED) == ["162.3", "3.8", "310", "200", "0.28"]
    reference = (
        "The paper: o3 reaches 17% and gemini-2.5-pro 79% (r = 0.16, p = 0.71 over 8 models), "
        "perfect play 204.0 ± 2.3 over 5 runs, 314 at 30 rounds; a $1,000 bonus; $100 to "
        "$100k; 10 agents, 20 rounds, 100 pieces; 95% intervals, 80% power, the 50% rule."
    )
    assert prose.typed_numbers(reference, ALLOWED) == []
    markup = (
        "See Table 3, Tables 6–8, Fig. 4 and §2 of `01_baseline` (`0.28`), gpt-4.1-mini,\n"
        "1. first\n2. second\n[link](https://x.org/162.3) agent_7 Q17 rounds_30"
    )
    assert prose.typed_numbers(markup, ALLOWED) == []
    assert prose.typed_numbers("79.3%", ALLOWED) == ["79.3"], "written precision counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_markdown_types_one_of_our_results(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            typed = prose.typed_numbers(cell.source, ALLOWED)
            assert not typed, (
                f"{path.name} cell {i} types {typed}: render conclusions from the outputs "
                "(coop_utils.analysis.prose.md in a checked code cell); only the paper's values "
                "(data/paper/) and design constants may be written by hand"
            )


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem != "00_quickstart"], ids=lambda p: p.stem
)
def test_each_experiment_ends_on_a_computed_reading_checked_by_nbval(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    rendered = [
        c
        for c in code
        if c.source.startswith("# NBVAL_CHECK_OUTPUT") and "md(" in c.source
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    assert rendered, f"{path.name}: no conclusion rendered from outputs"
    assert "Reading it" in rendered[-1].outputs[-1]["data"]["text/markdown"]


def test_readme_numbers_are_the_committed_results():
    assert prose.readme_block() == prose.readme_numbers(), (
        "README.md's generated numbers differ from data/results/offline: "
        "run `python -m coop_utils.analysis.prose`"
    )


def test_update_readme_rewrites_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    before = readme.read_text()
    text = before.replace(prose.readme_numbers(), "- stale: 201.7 tasks")
    readme.write_text(text)
    assert prose.update_readme(readme) is True
    assert readme.read_text() == before
    assert prose.update_readme(readme) is False
    results = tmp_path / "results"
    shutil.copytree(ROOT / "data" / "results" / "offline", results)
    (results / "table1_baseline.csv").write_text("model,tasks\nother,1\n")
    with pytest.raises(LookupError, match="coop reproduce"):
        prose.readme_numbers(results)


def test_readme_condition_glossary_is_the_condition_type():
    """The README's glossary is generated from ``Condition``: one row per condition with its
    code name and the paper's name, rewritten by ``python -m coop_utils.analysis.prose``."""
    from coop_utils.game.config import CONDITIONS

    block = prose.readme_block(begin=prose.GLOSSARY_BEGIN, end=prose.GLOSSARY_END)
    assert block == prose.condition_glossary(), "run `python -m coop_utils.analysis.prose`"
    assert len(block.splitlines()) == 2 + len(CONDITIONS)
    assert all(f"| `{c}` | {c.paper_name} |" in block for c in CONDITIONS)
