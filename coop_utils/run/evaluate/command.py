"""``coop evaluate MODEL [MODEL ...] --max-cost USD --out DIR``: the command line.

Kept apart from :mod:`coop_utils.cli` so that the command line only registers the
subcommand (``cli/parser.py``), and light at import time (the evaluation's modules load
when the command runs).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

EXAMPLE = """\
examples:
  coop evaluate o3 --dry-run                         # expected runs and cost; no call
  coop evaluate openai:gpt-4o --max-cost 150 --out runs/eval-gpt4o  # --elo SCORE: Fig. 3
  coop evaluate openai:gpt-4o --max-cost 50 --target 3 --out runs/eval-gpt4o
                                                     # tighter, reusing the runs above
  coop evaluate local:withholder local:bungler --out runs/eval-offline  # scripted, offline
  coop evaluate openai:gpt-4o --max-cost 150 --out runs/eval-gpt4o --publish
                                     # its row in data/leaderboard.csv too, to commit
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ...analysis.quadrants import DEFAULT_THRESHOLD
    from ...game.config import DECOMPOSITION, INTERVENTIONS
    from ...llm.cache import MODES

    baseline, *automated = DECOMPOSITION
    p.description = f"""\
Run the paper's protocol on each model: {baseline}, the causal decomposition
({", ".join(automated)}) on the same seeds, then the interventions its diagnosis calls
for, each cell in batches until its 95% interval is narrow enough. Writes OUT/summary.json,
OUT/report.html and OUT/leaderboard.csv (the paper's eight models and this evaluation's
rows); no file outside OUT unless asked (--leaderboard, --publish). The rules are in
docs/EVALUATE.md."""
    p.epilog = EXAMPLE
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="model alias, PROVIDER:MODEL_ID "
        "or a scripted agent served over HTTP (local:withholder, local:bungler, ...)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="folder of the evaluation (resumable; required to run)",
    )
    p.add_argument(
        "--max-cost",
        metavar="USD",
        type=float,
        help="USD this invocation may spend, all models "
        "and batches together (required unless every model is scripted)",
    )
    p.add_argument(
        "--target",
        metavar="POINTS",
        type=float,
        default=5.0,
        help="stop a cell when the 95%% t "
        "half-width of its %% of optimal is at most this many points (default 5)",
    )
    p.add_argument(
        "--max-runs", metavar="N", type=int, default=10, help="runs per cell at most (default 10)"
    )
    p.add_argument(
        "--min-runs", metavar="N", type=int, default=5, help="runs per cell at least (default 5)"
    )
    p.add_argument(
        "--batch", metavar="N", type=int, default=2, help="runs added per batch (default 2)"
    )
    p.add_argument(
        "--threshold",
        metavar="PCT",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"%% of optimal below which a rate is limited (default {DEFAULT_THRESHOLD:g}, "
        "the paper's Fig. 4)",
    )
    p.add_argument(
        "--all-interventions",
        action="store_true",
        help=f"run {', '.join(INTERVENTIONS)} whatever the diagnosis",
    )
    p.add_argument(
        "--elo",
        action="append",
        default=[],
        metavar="[MODEL=]SCORE",
        help="Arena Elo for the capability plot (a bare score with one model)",
    )
    p.add_argument(
        "--rounds",
        metavar="N",
        type=int,
        help="rounds per episode (default 20, the paper's); "
        "fewer is quicker and cheaper but not comparable with the paper's tasks",
    )
    p.add_argument("--seed", metavar="N", type=int, default=0, help="first seed (default 0)")
    board = p.add_mutually_exclusive_group()
    board.add_argument(
        "--leaderboard",
        metavar="CSV",
        type=Path,
        help="also upsert this evaluation's rows into this leaderboard CSV "
        "(made with the paper's rows if missing)",
    )
    board.add_argument(
        "--publish",
        action="store_true",
        help="also upsert them into the repository's published leaderboard, "
        "data/leaderboard.csv (models only: a scripted population is refused)",
    )
    board.add_argument(
        "--no-leaderboard",
        action="store_true",
        help="write no leaderboard, not even OUT/leaderboard.csv",
    )
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the expected runs and the cost estimate; call nothing",
    )
    p.add_argument(
        "--cache-mode",
        dest="mode",
        choices=MODES,
        help="how recorded replies are used: cache = replay what is recorded, call for the "
        "rest (default); live = always call and record; replay = recorded replies only",
    )
    p.add_argument("--models", metavar="FILE", dest="models_file", help="extra models file (YAML)")
    p.add_argument(
        "--allow-unpriced",
        action="store_true",
        help="under --max-cost, count models with no known price as $0",
    )


def parse_elo(items: list[str], models: list[str]) -> dict[str, float]:
    """``MODEL=SCORE`` pairs, or one bare score when one model is evaluated."""
    out = {}
    for item in items:
        model, eq, score = item.rpartition("=")
        if not eq:
            if len(models) != 1:
                raise ValueError(f"--elo {item}: with several models write --elo MODEL=SCORE")
            model = models[0]
        if model not in models:
            raise ValueError(f"--elo {item}: {model!r} is not one of the evaluated models")
        try:
            out[model] = float(score)
        except ValueError:
            raise ValueError(f"--elo {item}: the score must be a number") from None
    return out


FLAG_WORDS = r"\b(max_cost|target|min_runs|max_runs|batch|threshold)\b"
"""The evaluation's fields that are options of the same name."""


