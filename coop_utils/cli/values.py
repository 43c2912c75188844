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


def conditions() -> str:
    """The paper's conditions, comma-separated, for help texts."""
    from ..game.config import CONDITIONS

    return ", ".join(CONDITIONS)


def setting_default(field: str) -> object:
    """An ``EnvConfig`` field's default, for help texts."""
    from ..game.config import EnvConfig

    return EnvConfig.model_fields[field].default


def add_condition(p: argparse.ArgumentParser, what: str) -> None:
    """The ``--condition`` option: one of the paper's conditions, baseline by default."""
    from ..game.config import CONDITIONS, Condition

    p.add_argument(
        "--condition",
        default=Condition.BASELINE,
        choices=CONDITIONS,
        help=f"{what} (default {Condition.BASELINE})",
    )
