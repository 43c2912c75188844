"""One model call's outcome, and a pool's running totals of them.

A :class:`Completion` is what the client returns for a turn and what the response cache
records (``record`` / ``from_record``); minus its texts it is the run's ``llm_call`` event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Completion", "Usage"]


@dataclass(frozen=True)
class Completion:
    """One turn's call, as recorded in the cache and, minus its texts, in the run's log.

    ``failure`` is None for a genuine reply; else ``"lost"`` (retries exhausted),
    ``"provider_error"`` (this turn only) or ``"refusal"`` (the model declined). Token
    counts are None when the provider did not report them (unknown is not zero);
    ``output_tokens`` includes reasoning tokens, hidden ones included (Gemini)."""

    key: str
    text: str | None = None
    reasoning: str | None = None
    model: str = ""
    finish_reason: str | None = None
    input_tokens: int | None = 0
    cached_input_tokens: int | None = 0
    output_tokens: int | None = 0
    reasoning_tokens: int | None = None
    latency_s: float = 0.0
    cost_usd: float | None = 0.0
    """What the call cost: the provider's own figure where it reports one, else priced_cost_usd."""
    provider_cost_usd: float | None = None
    priced_cost_usd: float | None = None
    usage_error: str | None = None
    attempts: int = 1
    faults: tuple[str, ...] = ()
    error: str | None = None
    failure: str | None = None
    refusal: str | None = None
    upstream_model: str | None = None
    """The model a gateway called for the one asked (LiteLLM's ``x-litellm-model-name``)."""
    from_cache: bool = field(default=False, compare=False)

    def record(self) -> dict[str, Any]:
        rec = asdict(self)
        rec.pop("from_cache")
        if rec["upstream_model"] is None:  # only behind a gateway
            rec.pop("upstream_model")
        rec["faults"] = list(self.faults)
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Completion:
        known = {f.name for f in fields(cls)} - {"from_cache"}
        kw = {k: v for k, v in rec.items() if k in known}
        kw["faults"] = tuple(kw.get("faults", ()))
        if kw.get("error") is not None and kw.get("failure") is None:
            kw["failure"] = "lost"  # recorded before failures had classes
        return cls(**kw, from_cache=True)

    def call_event(self) -> dict[str, Any]:
        """The payload of the run's ``llm_call`` event."""
        rec = self.record()
        for k in ("text", "reasoning", "error", "failure", "refusal"):
            rec.pop(k)
        return rec

    @property
    def answered(self) -> bool:
        """The provider answered (a reply, a provider error or a refusal), so a call is logged."""
        return self.failure != "lost"


@dataclass
class Usage:
    """Running totals for a pool: what was spent now versus served from the cache."""

    live_calls: int = 0
    cached_calls: int = 0
    lost_turns: int = 0
    provider_errors: int = 0
    refusals: int = 0
    retried_attempts: int = 0
    """Attempts retried in live calls of this invocation (replayed faults are not counted)."""
    spent_usd: float = 0.0
    recorded_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, c: Completion) -> None:
        live = not c.from_cache
        self.live_calls += live
        self.cached_calls += c.from_cache
        self.lost_turns += c.failure == "lost"
        self.provider_errors += c.failure == "provider_error"
        self.refusals += c.failure == "refusal"
        self.retried_attempts += (c.attempts - 1) if live else 0
        self.spent_usd += (c.cost_usd or 0.0) if live else 0.0
        self.recorded_usd += c.cost_usd or 0.0
        self.input_tokens += c.input_tokens or 0
        self.output_tokens += c.output_tokens or 0

    @property
    def failed_turns(self) -> int:  # the name before failures had classes
        return self.lost_turns
