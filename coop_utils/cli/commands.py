"""What each subcommand does: a thin layer over the package, importing what it needs when
it runs, and its console report (one summary line; failures listed; exit codes)."""

from __future__ import annotations

import argparse
import json
import os
import sys


def _overrides(args: argparse.Namespace) -> dict:
    if getattr(args, "legacy_mode", None):
        print(f"coop {args.command}: note: --mode is now --cache-mode", file=sys.stderr)
        args.mode = args.mode or args.legacy_mode
    keys = ("mode", "cache", "max_cost", "models_file", "allow_unpriced")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def cmd_run(args: argparse.Namespace) -> int:
    from ..run.folders import refuse_if_held

    refuse_if_held(args.out)
    from ..run.grid import run_grid
    from ..run.plan import GridSpec

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
    from ..run.folders import refuse_if_held

    refuse_if_held(args.out)
    from ..run.grid import run_grid
    from ..run.plan import load_grid

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
    from ..run.dryrun import estimate, format_estimate

    est = estimate(spec)
    print(json.dumps(est, indent=2) if as_json else format_estimate(est))
    return 0


def _result_dict(result) -> dict:
    """The grid summary, in the one fault vocabulary of ``metrics.FAULT_FIELDS``: retried
    attempts of this invocation's live calls; every other fault summed over its runs."""
    from ..analysis.metrics import FAULT_FIELDS

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


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the scripted policies and, beside them, the scripted thought judge (local:judge)."""
    from ..analysis.thoughts.judge import STAND_INS
    from ..llm.local import serve_from_args

    serve_from_args(args, STAND_INS)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ..llm.models import load_models, resolve

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
    print("      local:POLICY serves a scripted agent over HTTP (e.g. local:withholder)")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..run.reproduce import NotebookFailed, Stopped, reproduce, runs_report

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
    from ..paths import shown
    from ..run.reproduce import clean, megabytes

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


def cmd_prompt(args: argparse.Namespace) -> int:
    import yaml

    from ..agents import expand_agents, scripted_agent
    from ..game.config import EnvConfig
    from ..game.prompts import prompt_sections, render_messages
    from ..run.grid import seat_seed
    from ..run.runner import observation_at

    env = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set {item!r}: write KEY=VALUE, e.g. --set prompt_layout=tagged")
        env[key.strip()] = yaml.safe_load(value)
    config = EnvConfig.for_condition(args.condition, **env)
    seats = expand_agents(args.agents, config.n_agents)
    agents = [scripted_agent(s, seat_seed(args.seed, k)) for k, s in enumerate(seats)]
    obs = observation_at(config, agents, args.seed, args.agent, args.round)
    messages = render_messages(obs)
    lengths = [(name, len(text)) for name, text in prompt_sections(messages)]
    if args.json:
        print(json.dumps({"messages": messages, "sections": dict(lengths)}, indent=2))
        return 0
    if not args.lengths:
        for m in messages:
            print(f"===== {m['role']} ({len(m['content'])} characters) =====")
            print(m["content"])
    print(
        f"===== sections: {obs.agent}, round {obs.round}, {args.condition}, seed {args.seed} ====="
    )
    for name, n in lengths:
        print(f"{name:<14}{n:>7,}")
    print(f"{'user message':<14}{len(messages[-1]['content']):>7,}")
    return 0


def _print_table(rows: list[dict]) -> None:
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    tasks = [r["tasks"] for r in rows]
    print(f"mean tasks {sum(tasks) / len(tasks):.1f} over {len(tasks)} run(s)")
