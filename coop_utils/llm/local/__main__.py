"""``python -m coop_utils.llm.local``: serve scripted agents in the foreground (``coop serve``)."""

from .process import main

main()
