"""The local server: scripted agents served as an OpenAI-compatible chat API (``coop serve``).

Why: our machines have no API keys and no internet, yet the LLM path (prompt rendering,
HTTP, retries, reply parsing, usage accounting) must run for real in tests, CI and the
offline default. This server stands in for a hosted model, one part per file:

- :mod:`.replies`: what a scripted model answers (the prompt read back, a policy's decision,
  its narration), and the scripted stand-ins a starter adds (``responders``);
- :mod:`.faults`: the faults it injects (429, 500, slow, malformed, truncated, latency);
- :mod:`.app`: the HTTP routes, and the counters that reconcile requests with outcomes;
- :mod:`.process`: running it in the foreground, a thread or a subprocess.

``python -m coop_utils.llm.local`` serves in the foreground.
"""

from .faults import FAULT_FIELDS, FAULT_KINDS, FaultSettings
from .process import LocalServer, add_serve_arguments, serve, serve_from_args
from .replies import MODEL_PREFIX, UnknownModel, decide, model_ids, reply_text, resolve_model

__all__ = [
    "FAULT_FIELDS",
    "FAULT_KINDS",
    "MODEL_PREFIX",
    "FaultSettings",
    "LocalServer",
    "UnknownModel",
    "add_serve_arguments",
    "decide",
    "model_ids",
    "reply_text",
    "resolve_model",
    "serve",
    "serve_from_args",
]
