"""From run folders to findings: frames, metrics, statistics, thoughts, tables, figures.

- :mod:`.load`: run folders read into tidy frames (one row per run, agent, turn, ...);
- :mod:`.metrics`: the paper's per-run measures, from a run's event log alone;
- :mod:`.stats`: intervals, paired contrasts, count models, capability, power;
- :mod:`.thoughts`: private thoughts classified by regex, and an LLM judge's second opinion;
- :mod:`.tables` and :mod:`.plots`: the paper's tables and figures, ours beside its numbers
  (:mod:`.paper`); :mod:`.validity`: how well the decomposition measures what it claims;
- :mod:`.prose`: numbers and Markdown for prose; :mod:`.readings`: each notebook's readings,
  computed from its tables; :mod:`.transcript`: one run, readable.

It reads what ``run/`` wrote and imports nothing of ``run/``; only the thought judge calls
a model, through ``llm/``.
"""
