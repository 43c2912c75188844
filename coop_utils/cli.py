"""The ``coop`` command line: one subcommand per job, each a thin layer over the package.

``coop run`` and ``coop grid`` share one engine (:mod:`coop_utils.grid`): a run is a
one-cell grid. Errors a user can fix (bad arguments, a missing key, an unknown model,
a run folder made under another config) end with a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from .config import CONDITIONS
from .grid import GridSpec, load_grid, run_grid
from .llm.cache import MODES
from .llm.client import FatalLLMError
from .llm.models import MissingKeyError, load_models, resolve


class _Parser(argparse.ArgumentParser):
    """Bad arguments end in one line that says what is accepted, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _add_llm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=MODES, help="live | replay | cache (default cache)")
    p.add_argument("--cache", help="response cache file (default OUT/llm_cache.jsonl)")
    p.add_argument(
        "--max-cost",
        type=float,
        help="USD cap: each call reserves its worst case and none is started that could cross it",
    )
    p.add_argument(
        "--allow-unpriced",
        action="store_true",
        default=None,
        help="under --max-cost, count models with no known price as $0 instead of refusing them",
    )
    p.add_argument("--models", dest="models_file", help="extra models file (YAML)")


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run episodes of one population under one condition")
    p.add_argument(
        "--agents",
        default="perfect",
        help="'perfect', a preset (withholder, bungler, ...), 'behaviour:p_answer=0.3', a model "
        "alias (o3, local:withholder, openai:gpt-4o, ...) or a mix such as "
        "'5*perfect,5*withholder' (default: perfect)",
    )
    p.add_argument("--condition", default="baseline", choices=CONDITIONS)
    p.add_argument("--runs", type=_positive, default=1, help="episodes, seeds seed, seed+1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=_positive, help="override the number of rounds (default 20)")
    p.add_argument("--n-agents", type=_positive, help="override the number of agents (default 10)")
    p.add_argument("--out", type=Path, help="write one folder per run here")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    _add_llm_options(p)
    p.set_defaults(func=cmd_run)


def _add_grid(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="run a grid of models x conditions x seeds from a YAML file")
    p.add_argument("grid", type=Path, help="grid file (see coop_utils/grid.py: GridSpec)")
    p.add_argument("--out", type=Path, help="folder for the runs (resumable; required to run)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="estimate calls, tokens, cost and wall time per model; call nothing, write nothing",
    )
    _add_llm_options(p)
    p.set_defaults(func=cmd_grid)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    from .llm.server import add_serve_arguments, serve_from_args

    p = sub.add_parser("serve", help="serve scripted agents as an OpenAI-compatible API")
    add_serve_arguments(p)
    p.set_defaults(func=lambda args: serve_from_args(args) or 0)


def _add_reproduce(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce", help="run every notebook with papermill: all figures, tables and statistics"
    )
    p.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="e.g. 01_baseline or 01")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter in every notebook that has it (NOTEBOOK.KEY=VALUE for one)",
    )
    p.add_argument("--mode", choices=("offline", "replay", "live"), help="shorthand: --set mode=M")
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import NotebookFailed, reproduce

    sets = list(args.sets) + ([f"mode={args.mode}"] if args.mode else [])
    try:
        times = reproduce(args.only, sets)
    except NotebookFailed as exc:
        print(f"coop reproduce: {exc}", file=sys.stderr)
        return 1
    for name, seconds in times.items():
        print(f"{name:<32}{seconds:7.1f} s")
    print(f"{len(times)} notebook(s) in {sum(times.values()):.0f} s: figures/ and data/results/")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from .evaluate.command import add_arguments, main

    p = sub.add_parser("evaluate", help="where a model sits among the paper's eight, on a budget")
    add_arguments(p)
    p.set_defaults(func=main)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list model aliases and whether their keys are set")
    p.add_argument("--models", dest="models_file", help="extra models file (YAML)")
    p.set_defaults(func=cmd_models)


