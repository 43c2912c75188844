"""Statistics over runs: cell summaries, paired contrasts, count models, corrections, power.

Why: the paper reports every cell as "mean ± 95% t-interval over
5 runs", compares conditions as percentage changes, and correlates performance
with Chatbot Arena Elo. Those numbers are easy to compute slightly differently
(z instead of t, pooled instead of per-cell variance, unpaired instead of paired
seeds), and every such difference changes a conclusion drawn from five runs. Here
each statistic is one small, documented function that takes a pandas DataFrame
(the runs frame of :mod:`coop_utils.analysis.load`: one row per run) and returns a
DataFrame, so a notebook can show exactly which rule produced a number. One kind of
statistic per module: :mod:`.intervals`, :mod:`.contrasts` (paired, Holm), :mod:`.counts`
(count models), :mod:`.capability` (Elo), :mod:`.power`.

Conventions
- The unit of analysis is the **run** (one episode of ``n_agents`` agents). Agents
  within a run are not independent and are never treated as replicates.
- Intervals are two-sided 95% Student-t intervals unless a function says otherwise;
  ``ci95`` columns hold the half-width (mean ± ci95), ``lo``/``hi`` the bounds.
- Cells hold few runs (the paper used 5; the offline default 3), so every interval and
  test uses small-sample quantiles: Student t with the degrees of freedom of the runs (or
  clusters of runs) that inform it, never the normal. With 3–5 runs an interval is wide
  and its coverage rests on roughly normal run-to-run variation; read it as such.
- Proportions (precision, recall, shares of counted things) get Wilson intervals
  (:func:`wilson`), which stay inside [0, 1] and behave at 0 and n.
- A ``scripted`` column, when present in the input, is carried into every
  summary (True if any run of the cell is scripted), so figures and tables can
  label scripted results as such.
"""

from .capability import ELO_PATH, canonical_model, capability_correlation, load_elo
from .contrasts import PAIRED_COLUMNS, holm, holm_family, paired_difference, pct_change
from .counts import cell_rates, count_model, rate_ratios
from .intervals import cell_summary, scripted_flag, t_half_width, t_interval, wilson, with_flag
from .power import paper_plan, runs_needed, sd_bounds

__all__ = [
    "ELO_PATH",
    "PAIRED_COLUMNS",
    "canonical_model",
    "capability_correlation",
    "cell_rates",
    "cell_summary",
    "count_model",
    "holm",
    "holm_family",
    "load_elo",
    "paired_difference",
    "pct_change",
    "rate_ratios",
    "paper_plan",
    "runs_needed",
    "sd_bounds",
    "scripted_flag",
    "t_half_width",
    "t_interval",
    "wilson",
    "with_flag",
]
