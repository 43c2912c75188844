"""The quadrants of the paper's causal decomposition (its Fig. 4), one rule for notebook
02's Table 2 and for ``coop evaluate``'s diagnosis (:mod:`coop_utils.run.evaluate.diagnosis`).

- **cooperation rate** = % of optimal under ``auto_request``: the system asks for every
  missing piece in the agent's name, so what is left is whether the agent *sends* when
  asked (and still submits);
- **competence rate** = % of optimal under ``auto_fulfill``: every piece a message names is
  sent at once, so what is left is whether the agent *asks* and *submits* properly.

The rule (also in ``docs/EVALUATE.md``):

1. A rate is **limited** when its mean is below ``threshold`` (:data:`DEFAULT_THRESHOLD`
   % of perfect play: the dotted lines of the paper's Fig. 4).
2. The **quadrant** follows the two means, in Fig. 4's words: *cooperation-limited*
   (cooperation below, competence at or above), *competence-limited* (the reverse),
   *both limited*, or *cooperative & competent*.
3. A rate is **uncertain** when its 95% t-interval contains the threshold (or it has
   fewer than 2 usable runs): the quadrant still follows the mean, and the diagnosis says
   which rate is uncertain, so a label is never read from a point estimate alone.

Why here: a label such as "cooperation-limited" for 46.4 ± 22.9 reads as a finding; the
same numbers through ``coop evaluate`` read as uncertain. One rule, one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..game.config import Condition

DEFAULT_THRESHOLD = 50.0
"""% of optimal below which a rate is limited (the paper's Fig. 4 quadrant lines)."""
RATES = {"cooperation": Condition.AUTO_REQUEST, "competence": Condition.AUTO_FULFILL}
"""Each rate and the condition that measures it."""


def quadrant(cooperation: float, competence: float, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The quadrant of Fig. 4 for a (cooperation rate, competence rate) pair of means; empty
    when either is missing."""
    if math.isnan(cooperation) or math.isnan(competence):
        return ""
    coop, comp = cooperation >= threshold, competence >= threshold
    return {
        (True, True): "cooperative & competent",
        (False, True): "cooperation-limited",
        (True, False): "competence-limited",
        (False, False): "both limited",
    }[(coop, comp)]


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


def uncertain(
    cooperation: Rate, competence: Rate, threshold: float = DEFAULT_THRESHOLD
) -> tuple[str, ...]:
    """The rates (by name, in the order cooperation, competence) that rule 3 calls uncertain."""
    return tuple(r.name for r in (cooperation, competence) if r.uncertain(threshold))
