"""The command line's words: each subcommand's description, examples and options.

Each subcommand's options are defined only when that subcommand is used (:func:`build_parser`),
so ``coop --help`` does not import what another command's options need (the server's, say).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import NoReturn

from .commands import (
    cmd_clean,
    cmd_grid,
    cmd_models,
    cmd_reproduce,
    cmd_run,
    cmd_serve,
)
from .reading import add_prompt, add_view
from .values import add_condition, conditions, positive, setting_default

CACHE_MODES = ("cache", "live", "replay")  # coop_utils.llm.cache.MODES (a test keeps them equal)
NOTEBOOK_MODES = (
    "offline",
    "replay",
    "live",
)  # coop_utils.run.experiments.NOTEBOOK_MODES (likewise)

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

    def reject_unknown(self, extra: list[str]) -> NoReturn:
        """Options this (sub)command does not take, with the nearest one it does."""
        import difflib

        known = [o for a in self._actions for o in a.option_strings if a.help != argparse.SUPPRESS]
        word = extra[0].split("=")[0].lstrip("-")
        near = difflib.get_close_matches(word, [o.lstrip("-") for o in known], n=1)
        hint = f" (did you mean --{near[0]}?)" if near and extra[0].startswith("-") else ""
        self.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _add_models_file(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        dest="models_file",
        metavar="FILE",
        help="extra models file (YAML), merged over coop_utils/llm/models.yaml",
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
    add_condition(p, "the paper's condition")
    p.add_argument(
        "--runs", type=positive, default=1, help="episodes, seeds SEED, SEED+1, ... (default 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    for flag, what in (("rounds", "rounds"), ("n-agents", "agents")):
        default = setting_default(flag.replace("-", "_"))
        p.add_argument(f"--{flag}", type=positive, help=f"the number of {what} (default {default})")
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
  conditions: [$conditions]
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
    p.description = Template(GRID).substitute(conditions=conditions())
    p.epilog = GRID_EXAMPLES
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
    from ..llm.local import add_serve_arguments

    add_serve_arguments(p)
    p.set_defaults(func=cmd_serve)


MODELS = """\
List the model aliases (coop_utils/llm/models.yaml, merged with --models FILE): provider,
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
statistic. At their published parameters (each notebook's parameters cell) they write
the committed figures/ and data/results/; with --set overrides they write under
runs/explore/ instead, unless --publish is given. Runs are kept in runs/ (see coop clean)."""
REPRODUCE_EXAMPLES = """\
examples:
  coop reproduce                                   all notebooks, offline (about 3 minutes)
  coop reproduce --only 01 02                      two notebooks
  coop reproduce --mode replay                     play the recorded grid data/recorded/demo
  coop reproduce --only 01 --set runs=5 --set rounds=10     explore: writes runs/explore/
  coop reproduce --only 01 --mode live --set 'models=["o3","gpt-5-mini"]'"""


def _notebook_parameters() -> str:
    """Each notebook's id and the parameters --set accepts: the names its parameters cell
    assigns, read with the standard library (papermill reads the values when a notebook
    runs; importing it would slow this help down by a second)."""
    import ast
    import json
    import textwrap

    from ..paths import ROOT

    lines = ["notebooks (--only accepts the name or its two digits) and their parameters:"]
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        cell = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
        body = ast.parse("".join(cell["source"])).body
        keys = ", ".join(
            ast.unparse(t) for n in body if isinstance(n, ast.Assign) for t in n.targets
        )
        lines += textwrap.wrap(
            keys, 88, initial_indent=f"  {path.stem:<27} ", subsequent_indent=" " * 30
        )
    return "\n".join(lines)


def _add_reproduce(p: argparse.ArgumentParser) -> None:
    p.description = f"{REPRODUCE}\n\n{_notebook_parameters()}"
    p.epilog = REPRODUCE_EXAMPLES
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
        help="override a parameter (a YAML value: runs=5, 'models=[o3, gpt-5-mini]') in every "
        "notebook that has it; NOTEBOOK.KEY=VALUE for one notebook (parameters listed above)",
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
    from ..run.evaluate.command import add_arguments, main

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
    "prompt": ("print the exact prompt of one turn, with each section's length", add_prompt),
    "evaluate": ("where a model sits among the paper's eight, on a budget", _add_evaluate),
    "view": ("one self-contained HTML page of a run, or of two side by side", add_view),
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


def parse(argv: list[str], command: str | None) -> argparse.Namespace:
    """The arguments; an option the subcommand does not take points at its own help."""
    parser = build_parser(command)
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].reject_unknown(extra)
    return args
