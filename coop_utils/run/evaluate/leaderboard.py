"""The leaderboard: every evaluation in one table, beside the paper's eight models.

A CSV and one figure regenerated from it (the same name, ``.png``). ``coop evaluate``
writes ``OUT/leaderboard.csv``; it writes another file only when asked (``--leaderboard
PATH``), and the published one, :data:`DEFAULT_PATH` (``data/leaderboard.csv``), which
anyone can commit to publish their evaluations, only with ``--publish``. Rows:

- ``kind = paper``: the paper's eight models, rebuilt from ``data/paper`` on every write
  (its Tables 1, 2, 3 and 5; ``protocol = paper``). Their ``diagnosis`` is this protocol's
  rule applied to the paper's two rates, which is not the paper's own wording: that is
  ``paper_words``, where transcribed (``data/paper/paper_diagnoses.csv``).
- ``kind = model``: a model evaluated by ``coop evaluate``.
- ``kind = scripted``: a scripted population, which describes the machinery, never a model
  (never in the published file).

An evaluation row is upserted by ``(model, protocol, setting)``: evaluating a model again
under the same protocol and setting replaces its row, never duplicates it. A rewrite is
byte-stable: rows are read back as text and only the rows written now are formatted
(numbers snapped, six significant digits), so a row nobody touched keeps its bytes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...analysis.paper import load_diagnoses, load_paper, paper_value, paper_words, reference
from ...analysis.quadrants import DEFAULT_THRESHOLD, RATES
from ...analysis.quadrants import quadrant as quadrant_of
from ...analysis.rounding import snap_frame
from ...analysis.stats import canonical_model, load_elo
from ...analysis.tables import FLOAT_FORMAT, save_table
from ...game.config import INTERVENTIONS, PAPER_MODELS, PERFECT_PLAY_TASKS, Condition
from ...paths import ROOT, atomic_path
from ..folders import hold
from .findings import paper_pct_change

DEFAULT_PATH = ROOT / "data" / "leaderboard.csv"
"""The published leaderboard (``coop evaluate --publish``)."""
KEY = ("model", "protocol", "setting")
TEXT = ("model", "kind", "protocol", "setting", "diagnosis", "uncertain", "paper_words")
"""The columns that are words; every other column but the last three is a number."""
COLUMNS = (
    *TEXT,
    "baseline_pct",
    "baseline_pct_ci95",
    "cooperation",
    "cooperation_ci95",
    "competence",
    "competence_ci95",
    *(f"{c}_pct_change" for c in INTERVENTIONS),
    *(f"{c}_pct_change_{end}" for c in INTERVENTIONS for end in ("lo", "hi")),
    *(f"{c}_p_holm" for c in INTERVENTIONS),
    "runs",
    "cost_usd",
    "elo",
    "evaluated_on",
    "code_version",
    "source",
)
NUMBERS = COLUMNS[len(TEXT) : -3]


def paper_rows(threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The paper's eight models as reference rows (never edited by hand: rebuilt here)."""
    paper, words = load_paper(), load_diagnoses()
    elo = load_elo().assign(key=lambda e: e["model"].map(canonical_model)).set_index("key")
    rows = []
    for model in PAPER_MODELS:

        def v(condition: str, metric: str, m: str = model) -> float:
            return paper_value(m, condition, metric, paper)

        ci = reference(model, Condition.BASELINE, "tasks", paper)
        coop, comp = v("auto_request", "pct_optimal"), v("auto_fulfill", "pct_optimal")
        rows.append(
            {
                "model": model,
                "kind": "paper",
                "protocol": "paper",
                "setting": "default",
                "diagnosis": quadrant_of(coop, comp, threshold),
                "uncertain": "",
                "paper_words": (paper_words(model, words) or {}).get("paper_diagnosis", ""),
                "baseline_pct": v(Condition.BASELINE, "pct_optimal"),
                "baseline_pct_ci95": 100 * float(ci["ci95"]) / PERFECT_PLAY_TASKS
                if ci
                else math.nan,
                "cooperation": coop,
                "competence": comp,
                **{f"{c}_pct_change": paper_pct_change(model, c, paper) for c in INTERVENTIONS},
                "elo": float(elo.loc[model, "elo"]) if model in elo.index else math.nan,
                "source": "the paper's Tables 1, 2, 3 and 5 (5 runs per cell; a % change it does "
                "not print is computed from its tasks); diagnosis: this protocol's rule on the "
                "paper's rates",
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def evaluation_rows(summary: dict[str, Any], elo: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per model of an evaluation's ``summary.json``."""
    elo = elo or {}
    known = load_elo().assign(key=lambda e: e["model"].map(canonical_model))
    known = known.set_index("key")["elo"]
    rows = []
    for model, m in summary["models"].items():
        effects = m["interventions"]
        rating = elo.get(model)
        if rating is None and not m["scripted"]:
            rating = known.get(canonical_model(model))
        rows.append(
            {
                "model": model,
                "kind": "scripted" if m["scripted"] else "model",
                "protocol": summary["protocol"],
                "setting": summary["setting"],
                "diagnosis": m["diagnosis"],
                "uncertain": "+".join(m["uncertain"]),
                "baseline_pct": m["baseline"]["pct_optimal"]["mean"],
                "baseline_pct_ci95": m["baseline"]["pct_optimal"]["ci95"],
                "cooperation": m["cooperation_rate"]["mean"],
                "cooperation_ci95": m["cooperation_rate"]["ci95"],
                "competence": m["competence_rate"]["mean"],
                "competence_ci95": m["competence_rate"]["ci95"],
                **{
                    f"{c}_{k}": effects.get(c, {}).get(k)
                    for c in INTERVENTIONS
                    for k in ("pct_change", "pct_change_lo", "pct_change_hi", "p_holm")
                },
                "runs": sum(c["runs"] for c in m["cells"].values()),
                "cost_usd": m["usage"].get("cost_usd"),
                "elo": rating,
                "evaluated_on": datetime.now(UTC).date().isoformat(),
                "code_version": (summary.get("code_version") or "")[:12],
                "source": "coop evaluate"
                + (": scripted agents, not model behaviour" if m["scripted"] else ""),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def as_text(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as the CSV holds them: every number snapped (:func:`~coop_utils.analysis.rounding.
    snap_frame`) and written as a saved table writes it (:data:`~coop_utils.analysis.tables.
    FLOAT_FORMAT`), every word as is, a missing value empty."""
    rows = rows.reindex(columns=list(COLUMNS))
    numbers = snap_frame(rows[list(NUMBERS)].apply(pd.to_numeric).astype(float))
    out = rows.astype(object).where(rows.notna(), "").astype(str)
    for col in NUMBERS:
        out[col] = [("" if math.isnan(v) else FLOAT_FORMAT % v) for v in numbers[col]]
    return out


def read(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """The leaderboard as text, each cell as the file writes it (the paper's rows alone when
    the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return as_text(paper_rows())
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def upsert(rows: pd.DataFrame, path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """Replace or add ``rows`` by (model, protocol, setting), rebuild the paper's rows,
    sort by baseline % of optimal, and write the CSV and its figure atomically, one writer
    at a time (a second waits up to a minute for the first). Returns the table as text;
    every row not in ``rows`` keeps its bytes."""
    path = Path(path)
    if path.suffix != ".csv":
        raise ValueError(f"the leaderboard is a CSV file: name it {path.stem}.csv, not {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    with hold(lock, f"the leaderboard {path}", "--leaderboard", wait_s=60):
        return _upsert(rows, path)


def _upsert(rows: pd.DataFrame, path: Path) -> pd.DataFrame:
    new = as_text(rows)
    old = read(path)
    old = old[old["kind"] != "paper"].reindex(columns=list(COLUMNS), fill_value="")
    keys = set(new[list(KEY)].itertuples(index=False, name=None))
    keep = [tuple(r) not in keys for r in old[list(KEY)].itertuples(index=False)]
    table = pd.concat([old[keep], new, as_text(paper_rows())], ignore_index=True)
    rank = pd.to_numeric(table["baseline_pct"], errors="coerce")
    table = table.assign(rank=rank).sort_values(
        ["rank", *KEY], ascending=[False, True, True, True], na_position="last", kind="stable"
    )
    table = table.drop(columns="rank").reset_index(drop=True)
    save_table(table, path.stem, path.parent)
    figure(table, path.with_suffix(".png"))
    return table


MARKERS = {"model": "o", "scripted": "s"}
LEGENDS = {
    "model": "coop evaluate (mean ± 95% t-CI)",
    "scripted": "scripted agents: not model behaviour",
}


def figure(table: pd.DataFrame, path: str | Path | None = None):
    """Cooperation vs competence (left: the paper's Fig. 4, :func:`~coop_utils.analysis.
    plots.quadrant_plot`) and baseline % of optimal (right) for every row of the leaderboard
    (as :func:`read` returns it): the paper's numbers hollow and hatched, evaluations solid,
    scripted rows as squares and labelled so. Written to ``path`` (PNG) when given; returns
    the matplotlib Figure."""
    from matplotlib.patches import Patch

    from ...analysis.plots import PAPER_BAR, model_colors, quadrant_plot
    from ...analysis.plots.style import styled, subplots

    t = table.copy()
    for col in NUMBERS:
        t[col] = pd.to_numeric(t[col], errors="coerce")

    @styled
    def draw():
        colors = model_colors(list(t["model"]))
        fig, (ax, bars) = subplots(
            1, 2, figsize=(14, 0.32 * len(t) + 4.5), gridspec_kw={"width_ratios": [1.1, 1]}
        )
        # the bars first: the quadrant plot places its labels on the figure's final layout
        y = np.arange(len(t))[::-1]
        for yi, r in zip(y, t.itertuples()):
            style = PAPER_BAR if r.kind == "paper" else {}
            edge = colors[r.model] if r.kind == "paper" else "black"
            face = "none" if r.kind == "paper" else colors[r.model]
            bars.barh(
                yi,
                0 if pd.isna(r.baseline_pct) else r.baseline_pct,
                height=0.7,
                color=face,
                edgecolor=edge,
                **{k: v for k, v in style.items() if k != "facecolor"},
            )
            if pd.notna(r.baseline_pct_ci95):
                bars.errorbar(
                    r.baseline_pct, yi, xerr=r.baseline_pct_ci95, color="0.2", capsize=2, lw=0.8
                )
        bars.set_yticks(y, [_label(r) for r in t.itertuples()], fontsize=8.5)
        bars.set_xlim(0, 112)
        bars.set_xlabel("baseline: % of optimal (perfect play = 100), mean ± 95% CI")
        bars.set_title("Baseline")
        hatched = Patch(label="the paper's numbers", **{**PAPER_BAR, "edgecolor": "0.3"})
        bars.legend(handles=[hatched], loc="lower right", fontsize=9)
        paper = t[t["kind"] == "paper"]
        paper = pd.concat(
            [paper.assign(condition=c, value=paper[rate]) for rate, c in RATES.items()]
        ).assign(metric="pct_optimal")
        ours = t[t["kind"] != "paper"].dropna(subset=["cooperation", "competence"])
        points = pd.DataFrame(
            {
                "model": ours["model"],
                "x": ours["cooperation"],
                "y": ours["competence"],
                "xerr": ours["cooperation_ci95"],
                "yerr": ours["competence_ci95"],
                "label": [_label(r) for r in ours.itertuples()],
                "marker": ours["kind"].map(MARKERS),
                "legend": ours["kind"].map(LEGENDS),
            }
        )
        quadrant_plot(None, paper, DEFAULT_THRESHOLD, points=points, ax=ax)
        ax.set_title("Cooperation vs competence")
        protocols = sorted({str(p) for p in t.loc[t["kind"] != "paper", "protocol"]})
        sub = f"protocol {', '.join(protocols)}; " if protocols else ""
        fig.suptitle(
            f"Leaderboard: the paper's eight models and coop evaluate\n"
            f"[{sub}threshold {DEFAULT_THRESHOLD:g}% of optimal]",
            fontsize=13,
        )
        return fig

    fig = draw()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(
                tmp, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None}
            )
    return fig


def _label(r) -> str:
    suffix = {"paper": " (paper)", "scripted": " (scripted)"}.get(r.kind, "")
    setting = "" if r.setting == "default" else f" [{r.setting}]"
    return f"{r.model}{suffix}{setting}"


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m coop_utils.run.evaluate.leaderboard",
        description="Rebuild a leaderboard in place: the paper's rows anew (and the columns "
        "the interventions list gives), every other row byte for byte.",
    )
    p.add_argument("csv", nargs="?", default=str(DEFAULT_PATH), help="default: %(default)s")
    upsert(pd.DataFrame(columns=list(COLUMNS)), p.parse_args(argv).csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
