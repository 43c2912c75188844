"""``coop evaluate``: where a model sits among the paper's eight, for a budget you set.

One module per step, data flowing one way:

- :mod:`.estimate`: before spending, the runs expected from the paper's own spread and
  the dry-run cost (``--dry-run`` stops there);
- :mod:`.protocol`: the runs, as batches of ordinary grids (cache, resume, budget);
- :mod:`.stopping`: the adaptive stopping rule, a pure function of each cell's values;
- :mod:`.diagnosis`: the paper's decomposition read from the numbers, and the
  interventions it calls for;
- :mod:`.findings`: what was found, in the paper's terms (``summary.json``);
- :mod:`.report`: the parameterized report notebook run by papermill, exported to HTML;
- :mod:`.leaderboard`: evaluations beside the paper's eight, in one CSV and one figure;
- :mod:`.command`: the command line.

The rule in words is in ``docs/EVALUATE.md``. Names load on first use, so the command
line does not pay for pandas until an evaluation runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "protocol": ("EvaluationSpec", "Evaluation", "run_evaluation", "PROTOCOL_VERSION"),
    "stopping": ("StopRule", "adapt", "cell_state", "runs_for_target"),
    "diagnosis": ("Diagnosis", "diagnose"),
    "findings": ("findings",),
    "report": ("write_summary", "render"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'coop_utils.run.evaluate' has no attribute {name!r}")
