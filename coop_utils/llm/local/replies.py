"""What a scripted model answers: its prompt read back, a policy's decision, in its words.

The server keeps no per-conversation state: each request is answered from nothing but its
own content. The prompt text is read back into an observation
(:func:`~coop_utils.game.prompts.parse_observation`), the scripted policy named by the
request's ``model`` decides, and the decision goes back as the JSON reply our prompt asks
for, with first-person private thoughts (:mod:`coop_utils.agents.narration`). The policies
are pure, so the same request always gets the same reply.

Model names are ``scripted/<spec>`` (or the bare spec): ``perfect``, a preset from
``agents.PRESETS``, or ``behaviour:KNOB=V:...``. The behaviour policy's seed is the
request's standard ``seed`` field (0 when absent). A server may also be given *responders*:
other scripted stand-ins, each a ``module:function`` that answers a request's messages
(the thought judge of ``analysis/thoughts`` is one). They are named by whoever starts the
server, so this layer never imports what sits above it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from ...agents import (
    PRESETS,
    BehaviourKnobs,
    Plan,
    behaviour_plan,
    narrate,
    perfect_policy,
    summarise,
)
from ...game.actions import Action, action_to_dict
from ...game.observation import Observation
from ...game.prompts import parse_observation

__all__ = [
    "MODEL_PREFIX",
    "Decision",
    "Responder",
    "UnknownModel",
    "decide",
    "model_ids",
    "reply_text",
    "resolve_model",
    "responder",
    "wire_action",
]

MODEL_PREFIX = "scripted/"

Policy = Callable[[Observation, int], Plan]

Responder = Callable[[Sequence[Mapping[str, Any]]], tuple[str, str]]
"""A scripted stand-in other than a policy: the request's messages in; the reply's content and
a one-sentence account of it (sent as ``reasoning_content`` when asked for) out. Raises
``ValueError`` for a request it cannot answer."""


class UnknownModel(LookupError):
    """The request names a model this server does not serve (answered with a 404)."""


def model_ids(responders: Iterable[str] = ()) -> list[str]:
    """Every fixed model id a server lists: the policies, then its ``responders``
    (``behaviour:...`` specs are accepted too)."""
    return [MODEL_PREFIX + spec for spec in ("perfect", *PRESETS, *responders)]


def accepted(responders: Iterable[str] = ()) -> str:
    """What a server accepts as a model name, for error messages."""
    return (
        f"accepted models: {', '.join(model_ids(responders))}, or "
        f"{MODEL_PREFIX}behaviour:KNOB=V:KNOB=V with knobs "
        f"{', '.join(f.name for f in dataclasses.fields(BehaviourKnobs))} "
        f"(the '{MODEL_PREFIX}' prefix is optional)"
    )


def _perfect(obs: Observation, seed: int) -> Plan:
    return Plan(*perfect_policy(obs))


def _behave(knobs: BehaviourKnobs, obs: Observation, seed: int) -> Plan:
    return behaviour_plan(obs, knobs, seed)


@lru_cache(maxsize=256)
def resolve_model(model: str) -> Policy:
    """The policy for a model name; raises :class:`UnknownModel` with what is accepted."""
    spec = model.removeprefix(MODEL_PREFIX)
    if spec == "perfect":
        return _perfect
    if spec in PRESETS:
        return partial(_behave, PRESETS[spec])
    if spec == "behaviour" or spec.startswith("behaviour:"):
        try:
            knobs = BehaviourKnobs.parse(spec.partition(":")[2])
        except (TypeError, ValueError) as exc:
            raise UnknownModel(f"model {model!r}: {exc}; {accepted()}") from exc
        return partial(_behave, knobs)
    raise UnknownModel(f"unknown model {model!r}; {accepted()}")


@lru_cache(maxsize=32)
def responder(path: str) -> Responder:
    """The function a responder's ``module:function`` names, imported on first use."""
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"responder {path!r} cannot be loaded: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided for one request, with its first-person account."""

    actions: tuple[Action, ...]
    thoughts: str
    summary: str


def decide(model: str, messages: list[dict[str, str]], seed: int) -> Decision:
    """Run the named policy on the prompt; raises UnknownModel or ValueError (not our prompt)."""
    policy = resolve_model(model)
    obs = parse_observation(messages)
    plan = policy(obs, seed)
    actions = plan.actions
    return Decision(tuple(actions), narrate(obs, actions, plan), summarise(actions, obs))


def wire_action(action: Action) -> dict[str, Any]:
    """An action as our prompt asks for it: the type under the key ``"action"``."""
    d = action_to_dict(action)
    return {"action": d.pop("type"), **d}


def reply_text(decision: Decision) -> str:
    """The reply content: one JSON object with ``actions`` and ``private_thoughts``."""
    body = {
        "actions": [wire_action(a) for a in decision.actions],
        "private_thoughts": decision.thoughts,
    }
    return json.dumps(body, ensure_ascii=False)