def _overrides(args: argparse.Namespace) -> dict:
    keys = ("mode", "cache", "max_cost", "models_file", "allow_unpriced")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def cmd_run(args: argparse.Namespace) -> int:
    env = {k: v for k, v in (("rounds", args.rounds), ("n_agents", args.n_agents)) if v}
    spec = GridSpec(
        name="run",
        models=[args.agents],
        conditions=[args.condition],
        seeds=list(range(args.seed, args.seed + args.runs)),
        env=env,
        **_overrides(args),
    )
    result = run_grid(spec, args.out, progress=not args.json)
    rows = [
        {
            "seed": s["seed"],
            "condition": s["condition"],
            "agents": args.agents,
            "tasks": s["tasks"],
            "pct_optimal": round(s["pct_optimal"], 2),
            "messages": s["messages"],
            "invalid_actions": s["invalid_actions"],
            "lost_turns": s["lost_turns"],
        }
        for s in result.summaries
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        _print_table(rows)
    return _report(result, quiet=args.json)


def cmd_grid(args: argparse.Namespace) -> int:
    spec = load_grid(args.grid, **_overrides(args))
    if args.dry_run:
        return _dry_run(spec, args.json)
    if args.out is None:
        raise ValueError("--out FOLDER is required to run a grid (or pass --dry-run)")
    result = run_grid(spec, args.out, progress=not args.json)
    if args.json:
        print(json.dumps(_result_dict(result), indent=2))
    return _report(result, quiet=args.json)


def _dry_run(spec: GridSpec, as_json: bool) -> int:
    from .dryrun import estimate, format_estimate

    est = estimate(spec)
    print(json.dumps(est, indent=2) if as_json else format_estimate(est))
    return 0


def _result_dict(result) -> dict:
    """The grid summary, in the one fault vocabulary of ``metrics.FAULT_FIELDS``: retried
    attempts of this invocation's live calls; every other fault summed over its runs."""
    from .metrics import FAULT_FIELDS

    u = result.usage
    faults = {k: sum(s.get(k, 0) for s in result.summaries) for k in FAULT_FIELDS}
    faults["retried_attempts"] = u.retried_attempts
    return {
        "planned": result.planned,
        "already_done": result.already_done,
        "completed": len(result.completed),
        "failed": result.failed,
        "not_started": result.not_started,
        "unfinished": result.unfinished,
        "stopped": result.stopped,
        "degraded": [s["run_id"] for s in result.summaries if s.get("degraded")],
        "wall_s": round(result.wall_s, 2),
        "live_calls": u.live_calls,
        "cached_calls": u.cached_calls,
        **faults,
        "spent_usd": round(u.spent_usd, 4),
        "recorded_cost_usd": round(u.recorded_usd, 4),
    }


def _report(result, quiet: bool) -> int:
    """One summary line on stderr; failures and a stop listed; exit 1 if any run failed,
    2 if the grid stopped (a rerun of the same command continues)."""
    if not quiet:
        d = _result_dict(result)
        line = (
            f"{d['completed']} run(s) done, {d['already_done']} already finished, "
            f"{len(d['failed'])} failed, {len(d['unfinished'])} left unfinished, "
            f"{len(d['not_started'])} not started in {d['wall_s']:.1f}s"
        )
        if d["live_calls"] or d["cached_calls"]:
            line += (
                f"; {d['live_calls']} live call(s), {d['cached_calls']} from cache; "
                f"{d['retried_attempts']} attempt(s) retried, {d['lost_turns']} lost turn(s), "
                f"{d['parse_errors']} parse error(s), {d['invalid_actions']} invalid "
                f"action(s), {d['provider_errors']} provider error(s), {d['refusals']} "
                f"refusal(s), {len(d['degraded'])} degraded run(s); "
                f"spent ${d['spent_usd']:.4f} (recorded cost ${d['recorded_cost_usd']:.4f})"
            )
        print(line, file=sys.stderr)
        for run_id, error in result.failed.items():
            print(f"  failed {run_id}: {error.splitlines()[0]}", file=sys.stderr)
        if result.stopped:
            print(f"  stopped: {result.stopped}", file=sys.stderr)
    if result.stopped:
        return 2
    return 1 if result.failed else 0


def cmd_models(args: argparse.Namespace) -> int:
    providers, models = load_models(args.models_file)
    print(f"{'alias':<18}{'provider':<12}{'model':<34}key")
    for alias in sorted(models):
        p = resolve(alias, args.models_file)
        status = "not needed"
        if p.api_key_env:
            status = "set" if os.environ.get(p.api_key_env) else f"missing: {p.api_key_env}"
            status += " (optional)" if p.api_key_optional else ""
        print(f"{alias:<18}{p.provider:<12}{p.model:<34}{status}")
    print("Also: PROVIDER:MODEL_ID with a provider among " + ", ".join(sorted(providers)))
    print("      local:SPEC serves a scripted agent over HTTP (e.g. local:withholder)")
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
    parser = _Parser(prog="coop", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(sub)
    _add_grid(sub)
    _add_serve(sub)
    _add_models(sub)
    _add_reproduce(sub)
    _add_evaluate(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, MissingKeyError, FatalLLMError) as exc:
        print(f"coop {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
