"""The leaderboard: every evaluation in one table, beside the paper's eight models.

A CSV (by default ``data/leaderboard.csv``) that anyone can commit to publish their
evaluations, and one figure regenerated from it (``leaderboard.png`` beside it). Rows:

- ``kind = paper``: the paper's eight models, rebuilt from ``data/paper`` on every write
  (its Tables 1, 2, 3 and 5; ``protocol = paper``). Their ``diagnosis`` is this protocol's
  rule applied to the paper's two rates, which is not the paper's own wording: that is
  ``paper_words``, where transcribed (``data/paper/paper_diagnoses.csv``).
- ``kind = model``: a model evaluated by ``coop evaluate``.
- ``kind = scripted``: a scripted population, which describes the machinery, never a model.

An evaluation row is upserted by ``(model, protocol, setting)``: evaluating a model again
under the same protocol and setting replaces its row, never duplicates it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...analysis.paper import load_diagnoses, load_paper, paper_value, paper_words, reference
from ...analysis.stats import canonical_model, load_elo
from ...game.config import INTERVENTIONS, PAPER_MODELS, PERFECT_PLAY_TASKS
from ...game.events import write_atomic
from ...paths import ROOT, atomic_path
from ..folders import hold
from .diagnosis import DEFAULT_THRESHOLD
from .diagnosis import quadrant as quadrant_of

DEFAULT_PATH = ROOT / "data" / "leaderboard.csv"
KEY = ("model", "protocol", "setting")
COLUMNS = (
    "model",
    "kind",
    "protocol",
    "setting",
    "diagnosis",
    "uncertain",
    "paper_words",
    "baseline_pct",
    "baseline_pct_ci95",
    "cooperation",
    "cooperation_ci95",
    "competence",
    "competence_ci95",
    "policy_pct_change",
    "incentive_pct_change",
    "limited_pct_change",
    *(f"{c}_pct_change_{end}" for c in INTERVENTIONS for end in ("lo", "hi")),
    *(f"{c}_p_holm" for c in INTERVENTIONS),
    "runs",
    "cost_usd",
    "elo",
    "evaluated_on",
    "code_version",
    "source",
)


def paper_rows(threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The paper's eight models as reference rows (never edited by hand: rebuilt here)."""
    paper, words = load_paper(), load_diagnoses()
    elo = load_elo().assign(key=lambda e: e["model"].map(canonical_model)).set_index("key")
    rows = []
    for model in PAPER_MODELS:

        def v(condition: str, metric: str, m: str = model) -> float:
            return paper_value(m, condition, metric, paper)

        ci = reference(model, "baseline", "tasks", paper)
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
                "baseline_pct": v("baseline", "pct_optimal"),
                "baseline_pct_ci95": 100 * float(ci["ci95"]) / PERFECT_PLAY_TASKS
                if ci
                else math.nan,
                "cooperation": coop,
                "competence": comp,
                "policy_pct_change": v("policy", "pct_change_tasks"),
                "incentive_pct_change": v("incentive", "pct_change_tasks"),
                "limited_pct_change": 100 * (v("limited", "tasks") / v("baseline", "tasks") - 1),
                "elo": float(elo.loc[model, "elo"]) if model in elo.index else math.nan,
                "source": "the paper's Tables 1, 2, 3 and 5 (5 runs per cell; limited % change "
                "from Tables 1 and 5); diagnosis: this protocol's rule on the paper's rates",
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


