"""The coop command line: one subcommand per job, each a thin layer over the package.

``coop run`` and ``coop grid`` share one engine (:mod:`coop_utils.run.grid`): a run is a
one-cell grid. Errors a user can fix (bad arguments, a missing key, an unknown model,
a run folder made under another config) end with a one-line message and exit code 2.

Start-up is kept short: this package imports only the standard library, each subcommand's
options are defined only when that subcommand is used (:mod:`.parser`), and each command
imports what it needs when it runs (:mod:`.commands`), so ``coop --help`` does not pay for
pandas, openai or the server.
"""

from __future__ import annotations

import sys

from .parser import CACHE_MODES, COMMANDS, NOTEBOOK_MODES, build_parser, parse

__all__ = ["CACHE_MODES", "COMMANDS", "NOTEBOOK_MODES", "build_parser", "main"]


def _user_error(exc: Exception) -> bool:
    """Errors a user can fix: one line, exit 2 (the LLM classes are loaded by then)."""
    if isinstance(exc, ValueError | FileNotFoundError):
        return True
    client = sys.modules.get("coop_utils.llm.client")
    return client is not None and isinstance(exc, client.FatalLLMError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = parse(argv, command)
    try:
        return args.func(args)
    except Exception as exc:
        if not _user_error(exc):
            raise
        from ..inputs import one_line

        print(f"coop {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
