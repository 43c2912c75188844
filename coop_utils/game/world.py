"""Pieces of information and tasks: what the agents trade and what pays.

Pure functions of a seeded ``random.Random`` so the environment can draw
everything from its one generator.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .config import EnvConfig
from .observation import TaskView

PIECE_TEMPLATES = (
    "Q{n} sales data",
    "Region {n} market data",
    "Department {n} budget",
    "Customer segment {n} analysis",
    "Product {n} performance metrics",
)
NEUTRAL_TEMPLATES = tuple(f"Item {letter}{{n}}" for letter in "SRDCP")
"""Variant B's item names: one letter per category of `PIECE_TEMPLATES` and the same number,
as the authors' variant B renamed them (the category stays visible, the business words go)."""

TASK_TEMPLATES = (
    "Work out the quarterly figures by combining {pieces}",
    "Put the report together from {pieces}",
    "Find the trend by comparing {pieces}",
    "Build a forecast on {pieces}",
    "Check the budget against {pieces}",
)
NEUTRAL_TASK_TEMPLATES = (
    "Combine {pieces}",
    "Put {pieces} together",
    "Compare {pieces}",
    "Join {pieces} into one result",
    "Check {pieces} against each other",
)
"""Task descriptions name the task's pieces, as the authors' did; the neutral variants use
words with no business meaning."""

NEUTRAL_VARIANTS = ("neutral_company", "neutral_items")
"""Prompt variants that speak of a score in points, never of money or a company."""


def format_amount(x: float, points: bool) -> str:
    """Money as the prompt shows it: "$15,000" or, in the neutral variants, "15,000 points"."""
    s = f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6f}".rstrip("0")  # exact: $15.625
    return f"{s} points" if points else f"${s}"


# (low, high, probability): the paper's distribution of hidden true values.
VALUE_BANDS = ((0, 19, 0.05), (20, 59, 0.15), (60, 79, 0.60), (80, 100, 0.20))


@dataclass(frozen=True, slots=True)
class Piece:
    name: str
    value: int
    first_holder: int