def read(path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """The leaderboard (the paper's rows alone when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return paper_rows()
    text = ("model", "kind", "protocol", "setting", "diagnosis", "uncertain", "paper_words")
    text += ("evaluated_on",)
    return pd.read_csv(path, dtype={c: str for c in (*text, "code_version", "source")})


def upsert(rows: pd.DataFrame, path: str | Path = DEFAULT_PATH) -> pd.DataFrame:
    """Replace or add ``rows`` by (model, protocol, setting), rebuild the paper's rows,
    sort by baseline % of optimal, and write the CSV and its figure atomically, one writer
    at a time (a second waits up to a minute for the first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    with hold(lock, f"the leaderboard {path}", "--leaderboard", wait_s=60):
        return _upsert(rows, path)


def _upsert(rows: pd.DataFrame, path: Path) -> pd.DataFrame:
    old = read(path)
    old = old[old["kind"] != "paper"]
    keys = set(rows[list(KEY)].astype(str).itertuples(index=False, name=None))
    keep = [tuple(r) not in keys for r in old[list(KEY)].astype(str).itertuples(index=False)]
    parts = [p for p in (old[keep], rows, paper_rows()) if not p.empty]
    table = pd.concat(parts, ignore_index=True).reindex(columns=list(COLUMNS))
    table = table.sort_values(["baseline_pct", "model"], ascending=[False, True])
    table = table.reset_index(drop=True)
    write_atomic(path, table.to_csv(index=False, float_format="%.4g"))
    figure(table, path.with_suffix(".png"))
    return table


def figure(table: pd.DataFrame, path: str | Path | None = None):
    """Cooperation vs competence (left) and baseline % of optimal (right) for every row:
    the paper's numbers hollow and hatched, evaluations solid, scripted rows as squares and
    labelled so. Written to ``path`` (PNG) when given; returns the matplotlib Figure."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ...analysis.plots import quadrant_axes
    from ...analysis.plots.labels import place_labels
    from ...analysis.plots.style import PAPER_BAR, PAPER_MARKER, model_colors, styled, subplots

    @styled
    def draw():
        t = table.copy()
        colors = model_colors(list(t["model"]))
        fig, (ax, bars) = subplots(
            1, 2, figsize=(14, 0.32 * len(t) + 4.5), gridspec_kw={"width_ratios": [1.1, 1]}
        )
        corners = quadrant_axes(ax, DEFAULT_THRESHOLD, 112, hints=False)
        pts = t.dropna(subset=["cooperation", "competence"])
        for r in pts.itertuples():
            if r.kind == "paper":
                ax.plot(
                    r.cooperation, r.competence, ms=8, mec=colors[r.model], zorder=2, **PAPER_MARKER
                )
                continue
            ax.errorbar(
                r.cooperation,
                r.competence,
                xerr=None if pd.isna(r.cooperation_ci95) else r.cooperation_ci95,
                yerr=None if pd.isna(r.competence_ci95) else r.competence_ci95,
                fmt="s" if r.kind == "scripted" else "o",
                ms=8,
                color=colors[r.model],
                mec="black",
                mew=0.6,
                capsize=3,
                zorder=3,
            )
        fig.canvas.draw()
        names = [_label(r) for r in pts.itertuples()]
        renderer = fig.canvas.get_renderer()
        taken = [c.get_window_extent(renderer).padded(3) for c in corners]
        place_labels(
            ax,
            pts["cooperation"],
            pts["competence"],
            names,
            [colors[m] for m in pts["model"]],
            taken,
            fontsize=8.5,
        )
        ax.set_xlabel("cooperation rate: % of optimal under auto_request")
        ax.set_ylabel("competence rate: % of optimal under auto_fulfill")
        ax.set_title("Cooperation vs competence")
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
        handles = [Line2D([], [], mec="0.3", label="the paper's numbers", **PAPER_MARKER)]
        for kind, marker, label in (
            ("model", "o", "coop evaluate (± 95% t-CI)"),
            ("scripted", "s", "scripted agents: not model behaviour"),
        ):
            if (t["kind"] == kind).any():
                mark = dict(marker=marker, ls="", color="0.5", mec="black", label=label)
                handles.append(Line2D([], [], **mark))
        handles.append(Patch(label="paper bars hatched", **{**PAPER_BAR, "edgecolor": "0.3"}))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
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


if __name__ == "__main__":  # python -m coop_utils.run.evaluate.leaderboard [CSV]: rebuild in place
    import sys

    upsert(pd.DataFrame(columns=list(COLUMNS)), sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH)
