"""A stand-in for each provider we support, answering in the shapes its documentation gives.

Why: no real provider can be reached from our machines, yet the client must handle what
OpenAI, Anthropic's OpenAI-compatible endpoint, OpenRouter, DeepInfra/DeepSeek, vLLM,
Ollama and Gemini's compatibility endpoint actually send: their reasoning fields, usage
details, costs and errors. Each *scenario* (:mod:`.scenarios`) reproduces one documented
shape (the page is cited beside it and in ``docs/PROVIDERS.md``); tests point a models file at
``{url}/{scenario}/v1`` (or ``{url}/{scenario}/t/ANYTHING/v1``, to put a token in a URL)
and check what the client makes of it (:mod:`.server`). Genuine replies carry the
scripted cooperator's answer to the prompt (as ``coop serve`` does), so whole episodes
can run through any scenario. The server records every request (without its
``Authorization`` header) so tests can check what was sent.
"""

from .scenarios import SCENARIOS, Call, completion
from .server import ConformanceServer

__all__ = ["SCENARIOS", "Call", "ConformanceServer", "completion"]
