"""The authors' layout (the default): the user message rendered from ``templates/authors.j2``
with the words of the prompt variant (``templates/words/<variant>.j2``).

Free text (messages, notices, thoughts, broadcasts) appears as written; a line break inside
it is followed by four spaces, so no text can start a line of the prompt's own (a section
header), and :mod:`.read` removes them again.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import jinja2

from ..config import Condition
from ..observation import Observation
from ..world import format_amount

POINTS = "neutral_items"
"""The variant whose amounts are points (the authors' variant B); all others show dollars."""
INDENT = "\n    "
"""What follows a line break inside free text."""
ANNOUNCED = (Condition.AUTO_REQUEST, Condition.AUTO_FULFILL)
"""Conditions whose automation `announce_automation` tells; each has a line of that name in
the words."""

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("coop_utils.game.prompts", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)
_ENV.filters["amount"] = format_amount
_ENV.filters["flat"] = lambda text: text.replace("\n", INDENT)
_ENV.filters["who"] = lambda agent, me, you="You": you if agent == me else agent


@cache
def words(variant: str) -> SimpleNamespace:
    """The words of a prompt variant: those set in ``templates/words/<variant>.j2`` over
    those of the variant it names as its `base`."""
    module = _ENV.get_template(f"words/{variant}.j2").module
    own = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    base = own.pop("base", None)
    return SimpleNamespace(**{**(vars(words(base)) if base else {}), **own})


def _past(obs: Observation, w: SimpleNamespace) -> list[str]:
    """The past-actions section, grouped by the other agent as the authors grouped it."""
    h, lines = obs.history, []
    sent: dict[str, dict[str, int]] = {}
    for r in h.sent:
        sent.setdefault(r.counterpart, {})[r.piece] = r.value
    received: dict[str, dict[str, int]] = {}
    for r in h.received:
        received.setdefault(r.counterpart, {})[r.piece] = r.value
    if sent:
        lines.append(w.past_sent)
        lines += [f"  to {to}: {', '.join(sorted(ps))}" for to, ps in sent.items()]
    if h.asked:
        flagged = set(h.unanswered)
        lines += [*([""] if lines else []), w.past_asked]
        for to, by_piece in h.asked.items():
            for p, n in by_piece.items():
                tail = w.past_unanswered if (to, p) in flagged else ""
                lines.append(f"  of {to}: {p} ({n} ask{'' if n == 1 else 's'}{tail})")
    if h.ignoring is not None:
        lines += [*([""] if lines else []), w.past_ignoring]
        lines += [f"  {a} leaves your requests unanswered: ask someone else" for a in h.ignoring]
    if sent or received:
        lines += [*([""] if lines else []), w.past_values]
        for title, book, word in (
            (w.values_sent, sent, "to"),
            (w.values_received, received, "from"),
        ):
            if book:
                lines.append(title)
                lines += [
                    f"    {word} {a}: " + ", ".join(f"{p}={v}" for p, v in vals.items())
                    for a, vals in book.items()
                ]
    return lines


def system_text(obs: Observation) -> str:
    return words(obs.prompt_variant).system


def user_text(obs: Observation) -> str:
    w = words(obs.prompt_variant)
    decomposition = obs.layout != "main"
    goal = w.goal
    if w.cooperate and not decomposition:  # their decomposition prompt had no cooperate sentence
        goal += " " + w.cooperate
    directory: dict[str, list[str]] = {a: [] for a in obs.agents}
    for piece, holders in obs.directory.items():
        for a in holders:
            directory.setdefault(a, []).append(piece)
    return _ENV.get_template("authors.j2").render(
        o=obs,
        w=w,
        goal=goal,
        goal_first=decomposition,
        limited=obs.condition == Condition.LIMITED,
        points=obs.prompt_variant == POINTS,
        info=sorted(obs.holdings.items()),
        directory=sorted((a, sorted(ps)) for a, ps in directory.items()),
        past=_past(obs, w),
        automation=obs.condition
        if obs.announce_automation and obs.condition in ANNOUNCED
        else None,
        pct=round(100 * (1 - obs.manipulation_penalty)),
    )
