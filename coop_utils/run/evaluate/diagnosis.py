"""The diagnosis of ``coop evaluate``, in the paper's terms, from the numbers alone.

The paper's causal decomposition (SPEC §4–§5) plays a model twice more with one side of
every exchange automated:

- **cooperation rate** = % of optimal under ``auto_request``: the system asks for every
  missing piece in the agent's name, so what is left is whether the model *sends* when
  asked (and still submits);
- **competence rate** = % of optimal under ``auto_fulfill``: every piece a message names is
  sent at once, so what is left is whether the model *asks* and *submits* properly.

The rule, written once here and in ``docs/EVALUATE.md``:

1. A rate is **limited** when its mean is below ``threshold`` (50% of perfect play: the
   dotted lines of the paper's Fig. 4).
2. The **quadrant** follows the two means, in Fig. 4's words: *cooperation-limited*
   (cooperation below, competence at or above), *competence-limited* (the reverse),
   *both limited*, or *cooperative & competent*.
3. A rate is **uncertain** when its 95% t-interval contains the threshold (or it has
   fewer than 2 usable runs): the quadrant still follows the mean, and the diagnosis says
   which rate is uncertain. A tighter ``--target`` narrows it by adding runs, reusing all
   those already made.
4. **Interventions** follow the paper's pairing of failure and fix: the sender bonus
   (``incentive``) when cooperation is limited *or uncertain*, the explicit protocol
   (``policy``) when competence is limited *or uncertain*. So *both limited* gets both; an
   uncertain rate gets its intervention too, because the measured effect (or its absence)
   is itself evidence on the doubtful side. *Cooperative & competent* with both rates
   settled gets none: the paper has no targeted fix for it, and the report shows its
   baseline gap instead. ``all_interventions`` runs ``policy``, ``incentive`` and
   ``limited`` (hidden revenues) whatever the diagnosis.
5. A rate with no usable run (the budget ran out first) leaves the diagnosis
   **undetermined**, and no intervention is run.

Nothing here reads a model's name. Beware one known leak (notebook 06): the cooperation
rate also depends on how reliably a model submits, so a low cooperation rate alone does not
prove unwillingness; the intervention effects are the second line of evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...analysis.tables import diagnosis as quadrant
from ...game.config import INTERVENTIONS

DEFAULT_THRESHOLD = 50.0
"""% of optimal below which a rate is limited (the paper's Fig. 4 quadrant lines)."""
RATES = {"cooperation": "auto_request", "competence": "auto_fulfill"}
"""Each rate and the condition that measures it."""
FIX = {"cooperation": "incentive", "competence": "policy"}
"""The intervention the paper pairs with each failure: the sender bonus, the protocol."""
ALL_INTERVENTIONS = tuple(c for c in INTERVENTIONS if c != "baseline")
"""What ``--all-interventions`` runs: every intervention the interventions grid has."""


@dataclass(frozen=True)
class Rate:
    """One rate: mean % of optimal over ``n`` runs ± its 95% t half-width."""

    name: str
    mean: float
    ci95: float
    n: int

    @property
    def condition(self) -> str:
        return RATES[self.name]

    @property
    def lo(self) -> float:
        return self.mean - self.ci95

    @property
    def hi(self) -> float:
        return self.mean + self.ci95

    def limited(self, threshold: float) -> bool:
        return self.mean < threshold

    def uncertain(self, threshold: float) -> bool:
        return self.n < 2 or math.isnan(self.ci95) or self.lo <= threshold <= self.hi

    def text(self) -> str:
        if self.n == 0:
            return "no usable run"
        if self.n < 2 or math.isnan(self.ci95):
            return f"{self.mean:.1f}% ({self.n} run, no interval)"
        return f"{self.mean:.1f}% (95% CI {self.lo:.1f}–{self.hi:.1f}, {self.n} runs)"


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
    uncertain = tuple(k for k, r in rates.items() if r.uncertain(threshold))
    doubtful = {k for k, r in rates.items() if r.limited(threshold)} | set(uncertain)
    fixes = [FIX[k] for k in rates if k in doubtful]
    chosen = ALL_INTERVENTIONS if all_interventions else tuple(sorted(fixes, key=_order))
    label = quadrant(cooperation.mean, competence.mean, threshold)
    return Diagnosis(cooperation, competence, threshold, label, uncertain, chosen)


def _order(name: str) -> int:
    return ALL_INTERVENTIONS.index(name)
