"""The report of an evaluation: ``summary.json``, and ``report.ipynb`` / ``report.html``.

The report is the template notebook beside this module (``report.ipynb``, kept inside the
package so nbval never collects it) executed by papermill with the evaluation's folder as
its one parameter, then exported to HTML by nbconvert with the code hidden. The helpers
below are what its cells call, so the notebook stays a short story and every sentence in
it is computed from the runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ...analysis.metrics import FAULT_FIELDS, USAGE_FIELDS
from ...analysis.stats import canonical_model, load_elo
from ...game.config import Condition
from ...game.events import write_atomic
from .findings import findings
from .protocol import Evaluation

TEMPLATE = Path(__file__).with_name("report.ipynb")


def write_summary(ev: Evaluation) -> dict[str, Any]:
    """Write ``OUT/summary.json`` (the diagnosis in the paper's terms) and return it."""
    summary = findings(ev)
    write_atomic(ev.out / "summary.json", json.dumps(summary, indent=2))
    return summary


def render(out: str | Path) -> tuple[Path, Path]:
    """Execute the template for the evaluation in ``out``; write report.ipynb and .html.

    The template is copied to ``out/report.ipynb`` and executed there by the same runner as
    ``coop reproduce`` (atomically; the kernel's log, and on failure ``report.failed.ipynb``,
    stay in ``out``)."""
    from nbconvert import HTMLExporter

    from ..reproduce import NotebookFailed, run_notebook

    out = Path(out).resolve()
    notebook, html = out / "report.ipynb", out / "report.html"
    shutil.copyfile(TEMPLATE, notebook)
    try:
        run_notebook(notebook, {"evaluation_dir": str(out)}, logs=out)
    except NotebookFailed as exc:
        raise RuntimeError(f"the report failed: {exc}") from None
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_filename(str(notebook))
    write_atomic(html, body)
    return notebook, html


# ---- what the template's cells call ---------------------------------------------------------


def style(table: pd.DataFrame, digits: int = 1):
    """A table for HTML: floats to ``digits`` (Gini to 3, p-values to 2 significant), no
    index, empty cells as a dash."""
    fmt: dict[str, Any] = {}
    for col in table.columns:
        if "gini" in col:
            fmt[col] = "{:.3f}"
        elif col in ("p", "p_holm"):
            fmt[col] = "{:.2g}"
        elif pd.api.types.is_float_dtype(table[col]):
            fmt[col] = f"{{:.{digits}f}}"
    return table.style.format(fmt, na_rep="–").hide(axis="index")


def headline(summary: dict[str, Any], record: dict[str, Any]) -> str:
    models = summary["models"]
    scripted = [m for m, v in models.items() if v["scripted"]]
    lines = []
    if scripted:
        lines.append(
            f"> **Scripted agents:** {', '.join(f'`{m}`' for m in scripted)} "
            "are scripted policies served over HTTP. They exercise the machinery; their "
            "numbers are not any model's behaviour."
        )
    rule = summary["rule"]
    lines.append(
        f"**Models:** {', '.join(f'`{m}`' for m in models)} · **protocol** "
        f"{summary['protocol']} · **setting** {summary['setting']} · **100% of optimal** = "
        f"{summary['ceiling']['tasks']:g} tasks ({summary['ceiling']['source']}) · "
        f"**target** ±{rule['target_half_width']:g} points, {rule['min_runs']}–"
        f"{rule['max_runs']} runs per cell, batches of {rule['batch']}"
    )
    if summary["setting"] != "default":
        lines.append(
            f"**Setting {summary['setting']}** differs from the paper's: task counts are not "
            "comparable with its numbers; compare % of optimal, which is measured against "
            "perfect play at this same setting."
        )
    if summary.get("stopped"):
        lines.append(f"**Stopped early:** {summary['stopped']}".replace("$", "USD "))
    return "\n\n".join(lines)


def diagnosis_text(summary: dict[str, Any]) -> str:
    out = []
    for m in summary["models"].values():
        text = f"- {m['in_words']}"
        for cond, e in m["interventions"].items():
            if e.get("runs") == 0:
                text += f" {cond}: not run (stopped first)."
                continue
            if e["identical"]:
                test = "identical runs seed for seed, so nothing to test"
            elif e["p"] is None:
                test = "not tested: fewer than 2 pairs"
            else:
                lo, hi = e["pct_change_lo"], e["pct_change_hi"]
                test = (
                    f"95% CI of the change {_span(lo, hi)}; p = {e['p']:.2g}, Holm-adjusted "
                    f"over this model's interventions {e['p_holm']:.2g}"
                    + (
                        ""
                        if e["significant"]
                        else ": not significant, which is not evidence of no effect"
                    )
                )
            text += (
                f" Under {cond}, tasks went from {e['baseline_tasks']:.1f} to {e['tasks']:.1f} "
                f"({_change(e['pct_change'])}; paired difference {e['paired_diff_tasks']:+.1f} "
                f"tasks over {e['n_pairs']} shared seeds, {test})."
            )
        if m["paper"]:
            pr = m["paper"]
            text += (
                f" The paper reports {pr['baseline_tasks']} baseline tasks, cooperation "
                f"{pr['cooperation_rate']}% and competence {pr['competence_rate']}%"
                + (f", in its words: {pr['diagnosis_words']}." if pr["diagnosis_words"] else ".")
            )
        out.append(text)
    return "\n".join(out)


def _change(pct: Any) -> str:
    """A % change, or why there is none (a baseline of zero tasks has no % change)."""
    return "no % change from a baseline of 0 tasks" if pct is None else f"{pct:+.0f}%"


def _span(lo: Any, hi: Any) -> str:
    return "–" if lo is None or hi is None else f"{lo:+.0f}% to {hi:+.0f}%"


PAPER_RUNS = 5
"""Runs per cell behind the paper's numbers (its rows in the report's tables)."""


def _pm(mean: Any, half: Any, digits: int = 1) -> str:
    """'mean ± half' for a table cell ('–' when there is no mean)."""
    if mean is None or pd.isna(mean):
        return "–"
    if half is None or pd.isna(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def table1(runs: pd.DataFrame, paper: pd.DataFrame):
    """Table 1 compactly: ours as mean ± 95% CI, the paper's beside, the paper's eight below."""
    from ...analysis import tables as T

    t = T.table1(runs, paper, paper_only=True)
    n = [f"{k:.0f}" if k else str(PAPER_RUNS) for k in t["n"]]  # no runs of ours: the paper's
    out = pd.DataFrame({"model": t["model"], "runs": n})
    for metric in T.TABLE1_METRICS:
        digits = 3 if metric == "gini" else 1
        out[metric] = [_pm(m, h, digits) for m, h in zip(t[metric], t[f"{metric}_ci95"])]
    out["paper_tasks"] = [_pm(m, h) for m, h in zip(t["paper_tasks"], t["paper_tasks_ci95"])]
    out["paper_pct_optimal"] = [_pm(m, None) for m in t["paper_pct_optimal"]]
    return out.style.hide(axis="index")


def table2(runs: pd.DataFrame, paper: pd.DataFrame, summary: dict[str, Any]):
    """Table 2 of the evaluated models (our rates ± 95% CI and the quadrant) with the paper's
    eight below them: their rates (no interval is published), this rule's quadrant of them,
    and the paper's own words where they are transcribed (``data/paper``)."""
    from ...analysis import tables as T

    t = T.table2(runs, paper, summary["rule"]["threshold"], paper_only=True)
    rows = []
    for r in t.to_dict("records"):
        ours = not pd.isna(r.get("cooperation", float("nan")))
        rows.append(
            {
                "model": r["model"],
                "cooperation rate": _pm(r["cooperation"], r["cooperation_ci95"])
                if ours
                else _pm(r["paper_cooperation"], None),
                "competence rate": _pm(r["competence"], r["competence_ci95"])
                if ours
                else _pm(r["paper_competence"], None),
                "runs": f"{r['cooperation_n']:.0f} / {r['competence_n']:.0f}"
                if ours
                else f"{PAPER_RUNS} / {PAPER_RUNS}",
                "diagnosis": r["diagnosis"] if ours else r["paper_quadrant"],
                "the paper's words": r.get("paper_diagnosis") or "–",
                "source": ("ours, scripted" if r.get("scripted") else "ours")
                if ours
                else "the paper (quadrant: this protocol's rule)",
            }
        )
    return pd.DataFrame(rows).style.hide(axis="index")


THOUGHT_COLUMNS = ("model", "condition", "n_runs", "n_thoughts")


def thoughts(run_level: pd.DataFrame):
    """The run-level thought table, each measure as mean ± 95% t half-width over runs, and
    each class's false-positive floor beside it when the table has one (False in
    ``*_above_floor``: the share is not distinguishable from zero)."""
    from ...analysis.thoughts import RUN_SHARE_METRICS

    out = run_level[list(THOUGHT_COLUMNS)].copy()
    for m in RUN_SHARE_METRICS:
        out[m] = [_pm(a, b) for a, b in zip(run_level[m], run_level[f"{m}_ci95"])]
    for cls in ("hard_defection", "soft_conditional"):
        if f"{cls}_above_floor" in run_level:  # thoughts.beside_floor
            out[f"{cls}_floor_pct"] = run_level[f"{cls}_floor_pct"].round(1)
            out[f"{cls}_above_floor"] = run_level[f"{cls}_above_floor"]
    if "paper_hard_defection_pct" in run_level:
        out["paper_hard_defection_pct"] = [
            _pm(v, None) for v in run_level["paper_hard_defection_pct"]
        ]
    return out.style.hide(axis="index")


def elo_table(summary: dict[str, Any], record: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """The Elo table with ``--elo`` scores added; models with no score at all."""
    elo = load_elo()
    given = record["spec"].get("elo") or {}
    known = set(elo["model"].map(canonical_model))
    extra, unknown = [], []
    for model, m in summary["models"].items():
        if m["scripted"]:
            continue
        if model in given:
            extra.append({"model": model, "elo": float(given[model]), "as_of": "--elo"})
        elif canonical_model(model) not in known:
            unknown.append(model)
    if extra:
        keys = {canonical_model(e["model"]) for e in extra}
        elo = elo[~elo["model"].map(canonical_model).isin(keys)]
        elo = pd.concat([elo, pd.DataFrame(extra)], ignore_index=True)
    return elo, unknown


def interventions(runs: pd.DataFrame, paper: pd.DataFrame):
    """Table 3 (protocol and bonus, paired tests, Holm) and, if it ran, Table 5 (limited)."""
    from ...analysis import tables as T

    parts = []
    t3 = T.table3(runs, paper)
    if not t3.empty:
        parts.append(style(t3[t3["n_pairs"] > 0].drop(columns="scripted"), 2))
    if (runs["condition"] == Condition.LIMITED).any():
        parts.append(style(T.table5(runs, paper)))
    if not parts:
        return "No intervention ran (none was called for, or the budget stopped first)."
    from IPython.display import display

    for p in parts[:-1]:
        display(p)
    return parts[-1]


def _per_cell(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    cols = [c for c in columns if c in frame.columns]
    g = frame.groupby(["model", "condition"], sort=True)
    out = g[cols].sum()
    out.insert(0, "runs", g.size())
    return out.reset_index()


def faults(everything: pd.DataFrame) -> pd.DataFrame:
    """Per cell: runs, degraded runs, agent turns and every fault of ``FAULT_FIELDS``."""
    frame = everything.assign(degraded=everything["degraded"].astype(bool).astype(int))
    return style(
        _per_cell(frame, ("degraded", "agent_turns", *FAULT_FIELDS)).astype(
            {c: int for c in ("degraded", "agent_turns", *FAULT_FIELDS) if c in frame}
        )
    )


def usage(everything: pd.DataFrame):
    """Per cell: model calls, tokens and their recorded cost (USD)."""
    table = _per_cell(everything, ("llm_calls", *USAGE_FIELDS))
    counts = [c for c in table.columns if c.endswith("tokens") or c == "llm_calls"]
    return style(table.astype({c: int for c in counts}), 4)


def spending(summary: dict[str, Any], record: dict[str, Any]) -> str:
    recorded = sum((m["usage"].get("cost_usd") or 0.0) for m in summary["models"].values())
    calls = sum(b["live_calls"] for b in record["batches"])
    cached = sum(b["cached_calls"] for b in record["batches"])
    return (  # no dollar signs: the notebook's Markdown would read a pair as LaTeX
        f"This invocation spent **USD {record['spent_usd']:.4f}** on {calls:,} live call(s) "
        f"({cached:,} served from the cache) in **{record['wall_s']:.0f} s** of wall time "
        f"over {len(record['batches'])} batch(es); every run of the evaluation together "
        f"recorded **USD {recorded:.4f}**."
    )


def batches(record: dict[str, Any]):
    table = pd.DataFrame(record["batches"])
    if not table.empty:
        table["models"] = table["models"].map(", ".join)
        table["conditions"] = table["conditions"].map(", ".join)
        table["seeds"] = table["seeds"].map(lambda s: f"{s[0]}–{s[1]}")
    return style(table, 2)


def cells(record: dict[str, Any]):
    return style(pd.DataFrame(record["cells"]), 2)


def provenance(folders: Sequence[Path], record: dict[str, Any]) -> str:
    """Each model's models-file entry as runs record it (never a key), code versions and
    package versions, and the seeds of every cell."""
    metas = [json.loads((Path(f) / "run.json").read_text()) for f in folders]
    entries: dict[str, Any] = {}
    for meta in metas:
        entries.update(meta.get("llm") or {})
    versions = sorted({(m["provenance"]["code_version"] or "?")[:12] for m in metas})
    dirty = any(m["provenance"].get("dirty") for m in metas)
    packages = metas[0]["provenance"]["packages"] if metas else {}
    seeds = "; ".join(
        f"{c['model']} × {c['condition']}: seeds {record['spec']['seed']}–"
        f"{record['spec']['seed'] + c['runs'] - 1}"
        for c in record["cells"]
        if c["runs"]
    )
    spec = {k: v for k, v in record["spec"].items() if v not in (None, {}, [])}
    lines = [
        "**Model entries** (as the runs record them; keys are never written):",
        "```json\n" + json.dumps(entries, indent=2) + "\n```"
        if entries
        else "(no model entry: in-process scripted agents)",
        f"**Code version:** {', '.join(versions)}" + (" (uncommitted changes)" if dirty else ""),
        "**Packages:** " + ", ".join(f"{k} {v}" for k, v in packages.items() if v),
        f"**Seeds:** {seeds}",
        "**Evaluation spec:**",
        "```json\n" + json.dumps(spec, indent=2) + "\n```",
    ]
    return "\n\n".join(lines)


def run_views(out: Path, folders: Sequence[Path]) -> str:
    """Links (Markdown, relative to ``out``) to a ``coop view`` page of each cell's first
    run, and of each intervention beside its baseline on the same seed; the pages are
    written beside the runs."""
    import os

    from ..view import write_view

    summaries = {Path(f): json.loads((Path(f) / "summary.json").read_text()) for f in folders}
    first: dict[tuple[str, str], Path] = {}
    for f, s in sorted(summaries.items(), key=lambda fs: (fs[1]["seed"], str(fs[0]))):
        first.setdefault((s["model"], s["condition"]), f)
    lines = []
    for (model, condition), f in sorted(first.items()):
        seed = summaries[f]["seed"]
        line = f"- `{model}` × {condition}, seed {seed}: "
        line += f"[every turn]({os.path.relpath(write_view([f]), out)})"
        base = first.get((model, Condition.BASELINE))
        if condition != Condition.BASELINE and base is not None and summaries[base]["seed"] == seed:
            pair = os.path.relpath(write_view([base, f]), out)
            line += f" · [beside its baseline]({pair})"
        lines.append(line)
    return "\n".join(lines) or "(no finished run)"
