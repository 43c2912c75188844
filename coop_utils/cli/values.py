"""How the command line reads a value: one-line errors that say what is accepted."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def conditions() -> tuple[str, ...]:
    from ..game.config import CONDITIONS

    return CONDITIONS
