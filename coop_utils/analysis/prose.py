"""Sentences computed from results, so that no conclusion is typed by hand.

Why: a notebook's prose is read as its conclusion, and a number or a label typed into a
Markdown cell goes stale the moment a parameter changes (more runs, another population,
a fixed rule). Here prose is rendered from the tables a notebook just computed:
:class:`Markdown` displays as Markdown in Jupyter *and* prints the same text as plain
output, so nbval compares it like any other checked output. :func:`typed_numbers` finds
numbers written into Markdown cells that are neither the paper's reference values nor
design constants (``tests/test_prose.py`` runs it over every notebook), and
:func:`readme_numbers` renders the README's block of our own offline numbers from
``data/results`` and :func:`condition_glossary` its table of the conditions from
:class:`~coop_utils.game.config.Condition` (``python -m coop_utils.analysis.prose`` rewrites
both).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..paths import ROOT
from .rounding import snap

__all__ = [
    "Markdown",
    "GLOSSARY_BEGIN",
    "GLOSSARY_END",
    "README_BEGIN",
    "README_END",
    "allowed_numbers",
    "condition_glossary",
    "interval",
    "md",
    "names",
    "num",
    "p_value",
    "paragraphs",
    "readme_block",
    "readme_numbers",
    "typed_numbers",
    "update_readme",
]


class Markdown:
    """Text shown as Markdown by Jupyter and as the same text in plain output (which is
    what nbval compares, so a changed conclusion fails the notebook test)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def paragraphs(*texts: str) -> str:
    """Paragraphs (empty ones skipped) joined into one Markdown text."""
    return "\n\n".join(p.strip() for p in texts if p and p.strip())


def md(*texts: str) -> Markdown:
    """Paragraphs (empty ones skipped) joined into one Markdown block."""
    return Markdown(paragraphs(*texts))


def plain(text: str) -> str:
    """``text`` escaped for Markdown, so ``5*a,5*b`` keeps its asterisks (no italics)."""
    return re.sub(r"([\\`*_\[\]<>~])", r"\\\1", str(text))


def names(items: Iterable[str], none: str = "none", code: bool = True) -> str:
    """``a``, ``a and b``, ``a, b and c`` (in backticks with ``code``, else escaped for
    Markdown); ``none`` if empty."""
    items = [f"`{x}`" if code else plain(x) for x in items]
    if not items:
        return none
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def num(x: float, digits: int = 1) -> str:
    """A number to ``digits`` decimals, ``–`` for NaN; never "-0.00". Snapped first
    (:func:`~coop_utils.analysis.rounding.snap`): float noise never changes a digit."""
    if x is None or math.isnan(x):
        return "–"
    return f"{round(snap(x), digits) + 0.0:.{digits}f}"


def interval(lo: float, hi: float, digits: int = 1) -> str:
    """``lo to hi`` (words, not a dash, so negative bounds stay readable)."""
    return f"{num(lo, digits)} to {num(hi, digits)}"


def p_value(p: float) -> str:
    """Two significant figures, ``–`` when there was nothing to test."""
    return "–" if p is None or math.isnan(p) else f"{snap(p, 0.0):.2g}"


# ---- numbers typed into Markdown ---------------------------------------------------------

_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_LINK = re.compile(r"\]\([^)]*\)")
_REFS = re.compile(
    r"(?:Tables?|Figs?\.?|Figures?|Sections?|§|Appendix(?: [A-Z])?\.?)\s*\d+(?:\.\d+)*"
    r"(?:\s*(?:[–-]|and|,)\s*\d+)*",
)
_LIST_MARKER = re.compile(r"^\s*\d+\.\s", re.M)
_NUMBER = re.compile(r"(?<![\w.\-/])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(k)?(?![\w\-]|\.\d)")


def _matches(token: str, value: float, allowed: Iterable[float]) -> bool:
    decimals = len(token.split(".")[1]) if "." in token else 0
    return any(round(a, decimals) == value for a in allowed if a is not None)


METHOD_NUMBERS = (0, 1, 100, 95, 80, 0.05, 1000)
"""Numbers prose may state about method: bounds and percentages of definitions, the 95%
confidence, 80% power at α = 0.05, per 1,000 words (and the quadrant threshold,
:data:`~coop_utils.analysis.quadrants.DEFAULT_THRESHOLD`)."""

PAPER_DESIGN = (5,)
"""The paper's runs per cell (5), which its transcription does not hold as a value."""


def allowed_numbers(paper: pd.DataFrame | None = None) -> set[float]:
    """What Markdown prose may state as a number: the paper's reported values (values,
    half-widths and numbers in its source notes), the environment's parameters and
    the ablations' settings, the paper's design and :data:`METHOD_NUMBERS`. Anything else
    in prose is one of our results typed by hand."""
    from ..game.config import ABLATIONS, PAPER_MODELS, Condition, EnvConfig
    from .paper import load_paper
    from .quadrants import DEFAULT_THRESHOLD

    paper = load_paper() if paper is None else paper
    found = {DEFAULT_THRESHOLD} | set(paper["value"].dropna()) | set(paper["ci95"].dropna())
    for note in paper["source"].dropna():
        found |= {float(x) for x in re.findall(r"\d+(?:\.\d+)?", note)}
    spec = EnvConfig()
    found |= {
        float(getattr(spec, name))
        for name in (
            "n_agents",
            "rounds",
            "n_pieces",
            "tasks_per_agent",
            "pieces_per_task",
            "task_reward",
            "manipulation_penalty",
        )
    }
    found.add(spec.n_pieces / spec.n_agents)  # pieces each agent starts with
    found.add(float(EnvConfig.for_condition(Condition.INCENTIVE).share_bonus))
    found |= {
        float(v) for env in ABLATIONS.values() for v in env.values() if not isinstance(v, str)
    }
    return found | {float(len(PAPER_MODELS)), *map(float, PAPER_DESIGN + METHOD_NUMBERS)}


