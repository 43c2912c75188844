"""The faults the local server injects, so the client is tested against what providers do.

Real providers fail in ways the client must survive, so the server can inject faults (429
with ``Retry-After``, 500, a reply slower than the client's timeout, prose instead of
JSON, JSON cut off partway) and a fixed or jittered latency. Each rate is a per-request
probability of one of these disjoint faults, drawn from one seeded generator owned by the
server (:class:`~.app.ServerState`), so a test can reconcile exactly what the client saw
with what the server did.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_FIELDS", "FAULT_KINDS", "MALFORMED_TEXT", "FaultSettings"]

FAULT_KINDS = ("429", "500", "slow", "malformed", "truncated")
"""Injected fault kinds, in the order their rates are walked for each request."""
MALFORMED_TEXT = (
    "Let me think about this turn. I should probably ask the holders for the pieces I am "
    "missing and send what was asked of me, then submit whatever I can complete."
)
"""What a malformed reply says: plausible model prose with no JSON object in it."""


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """What the server injects; every rate is a per-request probability (all off by default)."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_slow: float = 0.0
    rate_malformed: float = 0.0
    rate_truncated: float = 0.0
    retry_after_s: float = 0.05
    """Sent as ``Retry-After`` (seconds) and ``retry-after-ms`` on a 429."""
    slow_s: float = 5.0
    """How long a slow reply sleeps before answering (meant to exceed the client's timeout)."""
    latency_s: float = 0.0
    """Fixed delay before every chat request is answered."""
    latency_jitter_s: float = 0.0
    """Extra delay drawn uniformly from [0, latency_jitter_s] per request."""
    fault_seed: int = 0
    """Seed of the server's fault generator; setting it reseeds the generator."""

    def __post_init__(self) -> None:
        if sum(self.rates()) > 1 + 1e-9:
            terms = " + ".join(f"rate_{k} {r:g}" for k, r in zip(FAULT_KINDS, self.rates()) if r)
            raise ValueError(
                f"fault rates add up to {sum(self.rates()):g} ({terms}); they are chances of "
                "disjoint faults per request, so their sum must be <= 1"
            )

    def rates(self) -> tuple[float, ...]:
        return (
            self.rate_429,
            self.rate_500,
            self.rate_slow,
            self.rate_malformed,
            self.rate_truncated,
        )

    def draw(self, u: float) -> str | None:
        """The fault for a uniform draw ``u`` in [0, 1): the rates are walked in FAULT_KINDS order."""
        for kind, rate in zip(FAULT_KINDS, self.rates()):
            if u < rate:
                return kind
            u -= rate
        return None

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied; raises ValueError for an unknown field or a bad value."""
        known = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault field {name!r}; fields are {', '.join(known)}")
            clean[name] = _check_field(name, value)
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_field(name: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if name == "fault_seed":
        if not float(value).is_integer():
            raise ValueError(f"fault_seed must be an integer, got {value!r}")
        return int(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if name.startswith("rate_") and value > 1:
        raise ValueError(f"{name} is a probability and must be <= 1, got {value!r}")
    return float(value)


FAULT_FIELDS = tuple(f.name for f in dataclasses.fields(FaultSettings))
