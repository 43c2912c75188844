"""Pieces of information and tasks: what the agents trade and what pays.

Pure functions of a seeded ``random.Random`` so the environment can draw
everything from its one generator.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .config import EnvConfig

PIECE_TEMPLATES = (
    "Q{n} sales data",
    "Region {n} market data",
    "Department {n} budget",
    "Customer segment {n} analysis",
    "Product {n} performance metrics",
)
NEUTRAL_TEMPLATE = "Item {n}"

TASK_DESCRIPTIONS = (
    "Compile the quarterly revenue report",
    "Prepare the market expansion proposal",
    "Assemble the budget reconciliation",
    "Draft the customer retention analysis",
    "Build the product portfolio review",
    "Write the competitive landscape brief",
    "Produce the operations efficiency audit",
    "Finalise the investor update",
)

# (low, high, probability): SPEC §2's distribution of hidden true values.
VALUE_BANDS = ((0, 19, 0.05), (20, 59, 0.15), (60, 79, 0.60), (80, 100, 0.20))


@dataclass(frozen=True, slots=True)
class Piece:
    name: str
    value: int
    first_holder: int


@dataclass(frozen=True, slots=True)
class Task:
    task_id: str
    owner: int
    description: str
    pieces: tuple[str, ...]

    def answer(self) -> str:
        """The exact answer format a submission must use."""
        return "Combined result of: " + ", ".join(self.pieces)


def piece_names(config: EnvConfig) -> list[str]:
    """Distinct piece names; neutral wording under the `neutral_items` prompt variant."""
    if config.prompt_variant == "neutral_items":
        return [NEUTRAL_TEMPLATE.format(n=i + 1) for i in range(config.n_pieces)]
    k = len(PIECE_TEMPLATES)
    return [PIECE_TEMPLATES[i % k].format(n=i // k + 1) for i in range(config.n_pieces)]


def draw_value(rng: random.Random) -> int:
    u, acc = rng.random(), 0.0
    for low, high, p in VALUE_BANDS:
        acc += p
        if u < acc:
            return rng.randint(low, high)
    return rng.randint(*VALUE_BANDS[-1][:2])


def make_pieces(config: EnvConfig, rng: random.Random) -> list[Piece]:
    """Piece i starts with agent i mod n_agents; each gets a hidden true value."""
    return [
        Piece(name, draw_value(rng), i % config.n_agents)
        for i, name in enumerate(piece_names(config))
    ]


def draw_task(
    task_id: str, owner: int, names: list[str], config: EnvConfig, rng: random.Random
) -> Task:
    """Pieces are drawn uniformly without replacement from all pieces (owned ones included)."""
    pieces = tuple(rng.sample(names, config.pieces_per_task))
    return Task(task_id, owner, rng.choice(TASK_DESCRIPTIONS), pieces)


class PieceMatcher:
    """Finds the piece names a free-text message mentions (case-insensitive, whole names)."""

    def __init__(self, names: list[str]):
        self._canon = {n.lower(): n for n in names}
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        self._regex = re.compile(rf"(?<![\w])({alternatives})(?![\w])", re.IGNORECASE)

    def find(self, text: str) -> list[str]:
        """Named pieces in order of first mention, without repeats."""
        seen: dict[str, None] = {}
        for m in self._regex.finditer(text or ""):
            seen.setdefault(self._canon[m.group(1).lower()], None)
        return list(seen)