def typed_numbers(markdown: str, allowed: Iterable[float]) -> list[str]:
    """Numbers in ``markdown`` prose that no value of ``allowed`` accounts for.

    A written number is accounted for when some allowed value, rounded to the decimals it
    is written with, equals it ("79%" for 78.9). Code spans, link targets, list markers
    and references such as "Table 3", "Fig. 4" or "§2" are not prose numbers; "1,000"
    reads as 1000 and "100k" as 100000."""
    allowed = [float(a) for a in allowed]
    text = _CODE.sub(" ", markdown)
    text = _LINK.sub("]", text)
    text = _REFS.sub(" ", text)
    text = _LIST_MARKER.sub(" ", text)
    found = []
    for m in _NUMBER.finditer(text):
        token, kilo = m.group(1).replace(",", ""), m.group(2)
        value = float(token) * (1000 if kilo else 1)
        if not _matches(token, value, allowed):
            found.append(m.group(0))
    return found


# ---- the README's generated block -----------------------------------------------------------

README_BEGIN = (
    "<!-- numbers:begin (generated by `python -m coop_utils.analysis.prose`; do not edit) -->"
)
README_END = "<!-- numbers:end -->"
GLOSSARY_BEGIN = (
    "<!-- conditions:begin (generated by `python -m coop_utils.analysis.prose`; do not edit) -->"
)
GLOSSARY_END = "<!-- conditions:end -->"


def _row(table: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for col, value in where.items():
        mask &= table[col] == value
    hit = table[mask]
    if hit.empty:
        raise LookupError(f"no row {where} in the results: rerun `coop reproduce`")
    return hit.iloc[0]


def readme_numbers(results: str | Path = ROOT / "data" / "results" / "offline") -> str:
    """The README's list of our own offline numbers, rendered from ``data/results``."""
    from ..game.config import Condition

    results = Path(results)

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(results / f"{name}.csv")

    t1 = _row(read("table1_baseline"), model="perfect")
    ablations = read("tables9_10_ablations")
    r30 = _row(ablations, model="perfect", setting="rounds_30")
    ceilings = read("decomposition_ceilings").set_index("condition")
    auto = ceilings.loc[Condition.AUTO_REQUEST]
    cross_talk = read("validity_recovery").groupby("rate")["cross_talk"].first()
    power = read("runs_needed_from_paper_spread")
    elo = _row(read("fig3_capability_correlation_paper_points"), method="pearson")
    need, upper = power["runs_for_10pct"], power["runs_for_10pct_upper"]
    lines = [
        f"- Perfect play completes **{t1['tasks']:.1f} ± {t1['tasks_ci95']:.1f} tasks** "
        f"(95% t, {int(t1['n'])} seeds) at the default setting, and {r30['tasks']:.1f} at "
        f"30 rounds ({int(r30['n'])} seeds); {t1['msgs_per_task']:.1f} messages per task, "
        f"response rate {t1['response_rate']:.0f}%, pipeline efficiency "
        f"{t1['pipeline_efficiency']:.0f}%, Gini {t1['gini']:.3f}.",
        f"- Under auto_request perfect play completes {auto['perfect_play_tasks']:.1f} tasks, "
        f"{auto['pct_of_ceiling']:.0f}% of the baseline ceiling (the paper's 204).",
        f"- The paper's own Table 1 with our Elo snapshot gives r = {elo['statistic']:.2f} "
        f"(p = {elo['p']:.2f}).",
        f"- Detecting a 10% change in tasks with 80% power by the paired test needs "
        f"{need.min()}–{need.max()} runs per cell, depending on the model (from the paper's own "
        f"spreads; up to {upper.max()} at their 95% upper bound).",
        f"- Cross-talk of the decomposition (weight of the knobs a rate should ignore; 0 is a "
        f"clean measure): cooperation rate {cross_talk['cooperation']:.2f}, competence rate "
        f"{cross_talk['competence']:.2f}.",
    ]
    return "\n".join(lines)


def condition_glossary() -> str:
    """The README's table of the conditions: code name, the paper's name, what it changes."""
    from ..game.config import Condition

    rows = ["| condition | the paper's name | what it changes |", "|---|---|---|"]
    rows += [f"| `{c}` | {c.paper_name} | {c.description} |" for c in Condition]
    return "\n".join(rows)


def update_readme(
    readme: str | Path = ROOT / "README.md", results: str | Path | None = None
) -> bool:
    """Rewrite the generated blocks of the README (numbers, conditions); True if one changed."""
    readme = Path(readme)
    text = new = readme.read_text()
    numbers = readme_numbers(results) if results else readme_numbers()
    for (begin, end), block in zip(
        ((README_BEGIN, README_END), (GLOSSARY_BEGIN, GLOSSARY_END)),
        (numbers, condition_glossary()),
    ):
        start, stop = new.index(begin), new.index(end)
        new = f"{new[: start + len(begin)]}\n{block}\n{new[stop:]}"
    if new != text:
        readme.write_text(new)
    return new != text


def readme_block(
    readme: str | Path = ROOT / "README.md", begin: str = README_BEGIN, end: str = README_END
) -> str:
    """A generated block (by default the numbers) as the README holds it now."""
    text = Path(readme).read_text()
    return text[text.index(begin) + len(begin) : text.index(end)].strip()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m coop_utils.analysis.prose",
        description="Rewrite the README's generated blocks: the numbers from data/results/ and "
        "the condition glossary from Condition (tests/test_prose.py fails while they are stale).",
    ).parse_args(argv)
    changed = update_readme()
    print("README.md: generated blocks " + ("rewritten" if changed else "already current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
