"""Model profiles: how to reach a model, by configuration alone.

A profile says where a model lives (an OpenAI-compatible base URL), which model id to
ask for, the *name* of the environment variable that holds its key, extra request
parameters, prices and limits. Profiles come from ``coop_utils/models.yaml``, merged with
a user file (``--models FILE`` or ``COOP_MODELS``); ``PROVIDER:MODEL_ID`` works for any
provider of the file without an entry. A profile never holds a key, so it can be written
into every run's metadata; the key is read from the environment only when a client is
built, and a missing key is an error before any call is made.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

MODELS_FILE = Path(__file__).resolve().parent.parent / "models.yaml"
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


class Prices(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0

    def cost(self, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> float:
        """Cost of one call; cached input tokens are part of ``input_tokens`` (OpenAI usage)."""
        fresh = max(input_tokens - cached_input_tokens, 0)
        total = fresh * self.input + cached_input_tokens * self.cached_input
        return (total + output_tokens * self.output) / 1e6


class ModelProfile(BaseModel):
    """Everything needed to call one model; nothing secret."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    alias: str
    """The name runs use for this model (the agent label and the runs' `model` column)."""
    provider: str
    """Provider name: groups concurrency limits and goes into the cache key."""
    base_url: str
    """OpenAI-compatible endpoint, e.g. https://api.openai.com/v1."""
    model: str
    """The model id sent in each request."""
    api_key_env: str | None = None
    """Environment variable holding the key; None for servers that need none."""
    api_key_optional: bool = False
    """Use a placeholder key when the variable is unset (e.g. a vLLM server without auth)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Extra request parameters (temperature, reasoning_effort, max_tokens, ...); unset = provider default."""
    prices: Prices = Prices()
    concurrency: int = Field(8, ge=1)
    """Requests in flight at once for this provider (the smallest value among its profiles wins)."""
    timeout_s: float = Field(600.0, gt=0)
    """Per-attempt HTTP timeout; reasoning models can take minutes."""
    max_attempts: int = Field(6, ge=1)
    """Attempts per turn, including the first, for retryable failures (429, 5xx, timeouts)."""
    max_retry_s: float = Field(900.0, gt=0)
    """Give up retrying a turn after this many seconds in total."""
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(60.0, gt=0)
    scripted: bool = False
    """True for scripted policies behind `coop serve`: results are never a model's behaviour."""
    send_seed: bool = False
    """Send each agent's integer seed in the request's `seed` field."""

    def api_key(self) -> str:
        """The key from the environment; a clear error, naming the variable, when it is missing."""
        if self.api_key_env is None:
            return "not-needed"
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if self.api_key_optional:
            return "not-needed"
        raise MissingKeyError(
            f"model {self.alias!r} ({self.provider}) needs an API key in the environment "
            f"variable {self.api_key_env}; set it (export {self.api_key_env}=...) or choose "
            "another model. No call was made."
        )

    def public(self) -> dict[str, Any]:
        """What a run records about the model (no key, no key value)."""
        return self.model_dump(include={"alias", "provider", "base_url", "model", "params"})


class MissingKeyError(ValueError):
    pass


class UnknownModelError(ValueError):
    pass


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return _VAR.sub(lambda m: os.environ.get(m[1]) or (m[2] or ""), value)
    return value


@cache
def _read(path: str) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    return {"providers": data.get("providers") or {}, "models": data.get("models") or {}}


def _files(extra: str | Path | None) -> list[str]:
    files = [str(MODELS_FILE)]
    for f in (os.environ.get("COOP_MODELS"), extra):
        if f:
            if not Path(f).is_file():
                raise FileNotFoundError(f"models file {f} does not exist")
            files.append(str(f))
    return files


def load_models(extra: str | Path | None = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """(providers, models) from the package file merged with user files (later files win)."""
    providers: dict[str, dict] = {}
    models: dict[str, dict] = {}
    for f in _files(extra):
        data = _read(f)
        for name, p in data["providers"].items():
            providers[name] = {**providers.get(name, {}), **p}
        models.update(data["models"])
    return providers, models


def resolve(alias: str, models_file: str | Path | None = None) -> ModelProfile:
    """The profile for an alias from the models file, or for ``PROVIDER:MODEL_ID``."""
    providers, models = load_models(models_file)
    if alias in models:
        entry = dict(models[alias])
    elif ":" in alias and alias.split(":", 1)[0] in providers:
        provider, model = alias.split(":", 1)
        model = (
            model if provider != "local" or model.startswith("scripted/") else f"scripted/{model}"
        )
        entry = {"provider": provider, "model": model}
    else:
        raise UnknownModelError(
            f"unknown model {alias!r}: use an alias from the models file "
            f"({', '.join(sorted(models))}) or PROVIDER:MODEL_ID with a provider among "
            f"{', '.join(sorted(providers))}"
        )
    provider = entry.get("provider")
    if provider not in providers:
        raise UnknownModelError(f"model {alias!r} names unknown provider {provider!r}")
    fields = {**providers[provider], **entry, "alias": alias}
    return ModelProfile(**{k: _expand(v) for k, v in fields.items()})


def is_model_spec(spec: str, models_file: str | Path | None = None) -> bool:
    """Whether an agent spec names a model (alias or PROVIDER:MODEL_ID) rather than a scripted agent."""
    try:
        resolve(spec, models_file)
    except UnknownModelError:
        return False
    return True
