"""A spending cap that holds, however many episodes are in flight.

Why reserve before each call: checking the total only when an episode starts lets every
episode in flight keep calling after the cap is reached (three concurrent runs under a
$0.01 cap spent $0.50). Here each call first reserves its worst case (the prompt's token
bound times the input price plus the output cap times the output price); a call whose
worst case could cross the cap is never started. When it returns, the reservation is
settled with the cost the provider reported (OpenRouter's ``usage.cost``) or, failing
that, the cost of the reported usage at the profile's prices. A call whose outcome is
unknown (a timeout after the request was sent) stays charged at its worst case, since the
provider may have billed it. A call that would fit once calls in flight settle waits for
them instead of giving up early.

Token bound: ``ceil(characters / 3) + 4`` per message plus 3. English and JSON average 3.5
to 4.5 characters per token with every tokenizer we know of (OpenAI's, Llama's, Qwen's,
DeepSeek's, Gemini's), so this bounds our prompts from above without a tokenizer file
(tiktoken downloads its encodings, which offline machines and tests cannot). The output
side needs no estimate: it is the request's output cap, or the context window left.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from .failures import StopError

CHARS_PER_TOKEN_BOUND = 3
"""Characters per token assumed when bounding a prompt's tokens (see the module docstring)."""


def prompt_tokens_bound(messages: Sequence[dict[str, Any]]) -> int:
    """An upper bound on the prompt tokens of ``messages`` (see the module docstring)."""
    total = 3
    for m in messages:
        content = m.get("content") or ""
        total += math.ceil(len(str(content)) / CHARS_PER_TOKEN_BOUND) + 4
    return total


class BudgetExhausted(StopError):
    """The next call could cross the spending cap: nothing more is started."""


class Budget:
    """Reservations and settled spending against an optional cap (USD), for one event loop."""

    def __init__(self, cap: float | None = None):
        self.cap = cap
        self.spent = 0.0
        """Settled cost of calls that returned (provider-reported where given)."""
        self.unsure = 0.0
        """Worst cases of calls whose outcome is unknown (timeouts, dropped connections)."""
        self.reserved = 0.0
        self.largest_reservation = 0.0
        self.closed = False
        self._cond: asyncio.Condition | None = None

    def close(self) -> None:
        """No further reservation (the pool stopped); waiters give up within a second."""
        self.closed = True

    @property
    def committed(self) -> float:
        return self.spent + self.unsure

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def reserve(self, worst: float, who: str) -> float:
        """Hold ``worst`` USD for one call; raises :class:`BudgetExhausted` if it cannot fit."""
        self.largest_reservation = max(self.largest_reservation, worst)
        if self.cap is None:
            self.reserved += worst
            return worst
        async with self._condition():
            while True:
                if self.closed:
                    raise StopError("stopped while waiting for the budget")
                if self.committed + worst > self.cap:
                    raise BudgetExhausted(
                        f"budget: ${self.committed:.4f} of the ${self.cap:.4f} cap is spent and "
                        f"the next call of {who} could cost up to ${worst:.4f}; no further call "
                        "was started. Rerun the same command with a higher --max-cost to continue"
                    )
                if self.committed + self.reserved + worst <= self.cap:
                    self.reserved += worst
                    return worst
                try:  # calls in flight may settle below their worst case
                    await asyncio.wait_for(self._condition().wait(), timeout=1.0)
                except TimeoutError:
                    pass

    async def settle(self, reservation: float, cost: float | None, unsure: bool = False) -> None:
        """Release a reservation, charging ``cost`` (or the whole reservation if ``unsure``)."""
        async with self._condition():
            self.reserved = max(self.reserved - reservation, 0.0)
            if unsure:
                self.unsure += reservation
            else:
                self.spent += cost or 0.0
            self._condition().notify_all()
