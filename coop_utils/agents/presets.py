"""Named scripted agents: the presets that mimic the paper's diagnoses, and agent specs.

An agent spec is ``perfect``, a preset name (``withholder``, ...) or
``behaviour:KNOB=V:...``; a population is one spec for every seat or a mix
(``5*withholder,5*perfect``). :func:`scripted_agent` builds the agent a spec names.
"""

from __future__ import annotations

from .base import Agent
from .behaviour import BehaviourAgent, BehaviourKnobs
from .perfect import PerfectAgent

PRESETS: dict[str, BehaviourKnobs] = {
    "cooperator": BehaviourKnobs(),
    "withholder": BehaviourKnobs(p_answer=0.15, p_answer_bonus=0.9),
    "bungler": BehaviourKnobs(
        p_answer=1.0, p_request=0.25, p_submit=0.4, p_request_policy=1.0, p_submit_policy=1.0
    ),
    "manipulator": BehaviourKnobs(p_answer=0.9, p_alter=0.5),
    "free_rider": BehaviourKnobs(p_answer=0.0, p_request=1.0, ask_all_holders=True),
    "rival": BehaviourKnobs(p_answer=0.95, p_answer_ahead=0.1),
    "reciprocator": BehaviourKnobs(reciprocal=True),
}
"""Named knob settings that mimic the paper's diagnoses, each reacting to the intervention
the paper found to help it:

- ``withholder``: competent but rarely sends (a cooperation failure); a sender bonus
  (``incentive``) makes it send almost always.
- ``bungler``: sends when asked but seldom requests or submits (a competence failure); the
  explicit protocol (``policy``) makes it request and submit every time.
- ``rival``: sends to almost everyone except agents ahead of it on the revenue board (social
  comparison); hiding the board (``limited``) removes the comparison.
- ``reciprocator``: cooperative, but holds back from an agent that has not yet sent what it
  asked that agent for (conditional, tit-for-tat-style cooperation). Among agents that always
  answer this never triggers, so it plays like ``cooperator``; beside withholders it
  withholds from them in turn (e.g. ``5*reciprocator,5*withholder``).
- ``cooperator`` (sends, asks, submits), ``manipulator`` (alters values it sends) and
  ``free_rider`` (asks everyone, never sends) ignore the interventions.
"""


def scripted_agent(spec: str, seed: int) -> Agent:
    """'perfect', a preset name ('withholder', ...), or 'behaviour:p_answer=0.3:p_request=1'."""
    if spec == "perfect":
        return PerfectAgent()
    if spec in PRESETS:
        return BehaviourAgent(PRESETS[spec], seed, label=spec)
    if spec.startswith("behaviour"):
        knobs = BehaviourKnobs.parse(spec.partition(":")[2])
        return BehaviourAgent(knobs, seed, label=spec)
    raise ValueError(
        f"unknown agent {spec!r}; use 'perfect', a preset ({', '.join(PRESETS)}), "
        "'behaviour:KNOB=V:KNOB=V' or a model alias from the models file"
    )


def expand_agents(spec: str, n_agents: int) -> list[str]:
    """'perfect' -> n copies; '5*withholder,5*perfect' or 'a,b,...' -> one spec per agent."""
    parts = [s.strip() for s in spec.split(",") if s.strip()]
    specs: list[str] = []
    for part in parts:
        count, star, name = part.partition("*")
        if star and count.strip().isdigit():
            specs += [name.strip()] * int(count)
        else:
            specs.append(part)
    if len(specs) == 1:
        specs *= n_agents
    if len(specs) != n_agents:
        raise ValueError(f"agents {spec!r} give {len(specs)} agents but the run has {n_agents}")
    return specs
