"""The ``coop`` command line: one subcommand per job, each a thin layer over the package."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from .agents import expand_agents, scripted_agent
from .config import CONDITIONS, EnvConfig
from .runner import run_episode_sync, write_run


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run episodes with scripted agents (or model aliases)")
    p.add_argument("--agents", default="perfect",
                   help="'perfect', a preset (withholder, bungler, ...), 'behaviour:p_answer=0.3', "
                        "or a mix such as '5*perfect,5*withholder' (default: perfect)")
    p.add_argument("--condition", default="baseline", choices=CONDITIONS)
    p.add_argument("--runs", type=_positive, default=1, help="episodes, with seeds seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=_positive, help="override the number of rounds (default 20)")
    p.add_argument("--n-agents", type=_positive, help="override the number of agents (default 10)")
    p.add_argument("--out", type=Path, help="write one folder per run here")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("rounds", args.rounds), ("n_agents", args.n_agents)) if v}
    config = EnvConfig.for_condition(args.condition, **overrides)
    specs = expand_agents(args.agents, config.n_agents)
    rows = []
    for seed in tqdm(range(args.seed, args.seed + args.runs), desc="episodes", disable=args.json, leave=False):
        agents = [scripted_agent(spec, seed * 1000 + k) for k, spec in enumerate(specs)]
        episode = run_episode_sync(config, agents, seed)
        if args.out:
            write_run(args.out / episode.run_id, episode)
        s = episode.summary
        rows.append({"seed": seed, "condition": config.condition, "agents": args.agents,
                     "tasks": s["tasks"], "pct_optimal": round(s["pct_optimal"], 2),
                     "messages": s["messages"], "invalid_actions": s["invalid_actions"]})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)
    return 0


def _print_table(rows: list[dict]) -> None:
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    tasks = [r["tasks"] for r in rows]
    print(f"mean tasks {sum(tasks) / len(tasks):.1f} over {len(tasks)} run(s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"coop {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
