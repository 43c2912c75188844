"""The subcommands that read a game rather than play one: ``coop prompt`` (the exact
messages of one turn) and ``coop view`` (a page per run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .commands import cmd_prompt
from .values import add_condition, positive

PROMPT = """\
Print the exact messages a model receives on one turn of a played episode (the system
message, then the user message), followed by each section's length in characters. The
episode is played in process by scripted agents (default: perfect play), so every turn
before the one printed is the same as in `coop run` with the same seed."""
PROMPT_EXAMPLES = """\
examples:
  coop prompt --seed 0 --agent 0 --round 3                    round 3 of agent_0, baseline
  coop prompt --condition incentive --round 1 --lengths       only the section lengths
  coop prompt --round 3 --set prompt_layout=tagged            our earlier layout"""


def add_prompt(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = PROMPT, PROMPT_EXAMPLES
    add_condition(p, "the condition the episode is played under")
    p.add_argument("--seed", type=int, default=0, help="the episode's seed (default 0)")
    p.add_argument("--agent", type=int, default=0, help="the agent's number, 0 for agent_0")
    p.add_argument("--round", type=positive, default=1, help="the round (default 1)")
    p.add_argument(
        "--agents",
        default="perfect",
        help="the scripted population that plays the episode, as in coop run (default perfect)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment option, e.g. rounds=10, prompt_layout=tagged, "
        "prompt_variant=neutral_items (repeatable)",
    )
    p.add_argument("--lengths", action="store_true", help="print only the section lengths")
    p.add_argument("--json", action="store_true", help="print the messages and lengths as JSON")
    p.set_defaults(func=cmd_prompt)


VIEW = """\
Write one self-contained HTML page of a run (it opens from the file: no server, no network):
its overview, every turn with the messages the agent was sent, its reply, actions, private
thoughts and what followed, with filters, search and jumps; with two runs (one seed, two
conditions), where their histories part. Built from the run folder and its seed alone."""
VIEW_EXAMPLES = """\
examples:
  coop view runs/o3/o3/baseline/seed0                writes .../seed0/view.html
  coop view RUN_BASELINE RUN_INCENTIVE --out cmp.html   two runs side by side"""


def add_view(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = VIEW, VIEW_EXAMPLES
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="one run folder, or two")
    p.add_argument("--out", type=Path, help="the page (default: view.html in the first run)")

    def view(args: argparse.Namespace) -> int:
        from ..run.view import write_view

        print(write_view(args.runs, args.out))
        return 0

    p.set_defaults(func=view)
