"""The coop command line: one subcommand per job, each a thin layer over the package.

``coop run`` and ``coop grid`` share one engine (:mod:`coop_utils.grid`): a run is a
one-cell grid. Errors a user can fix (bad arguments, a missing key, an unknown model,
a run folder made under another config) end with a one-line message and exit code 2.

Start-up is kept short: this module imports only the standard library, each subcommand's
options are defined only when that subcommand is used, and each command imports what it
needs when it runs, so ``coop --help`` does not pay for pandas, openai or the server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

CACHE_MODES = ("cache", "live", "replay")  # coop_utils.llm.cache.MODES (a test keeps them equal)
NOTEBOOK_MODES = ("offline", "replay", "live")  # coop_utils.experiments.NOTEBOOK_MODES (likewise)

DESCRIPTION = """\
Reproduce "More Capable, Less Cooperative? When LLMs Fail At Zero-Cost Collaboration"
(arXiv 2604.07821): play the paper's game with scripted agents or any chat model, run
whole grids of experiments, and regenerate every figure and table."""

EPILOG = """\
examples:
  coop run --agents perfect --runs 5            the perfect-play ceiling, in process
  coop run --agents o3 --runs 5 --out runs/o3   five baseline episodes of o3 (OPENAI_API_KEY)
  coop grid grids/offline.yaml --out runs/grid  a resumable grid from a YAML file
  coop reproduce                                every notebook, figure and table (offline)
  coop clean --yes                              delete the runs coop reproduce made

'coop COMMAND --help' describes each command. Two words recur: --mode picks where a
notebook's agents come from (offline | replay | live); --cache-mode says how recorded
model replies are used (cache | live | replay)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; option help in a column wide enough for names."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


class _Parser(argparse.ArgumentParser):
    """Bad arguments end in one line that says what is accepted, not a usage dump."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

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


def _add_models_file(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        dest="models_file",
        metavar="FILE",
        help="extra models file (YAML), merged over coop_utils/models.yaml",
    )


def _add_llm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-mode",
        dest="mode",
        choices=CACHE_MODES,
        help="how recorded replies are used: cache = replay what is recorded, call for the "
        "rest (default); live = always call and record; replay = recorded replies only, no "
        "network (a missing one is an error)",
    )
    p.add_argument("--mode", dest="legacy_mode", choices=CACHE_MODES, help=argparse.SUPPRESS)
    p.add_argument(
        "--cache", metavar="FILE", help="response cache file (default OUT/llm_cache.jsonl)"
    )
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="USD cap: each call reserves its worst case and none is started that could cross it",
    )
    p.add_argument(
        "--allow-unpriced",
        action="store_true",
        default=None,
        help="under --max-cost, count models with no known price as $0 instead of refusing them",
    )
    _add_models_file(p)


def _conditions() -> tuple[str, ...]:
    from .config import CONDITIONS

    return CONDITIONS


RUN = """\
Play episodes of one population under one condition and print a table of results.
The population is one agent spec for all ten seats, or a mix. Scripted agents play in
process; models are called over HTTP (their keys read from the environment)."""
RUN_EXAMPLES = """\
examples:
  coop run --agents perfect --runs 20                        the 100% ceiling
  coop run --agents '5*perfect,5*withholder' --condition auto_request --runs 5
  coop run --agents local:withholder --rounds 5              a scripted agent over HTTP
  coop run --agents o3 --runs 5 --out runs/o3 --max-cost 20  a real model, capped"""


def _add_run(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = RUN, RUN_EXAMPLES
    p.add_argument(
        "--agents",
        default="perfect",
        help="'perfect', a preset (withholder, bungler, ...), 'behaviour:p_answer=0.3', a model "
        "alias (o3, local:withholder, openai:gpt-4o, ...) or a mix such as "
        "'5*perfect,5*withholder' (default: perfect)",
    )
    p.add_argument(
        "--condition",
        default="baseline",
        choices=_conditions(),
        help="the paper's condition (default baseline)",
    )
    p.add_argument("--runs", type=_positive, default=1, help="episodes, seeds SEED, SEED+1, ...")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    p.add_argument("--rounds", type=_positive, help="override the number of rounds (default 20)")
    p.add_argument("--n-agents", type=_positive, help="override the number of agents (default 10)")
    p.add_argument("--out", type=Path, help="write one folder per run here (default: none)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    _add_llm_options(p)
    p.set_defaults(func=cmd_run)


GRID = """\
Run models x conditions x seeds (x settings) from a YAML grid file, with episodes in
flight concurrently, a concurrency limit per provider, a progress bar and a cost line.
Every finished run is a folder under --out; rerunning the same command skips finished
runs and redoes a run killed midway.

