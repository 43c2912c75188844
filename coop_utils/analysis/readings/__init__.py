"""The notebooks' readings: the Markdown under a result that says what it means, computed
from the tables the notebook made, one module per notebook as :mod:`..plots` has.

Why: a computed sentence is read as a conclusion at whatever parameters it was computed.
At one run per cell nothing can be tested, and "changes that survive Holm's correction:
none" would read as a finding of no effect; a zero baseline has no % change ("+nan%"); an
interval from one statistic beside a test of another can disagree; a quadrant drawn from
one run is one draw; a knob the grid held constant is no evidence of a leak. Each function
takes the frames its notebook computed and returns Markdown (for
:func:`~coop_utils.analysis.prose.md`) that says what could not be tested and why, so a
notebook's reading cell is one call. ``tests/test_readings.py`` runs them at 1 and 2 runs
without executing a notebook.

In the notebooks' order: :mod:`.baseline` (01), :mod:`.decomposition` (02),
:mod:`.interventions` (03), :mod:`.reasoning` (04), :mod:`.ablations` (05),
:mod:`.validity` (06).
"""

from . import ablations, baseline, decomposition, interventions, reasoning, validity

__all__ = ["ablations", "baseline", "decomposition", "interventions", "reasoning", "validity"]