def _spec(args: argparse.Namespace) -> tuple[Any, Any]:
    """The evaluation and its stopping rule; an error names the options as typed
    (``--max-runs``, not ``max_runs``)."""
    from pydantic import ValidationError

    from ...inputs import one_line
    from .protocol import EvaluationSpec

    try:
        spec = EvaluationSpec(
            models=list(dict.fromkeys(args.models)),
            max_cost=args.max_cost,
            target=args.target,
            min_runs=args.min_runs,
            batch=args.batch,
            max_runs=args.max_runs,
            threshold=args.threshold,
            all_interventions=args.all_interventions,
            seed=args.seed,
            env={"rounds": args.rounds} if args.rounds else {},
            elo=parse_elo(args.elo, args.models),
            mode=args.mode or "cache",
            models_file=args.models_file,
            allow_unpriced=args.allow_unpriced,
        )
        return spec, spec.rule()
    except (ValidationError, ValueError) as exc:
        flags = re.sub(FLAG_WORDS, lambda m: "--" + m[0].replace("_", "-"), one_line(exc))
        raise ValueError(flags) from None


def _published(args: argparse.Namespace) -> str | None:
    """The option that writes the published leaderboard (``--publish``, or ``--leaderboard``
    naming its file), as typed; None if none does."""
    from .leaderboard import DEFAULT_PATH

    if args.publish:
        return "--publish"
    if args.leaderboard and args.leaderboard.resolve() == DEFAULT_PATH.resolve():
        return f"--leaderboard {args.leaderboard}"
    return None


def _boards(args: argparse.Namespace, out: Path) -> list[Path]:
    """The leaderboards an evaluation in ``out`` writes: its own, and the one asked for."""
    from .leaderboard import DEFAULT_PATH

    if args.no_leaderboard:
        return []
    asked = DEFAULT_PATH if args.publish else args.leaderboard
    return [out / "leaderboard.csv", *([asked] if asked else [])]


def main(args: argparse.Namespace) -> int:
    from ..plan import check_keys, check_seats, is_scripted_spec, plays_offline
    from .estimate import format_plan, plan_model
    from .protocol import run_evaluation

    spec, rule = _spec(args)
    if args.leaderboard and args.leaderboard.suffix != ".csv":
        raise ValueError(f"--leaderboard {args.leaderboard}: a leaderboard is a .csv file")
    published = _published(args)
    check_seats({m for m in spec.models if not is_scripted_spec(m)}, spec.models_file)
    scripted = {m: plays_offline(m, spec.models_file) for m in spec.models}
    paid = [m for m, s in scripted.items() if not s]
    if published and any(scripted.values()):
        shown = ", ".join(m for m, s in scripted.items() if s)
        raise ValueError(
            f"{published}: {shown} is scripted (it describes the machinery, not a model) and the "
            "published leaderboard holds models only; drop the flag (the row goes to "
            "OUT/leaderboard.csv) or write it elsewhere with --leaderboard PATH"
        )
    if paid and spec.max_cost is None and not args.dry_run:
        raise ValueError(
            f"--max-cost USD is required for models that cost money ({', '.join(paid)}); "
            "see the estimate with --dry-run first"
        )
    if not args.dry_run and spec.mode != "replay":
        check_keys(set(paid), spec.models_file, f"coop evaluate {' '.join(spec.models)}")
    grid = spec.grid_fields() | {"max_cost": spec.max_cost}
    for model in spec.models:
        plan = plan_model(
            model, rule, grid, scripted[model], spec.all_interventions, spec.threshold
        )
        print(format_plan(plan, rule, spec.max_cost, args.dry_run), flush=True)
    if args.dry_run:
        return 0
    if args.out is None:
        raise ValueError("--out FOLDER is required to run an evaluation (or pass --dry-run)")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    ev = run_evaluation(spec, args.out, log=log)
    return finish(ev, args, log)


def finish(ev, args: argparse.Namespace, log) -> int:
    """Summary, leaderboard and report of a finished evaluation; the exit code."""
    from . import leaderboard
    from .protocol import is_budget_stop
    from .report import render, write_summary

    summary = write_summary(ev)
    # a stop leaves runs in flight unfinished: their spending is in no summary, so a row now
    # would show less than was paid (and fewer runs than the protocol asks)
    unfinished = ev.stopped is not None and any(s.status == "stopped" for s in ev.states().values())
    if unfinished and not args.no_leaderboard:
        log("leaderboard: not written, the evaluation stopped with cells unfinished")
    elif not args.no_leaderboard:
        rows = leaderboard.evaluation_rows(summary, ev.spec.elo)
        for path in _boards(args, ev.out):
            leaderboard.upsert(rows, path)
            log(f"leaderboard: {path} (figure {path.with_suffix('.png')})")
    if not args.no_report and ev.folders():
        _, html = render(ev.out)
        log(f"report: {html}")
    elif not args.no_report:
        log("report: skipped, no run finished")
    for m in summary["models"].values():
        print(m["in_words"])
    print(
        json.dumps(
            {
                "summary": str(ev.out / "summary.json"),
                "spent_usd": ev.spent_usd,
                "wall_s": round(ev.wall_s, 1),
                "stopped": ev.stopped,
            }
        )
    )
    if ev.stopped and (unfinished or not is_budget_stop(ev.stopped)):
        log(
            f"stopped: {ev.stopped}; rerun the same command to finish (a higher --max-cost if the cap stopped it)"
        )
        return 2
    return 1 if ev.failed else 0
