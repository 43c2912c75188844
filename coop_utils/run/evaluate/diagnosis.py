"""The diagnosis of ``coop evaluate``, in the paper's terms, from the numbers alone.

The paper's causal decomposition plays a model twice more with one side of
every exchange automated:

- **cooperation rate** = % of optimal under ``auto_request``: the system asks for every
  missing piece in the agent's name, so what is left is whether the model *sends* when
  asked (and still submits);
- **competence rate** = % of optimal under ``auto_fulfill``: every piece a message names is
  sent at once, so what is left is whether the model *asks* and *submits* properly.

The rule, written here, in :mod:`coop_utils.analysis.quadrants` (1-3, which notebook 02's
Table 2 applies too) and in ``docs/EVALUATE.md``:

1-3. A rate is **limited** below ``threshold``; the **quadrant** follows the two means; a
   rate is **uncertain** when its 95% t-interval contains the threshold (or it has fewer
   than 2 usable runs). A tighter ``--target`` narrows it by adding runs, reusing all
   those already made.
4. **Interventions** follow the paper's pairing of failure and fix: the sender bonus
   (``incentive``) when cooperation is limited *or uncertain*, the explicit protocol
   (``policy``) when competence is limited *or uncertain*. So *both limited* gets both; an
   uncertain rate gets its intervention too, because the measured effect (or its absence)
   is itself evidence on the doubtful side. *Cooperative & competent* with both rates
   settled gets none: the paper has no targeted fix for it, and the report shows its
   baseline gap instead. ``all_interventions`` runs every one of the game's
   ``INTERVENTIONS`` (``limited``, hidden revenues, included) whatever the diagnosis.
5. A rate with no usable run (the budget ran out first) leaves the diagnosis
   **undetermined**, and no intervention is run.

Nothing here reads a model's name. Beware one known leak (notebook 06): the cooperation
rate also depends on how reliably a model submits, so a low cooperation rate alone does not
prove unwillingness; the intervention effects are the second line of evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...analysis.quadrants import DEFAULT_THRESHOLD, Rate, quadrant, uncertain
from ...game.config import INTERVENTIONS, Condition

__all__ = ["FIX", "Diagnosis", "diagnose"]

FIX = {"cooperation": Condition.INCENTIVE, "competence": Condition.POLICY}
"""The intervention the paper pairs with each failure: the sender bonus, the protocol."""


@dataclass(frozen=True)
class Diagnosis:
    """A model's place in the paper's decomposition and the interventions it calls for."""

    cooperation: Rate
    competence: Rate
    threshold: float
    quadrant: str
    """Fig. 4's words, or 'undetermined' when a rate has no usable run."""
    uncertain: tuple[str, ...]
    """Rates whose interval contains the threshold (or that have < 2 runs)."""
    interventions: tuple[str, ...]

    def sentence(self, model: str) -> str:
        """The diagnosis in one paragraph of the paper's terms."""
        t = self.threshold
        lines = [
            f"{model} is {self.quadrant}: with asking automated (auto_request, the cooperation "
            f"rate) it reaches {self.cooperation.text()}; with sending automated "
            f"(auto_fulfill, the competence rate) {self.competence.text()}; the line is {t:g}%."
        ]
        for name in self.uncertain:
            rate = getattr(self, name)
            if rate.n >= 2:
                lines.append(
                    f"The {name} rate's interval straddles {t:g}%, so that side is uncertain."
                )
        if self.interventions:
            lines.append(f"Interventions run: {', '.join(self.interventions)}.")
        elif self.quadrant != "undetermined":
            lines.append("No targeted intervention applies (the paper pairs none with it).")
        return " ".join(lines)


def diagnose(
    cooperation: Rate,
    competence: Rate,
    threshold: float = DEFAULT_THRESHOLD,
    all_interventions: bool = False,
) -> Diagnosis:
    """Apply the rule of the module docstring to two measured rates."""
    rates = {"cooperation": cooperation, "competence": competence}
    if any(r.n == 0 for r in rates.values()):
        return Diagnosis(cooperation, competence, threshold, "undetermined", tuple(rates), ())
    doubtful_rates = uncertain(cooperation, competence, threshold)
    doubtful = {k for k, r in rates.items() if r.limited(threshold)} | set(doubtful_rates)
    fixes = [FIX[k] for k in rates if k in doubtful]
    chosen = INTERVENTIONS if all_interventions else tuple(sorted(fixes, key=_order))
    label = quadrant(cooperation.mean, competence.mean, threshold)
    return Diagnosis(cooperation, competence, threshold, label, doubtful_rates, chosen)


def _order(name: str) -> int:
    return INTERVENTIONS.index(name)
