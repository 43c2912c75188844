"""``python -m coop_utils.llm.local``: serve scripted agents in the foreground (``coop serve``)."""

from .app import main

main()
