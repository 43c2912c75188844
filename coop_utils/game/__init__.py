"""The paper's game: what is configured, what the agents trade, and what happens.

- :mod:`.config`: :class:`~.config.EnvConfig`, every parameter and every open choice, and
  the paper's conditions and designs;
- :mod:`.world`: pieces of information and tasks, drawn from one seeded generator;
- :mod:`.env`: the :class:`~.env.Environment` (state, rounds, views) and its rules;
- :mod:`.observation`: what one agent sees on its turn; :mod:`.prompts`: that view as chat
  messages, and read back;
- :mod:`.actions`: what an agent can do, reading a reply into actions, the turn it returns;
- :mod:`.events`: the event log, the single source of truth downstream.

This stage imports nothing of the package but ``paths``; everything else builds on it.
"""
