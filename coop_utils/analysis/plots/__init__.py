"""The paper's figures, regenerated from run data, one function per figure.

Why: a figure is where a reader decides what the study found, so each one here
(1) shows the uncertainty it was computed with (95% t-intervals over runs; Wilson
intervals only where thoughts are pooled), (2) puts the paper's published numbers
beside ours as references — hatched bars or hollow diamonds, always labelled as the
paper's, never blended into our data — and (3) says in its title when the data come
from scripted agents, because those results describe the machinery, not any model.

Every function takes the frames of :mod:`coop_utils.analysis.load` (runs, thoughts,
transfers, per-round) or the tables of :mod:`~coop_utils.analysis.stats` /
:mod:`~coop_utils.analysis.thoughts`,
returns a matplotlib ``Figure`` (outside pyplot, so nothing is shown or leaked) and
:func:`save` writes PNG and PDF. Whether data are scripted is read from a ``scripted``
column; a frame without one needs ``scripted=True/False`` — there is no silent default.
Paper references are the frame of :func:`coop_utils.analysis.paper.load_paper`.

One module per notebook, in the paper's order: :mod:`.episode` (00, one run),
:mod:`.baseline` (01, Table 1 and Fig. 3), :mod:`.decomposition` (02, Fig. 4),
:mod:`.interventions` (03, Fig. 5), :mod:`.reasoning` (04, Tables 6–8), :mod:`.ablations`
(05), :mod:`.validity` (06); :mod:`.style` and :mod:`.labels` are shared by all.
"""

from .ablations import ablation_effects
from .baseline import baseline_bars, capability_scatter
from .decomposition import quadrant_axes, quadrant_plot
from .episode import exchange_network, tasks_per_round
from .interventions import intervention_effects
from .reasoning import thought_classes
from .style import (
    CONDITION_COLORS,
    INK,
    PAPER_BAR,
    PAPER_MARKER,
    PARTLY_SCRIPTED_NOTE,
    SCRIPTED_NOTE,
    SCRIPTED_PRESETS,
    model_colors,
    save,
)
from .validity import decomposition_validity

__all__ = [
    "CONDITION_COLORS",
    "INK",
    "PAPER_BAR",
    "PAPER_MARKER",
    "PARTLY_SCRIPTED_NOTE",
    "SCRIPTED_NOTE",
    "SCRIPTED_PRESETS",
    "baseline_bars",
    "ablation_effects",
    "capability_scatter",
    "decomposition_validity",
    "exchange_network",
    "intervention_effects",
    "model_colors",
    "quadrant_axes",
    "quadrant_plot",
    "save",
    "tasks_per_round",
    "thought_classes",
]
