"""Chat models as agents, over any OpenAI-compatible HTTP API.

- :mod:`.models`: model profiles (``models.yaml`` beside it, merged with a user's file);
- :mod:`.client`: one call per turn through the cache, the context check, the budget,
  retries and per-provider limits (:class:`~.client.ClientPool`, :class:`~.client.ChatClient`);
- :mod:`.responses`: a provider's reply read in every documented shape, into a
  :class:`~.completion.Completion`; :mod:`.failures`: the failure classes;
- :mod:`.budget` (the spending cap), :mod:`.cache` (record and replay), :mod:`.secrets`
  (keys never leave);
- :mod:`.agent`: :class:`~.agent.LLMAgent`, the agent interface over a chat model;
- :mod:`.local`: the scripted server that stands in for a model offline (``coop serve``).

This layer imports the game and the agents, never the analysis or the runners.
"""