grid file (YAML; the full reference is docs/GRIDS.md):
  name: my-study                      # label of the grid
  models: [o3, local:withholder]      # populations: alias, scripted agent or '5*a,5*b'
  conditions: [baseline, auto_request, auto_fulfill, policy, incentive, limited]
  runs: 5                             # runs per cell, seeds seed, seed+1, ... (or seeds: [...])
  seed: 0
  env: {rounds: 20}                   # environment overrides for every run
  settings: {short: {rounds: 10}}     # named overrides crossed with the cells (ablations)
  mode: cache                         # cache | live | replay, as --cache-mode
  max_cost: 50.0                      # USD, as --max-cost
  episodes_in_flight: 32
  concurrency: {openai: 16}           # concurrent calls per provider
  server: {rate_429: 0.1}             # faults of the local server for local: models
  models_file: my-models.yaml         # extra models file, as --models"""
GRID_EXAMPLES = """\
examples:
  coop grid grids/offline.yaml --out runs/offline-grid
  coop grid grids/faults.yaml --out runs/faults          20% injected faults, all counted
  coop grid data/recorded/demo/grid.json --cache-mode replay \\
      --cache data/recorded/demo/llm_cache.jsonl.gz --out runs/replayed"""


def _add_grid(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = GRID, GRID_EXAMPLES
    p.add_argument("grid", type=Path, help="grid file (YAML or JSON; format above)")
    p.add_argument(
        "--out", type=Path, help="folder for the runs (resumable; required unless --dry-run)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="estimate calls, tokens, cost and wall time per model; call nothing, write nothing",
    )
    _add_llm_options(p)
    p.set_defaults(func=cmd_grid)


SERVE = """\
Serve the scripted agents as an OpenAI-compatible chat API (POST /v1/chat/completions,
model = a scripted agent spec such as 'withholder'). The server reads nothing but the
prompt it is sent, and can inject faults (rate limits, server errors, slow, malformed and
truncated replies) to exercise a client's retries."""
SERVE_EXAMPLES = """\
examples:
  coop serve --port 8765
  coop serve --port 8765 --rate-429 0.1 --latency 0.05
  COOP_LOCAL_URL=http://127.0.0.1:8765/v1 coop run --agents local:withholder"""


def _add_serve(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = SERVE, SERVE_EXAMPLES
    from .llm.server import add_serve_arguments, serve_from_args

    add_serve_arguments(p)
    p.set_defaults(func=lambda args: serve_from_args(args) or 0)


MODELS = """\
List the model aliases (coop_utils/models.yaml, merged with --models FILE): provider,
model id and whether the API key each needs is set in the environment."""
MODELS_EXAMPLES = """\
examples:
  coop models
  coop models --models my-models.yaml"""


def _add_models(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = MODELS, MODELS_EXAMPLES
    _add_models_file(p)
    p.set_defaults(func=cmd_models)


REPRODUCE = """\
Run every notebook with papermill, in order, and regenerate every figure, table and
statistic. At their published parameters (notebooks/params/*.yaml) the notebooks write
the committed figures/ and data/results/; with --set overrides they write under
runs/explore/ instead, unless --publish is given. Runs are kept in runs/ (see coop clean)."""
REPRODUCE_EXAMPLES = """\
examples:
  coop reproduce                                   all notebooks, offline (about 3 minutes)
  coop reproduce --only 01 02                      two notebooks
  coop reproduce --mode replay                     play the recorded grid data/recorded/demo
  coop reproduce --only 01 --set runs=5 --set rounds=10     explore: writes runs/explore/
  coop reproduce --only 01 --mode live --set 'models=["o3","gpt-5-mini"]'"""


def _add_reproduce(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = REPRODUCE, REPRODUCE_EXAMPLES
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NOTEBOOK",
        help="run only these notebooks, e.g. 01_baseline or 01 (default: all)",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter (a YAML value) in every notebook that has it; "
        "NOTEBOOK.KEY=VALUE for one notebook",
    )
    p.add_argument(
        "--mode",
        choices=NOTEBOOK_MODES,
        help="where agents come from: offline = scripted stand-ins over a local server "
        "(default); replay = the recorded grid, no network; live = real models (keys needed). "
        "Shorthand for --set mode=MODE",
    )
    p.add_argument(
        "--publish",
        action="store_true",
        help="write figures/ and data/results/ even with --set overrides",
    )
    p.set_defaults(func=cmd_reproduce)


CLEAN = """\
Delete what costs nothing to make again: the offline and replayed runs, exploration
outputs and logs that coop reproduce keeps under runs/, and temporary files left by a
killed run. Never runs/live (paid model replies) nor other folders you made under runs/.
Without --yes it only lists what it would delete."""
CLEAN_EXAMPLES = """\
examples:
  coop clean          list what would be deleted, with sizes
  coop clean --yes    delete it"""


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    from .evaluate.command import add_arguments, main

    add_arguments(p)
    p.set_defaults(func=main)


def _add_clean(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = CLEAN, CLEAN_EXAMPLES
    p.add_argument("--yes", action="store_true", help="delete (default: only list)")
    p.set_defaults(func=cmd_clean)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "run": ("run episodes of one population under one condition", _add_run),
    "grid": ("run a grid of models x conditions x seeds from a YAML file", _add_grid),
    "serve": ("serve scripted agents as an OpenAI-compatible API", _add_serve),
    "models": ("list model aliases and whether their keys are set", _add_models),
    "reproduce": ("run every notebook: all figures, tables and statistics", _add_reproduce),
    "clean": ("delete the runs and outputs that cost nothing to remake", _add_clean),
    "evaluate": ("where a model sits among the paper's eight, on a budget", _add_evaluate),
}
"""Each subcommand's one-line summary and the function that describes it and adds its options."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of ``command`` only: defining another subcommand's
    options may import what it needs (the server's, say), which ``coop --help`` never pays."""
    parser = _Parser(prog="coop", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND", title="commands"
    )
    for name, (summary, add) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        if command == name:
            add(p)
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    if getattr(args, "legacy_mode", None):
        print(f"coop {args.command}: note: --mode is now --cache-mode", file=sys.stderr)
        args.mode = args.mode or args.legacy_mode
    keys = ("mode", "cache", "max_cost", "models_file", "allow_unpriced")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def cmd_run(args: argparse.Namespace) -> int:
    from .folders import refuse_if_held

    refuse_if_held(args.out)
    from .grid import GridSpec, run_grid

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
    from .folders import refuse_if_held

    refuse_if_held(args.out)
    from .grid import load_grid, run_grid

    spec = load_grid(args.grid, **_overrides(args))
    if args.dry_run:
        return _dry_run(spec, args.json)
    if args.out is None:
        raise ValueError("--out FOLDER is required to run a grid (or pass --dry-run)")
    result = run_grid(spec, args.out, progress=not args.json)
    if args.json:
        print(json.dumps(_result_dict(result), indent=2))
    return _report(result, quiet=args.json)


def _dry_run(spec, as_json: bool) -> int:
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
        "cache_torn_records": result.cache_torn,
        "damaged": result.damaged,
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
        if d["cache_torn_records"]:
            line += (
                f"; {d['cache_torn_records']} torn record(s) in the cache (cut by a kill) redone"
            )
        print(line, file=sys.stderr)
        for run_id, why in result.damaged.items():
            print(f"  redone damaged run {run_id}: {why}", file=sys.stderr)
        for run_id, error in result.failed.items():
            print(f"  failed {run_id}: {error.splitlines()[0]}", file=sys.stderr)
        if result.stopped:
            print(f"  stopped: {result.stopped}", file=sys.stderr)
    if result.stopped:
        return 2
    return 1 if result.failed else 0


def cmd_models(args: argparse.Namespace) -> int:
    from .llm.models import load_models, resolve

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


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import NotebookFailed, Stopped, reproduce, runs_report

    sets = list(args.sets) + ([f"mode={args.mode}"] if args.mode else [])
    try:
        times = reproduce(args.only, sets, publish=args.publish)
    except NotebookFailed as exc:
        print(f"coop reproduce: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Stopped): cleaned up as we left
        how, code = ("SIGTERM", 128 + 15) if isinstance(exc, Stopped) else ("Ctrl-C", 130)
        print(f"coop reproduce: stopped ({how}); no notebook was half written", file=sys.stderr)
        return code
    for name, seconds in times.items():
        print(f"{name:<32}{seconds:7.1f} s")
    print(f"{len(times)} notebook(s) in {sum(times.values()):.0f} s")
    print(runs_report(args.only, sets, publish=args.publish))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from .paths import shown
    from .reproduce import clean, megabytes

    listed = clean(dry_run=not args.yes)
    for path, size in listed:
        print(f"{megabytes(size):>10}  {shown(path)}")
    total = megabytes(sum(size for _, size in listed))
    if not listed:
        print("nothing to clean")
    elif args.yes:
        print(f"deleted {total}")
    else:
        print(f"{total} in all; run `coop clean --yes` to delete it")
    return 0


def _print_table(rows: list[dict]) -> None:
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    tasks = [r["tasks"] for r in rows]
    print(f"mean tasks {sum(tasks) / len(tasks):.1f} over {len(tasks)} run(s)")


def _user_error(exc: Exception) -> bool:
    """Errors a user can fix: one line, exit 2 (the LLM classes are loaded by then)."""
    if isinstance(exc, ValueError | FileNotFoundError):
        return True
    client = sys.modules.get("coop_utils.llm.client")
    return client is not None and isinstance(exc, client.FatalLLMError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        if not _user_error(exc):
            raise
        from .inputs import one_line

        print(f"coop {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
