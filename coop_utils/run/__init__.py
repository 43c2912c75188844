"""Running things: an episode, a grid of them, the paper's experiments, the notebooks.

- :mod:`.runner`: one episode, and its run folder (``events.jsonl``, ``run.json``,
  ``summary.json`` last);
- :mod:`.plan` and :mod:`.grid`: a grid checked whole, then played concurrently and
  resumably; :mod:`.folders`: run folders and the locks that keep one grid per folder;
- :mod:`.experiments`: the paper's grids by name and the notebooks' modes and outputs;
- :mod:`.reproduce`: every notebook (``coop reproduce``); :mod:`.reaper` ends what it started;
- :mod:`.dryrun`: what a grid would cost, before anything is called;
- :mod:`.evaluate`: the paper's protocol for one model (``coop evaluate``).

The top of the flow below the command line: it may use every stage.
"""