def piece_names(config: EnvConfig, rng: random.Random) -> list[str]:
    """Distinct piece names: piece i is numbered i + 1 and gets a template drawn at random
    (`piece_names="random"`, as the authors drew them) or the next one in turn (`cyclic`).
    Under `neutral_items` the same draw picks the item letter."""
    templates = _templates(config)
    k = len(templates)
    if config.piece_names == "cyclic":
        return [templates[i % k].format(n=i // k + 1) for i in range(config.n_pieces)]
    return [rng.choice(templates).format(n=i + 1) for i in range(config.n_pieces)]


def name_pool(config: EnvConfig) -> tuple[str, ...]:
    """Every name :func:`piece_names` could give a piece under this config, whatever the draw."""
    return _pool(_templates(config), config.n_pieces)


@lru_cache(maxsize=8)
def _pool(templates: tuple[str, ...], n_pieces: int) -> tuple[str, ...]:
    """Kept: every episode's matcher reads it, and writing it out takes as long as dealing."""
    return tuple(t.format(n=i + 1) for t in templates for i in range(n_pieces))


def _templates(config: EnvConfig) -> tuple[str, ...]:
    return NEUTRAL_TEMPLATES if config.prompt_variant == "neutral_items" else PIECE_TEMPLATES


def draw_value(rng: random.Random) -> int:
    u, acc = rng.random(), 0.0
    for low, high, p in VALUE_BANDS:
        acc += p
        if u < acc:
            return rng.randint(low, high)
    return rng.randint(*VALUE_BANDS[-1][:2])


def make_pieces(config: EnvConfig, rng: random.Random) -> list[Piece]:
    """Piece i starts with agent i mod n_agents; each gets a hidden true value."""
    names = piece_names(config, rng)
    return [Piece(name, draw_value(rng), i % config.n_agents) for i, name in enumerate(names)]


def draw_task(task_id: str, names: list[str], config: EnvConfig, rng: random.Random) -> TaskView:
    """Pieces are drawn uniformly without replacement from all pieces (owned ones included);
    the description is a sentence that names them."""
    pieces = tuple(rng.sample(names, config.pieces_per_task))
    neutral = config.prompt_variant in NEUTRAL_VARIANTS
    template = rng.choice(NEUTRAL_TASK_TEMPLATES if neutral else TASK_TEMPLATES)
    return TaskView(
        task_id, template.format(pieces=" and ".join([f'"{p}"' for p in pieces])), pieces
    )


class PieceMatcher:
    """Finds the piece names a free-text message mentions (case-insensitive, whole names).

    The lower-cased names are compiled into one regex shaped like a trie (shared
    prefixes are tested once), several times faster than a flat alternation of 100
    names and with the same result: at each position, the longest name that is not
    glued to a neighbouring word character.

    Compiling that regex takes longer than a scripted episode's messages take to read, and
    drawn names differ from seed to seed. So with a ``pool`` (:func:`name_pool`: every name
    the setting could draw, a superset of ``names``) mentions are found with the pool's
    regex, compiled once for every episode of the setting; the answer is the same whenever
    every mention it finds is one of ``names`` (the longest name at a position is then the
    longest pool name there), and any other text is read again with the names' own regex.
    """

    def __init__(self, names: list[str], pool: tuple[str, ...] = ()):
        self._canon = {n.lower(): n for n in names}
        self._names = tuple(self._canon)
        self._pool = _pool_regex(pool) if pool else None
        self._found: dict[str, tuple[str, ...]] = {}
        """What each text read so far names: an episode's messages repeat (the same ask of
        each holder, the same automatic request), and its matcher lives as long as it does."""

    def find(self, text: str) -> tuple[str, ...]:
        """Named pieces in order of first mention, without repeats: the matcher's own record
        of the text (a tuple, so no caller can change a later answer)."""
        found = self._found.get(text)
        if found is None:
            found = self._found[text] = tuple(self._find(text))
        return found

    def _find(self, text: str) -> list[str]:
        if not self._canon:  # an empty pattern would match between any two non-word characters
            return []
        text, canon = text or "", self._canon
        if self._pool is not None:
            mentions = [m.lower() for m in self._pool.findall(text)]
            if all(map(canon.__contains__, mentions)):
                return list(dict.fromkeys([canon[m] for m in mentions]))
        seen: dict[str, None] = {}
        for mention in _mention_regex(self._names).findall(text):
            seen[canon.get(mention.lower()) or self._variant(mention)] = None
        return list(seen)

    def _variant(self, mention: str) -> str:
        """The name behind a Unicode case variant (e.g. 'ſ' for 's') that str.lower() keeps."""
        return next(n for k, n in self._canon.items() if re.fullmatch(re.escape(k), mention, re.I))


@lru_cache(maxsize=8)
def _pool_regex(pool: tuple[str, ...]) -> re.Pattern[str]:
    return _mention_regex(tuple(p.lower() for p in pool))


@lru_cache(maxsize=8)
def _mention_regex(lowered_names: tuple[str, ...]) -> re.Pattern[str]:
    """Compiled once per set of names. It opens by checking the character against the names'
    first characters, which lets the regex engine reject every other position at once (not
    when a name is empty: that one matches anywhere)."""
    pattern = _trie_pattern(_trie(lowered_names))
    first = "".join(sorted({re.escape(name[0]) for name in lowered_names if name}))
    opening = f"(?=[{first}])" if first and all(lowered_names) else ""
    return re.compile(rf"{opening}(?<![\w])({pattern})(?![\w])", re.IGNORECASE)


def _trie(words: Iterable[str]) -> dict[str, dict]:
    """Nested dicts, one level per character; the key '' marks the end of a word."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return root


def _trie_pattern(node: dict[str, dict]) -> str:
    """Longer continuations are tried before a word ends here, so the longest name wins."""
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in node.items() if ch]
    if "" in node:
        branches.append("")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"
