"""Model profiles: how to reach a model, by configuration alone.

A profile says where a model lives (an OpenAI-compatible base URL), which model id to
ask for, the *name* of the environment variable that holds its key, extra request
parameters, prices and limits. Profiles come from ``models.yaml`` (beside this module), merged with
a user file (``--models FILE`` or ``COOP_MODELS``); ``PROVIDER:MODEL_ID`` works for any
provider of the file without an entry. A profile never holds a key, so it can be written
into every run's metadata; the key is read from the environment only when a client is
built, and a missing key is an error before any call is made.
"""

from __future__ import annotations

import inspect
import os
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..inputs import InputError, did_you_mean, explain, read_yaml_mapping
from .secrets import remember

MODELS_FILE = Path(__file__).with_name("models.yaml")
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
    prices: Prices | None = None
    """USD per million tokens; unset = looked up in genai-prices' catalogue by
    (`price_source` or provider, model id); a live model with no price is refused under a cap."""
    price_source: str | None = None
    """genai-prices provider id to look prices up under, when it differs from `provider`."""
    context_window: int | None = Field(None, gt=0)
    """Tokens the model can attend to (prompt + output); each prompt is measured against it
    before it is sent. Unset = not checked."""
    max_output_tokens: int | None = Field(None, gt=0)
    """The model's own cap on output tokens, for the budget's worst case when `params` sets
    none (else the context window left after the prompt is assumed)."""
    num_ctx_from_window: bool = False
    """Send `options.num_ctx` = `context_window` (Ollama, which otherwise truncates silently)."""
    stop_after_lost_turns: int = Field(20, ge=1)
    """Stop everything after this many turns in a row lost on this provider (an outage, a
    closed port): the runs stay unfinished for a rerun instead of finishing empty."""
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
    gateway: Literal["litellm"] | None = None
    """The gateway this endpoint is (a LiteLLM proxy): its errors are read for the provider's
    meaning it keeps, and advice says whether to fix the models file or the gateway's config."""
    send_seed: bool = False
    """Send each agent's integer seed in the request's `seed` field."""
    base_url_template: str | None = Field(None, exclude=True)
    """`base_url` before ${VAR} expansion: what a run records (an expansion may hold a token)."""

    def api_key(self) -> str:
        """The key from the environment; a clear error, naming the variable, when it is missing."""
        if self.api_key_env is None:
            return "not-needed"
        key = os.environ.get(self.api_key_env, "")
        if key:
            remember(key)
            return key
        if self.api_key_optional:
            return "not-needed"
        raise MissingKeyError(
            f"model {self.alias!r} ({self.provider}) needs an API key in the environment "
            f"variable {self.api_key_env}; set it (export {self.api_key_env}=...) or choose "
            "another model. No call was made."
        )

    def public(self) -> dict[str, Any]:
        """What a run records about the model (no key, no key value, no expanded ${VAR})."""
        out = self.model_dump(include={"alias", "provider", "base_url", "model", "params"})
        if self.base_url_template is not None:
            out["base_url"] = self.base_url_template
        return out

    @property
    def reasoning_family(self) -> bool:
        """OpenAI's o-series and gpt-5 models: `max_completion_tokens`, no temperature/top_p."""
        return bool(_REASONING_FAMILY.match(self.model.rsplit("/", 1)[-1]))

    def requested_output_cap(self) -> int | None:
        """The output tokens the request's own parameters cap (max_completion_tokens first)."""
        caps = (self.params.get(k) for k in ("max_completion_tokens", "max_tokens"))
        return next((c for c in caps if isinstance(c, int)), None)

    def output_cap(self) -> int | None:
        """The output tokens a call may produce: the request's cap, else max_output_tokens."""
        cap = self.requested_output_cap()
        return self.max_output_tokens if cap is None else cap

    def check_params(self) -> None:
        """Refuse, before any call, parameters that would fail every call (see PROVIDERS.md)."""
        problems = []
        for k in self.params:
            if k not in _sdk_parameters():
                problems.append(
                    f"'{k}' is not an OpenAI chat parameter; provider-specific fields go under "
                    f"extra_body (params: {{extra_body: {{{k}: ...}}}})"
                )
        for k in ("max_completion_tokens", "max_tokens"):
            cap = self.params.get(k)
            if k in self.params and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
                problems.append(f"'{k}' must be a positive whole number of tokens, got {cap!r}")
        if self.reasoning_family:
            if "max_tokens" in self.params:
                problems.append(
                    f"{self.model} takes max_completion_tokens, not max_tokens (OpenAI "
                    "reasoning models); rename the parameter"
                )
            for k in ("temperature", "top_p"):
                if k in self.params and self.params[k] != 1:
                    problems.append(f"{self.model} accepts no {k} but the default; remove it")
        if problems:
            raise ParamError(f"model {self.alias!r}: " + "; ".join(problems))

    def cost(self, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> float | None:
        """USD for one call's usage at this profile's prices (None when no price is known)."""
        if self.prices is not None:
            return self.prices.cost(input_tokens, cached_input_tokens, output_tokens)
        source = self.price_source or self.provider
        if not _catalogue_has(source, self.model):
            return None
        from genai_prices import Usage, calc_price

        usage = Usage(
            input_tokens=input_tokens,
            cache_read_tokens=cached_input_tokens,
            output_tokens=output_tokens,
        )
        return float(calc_price(usage, model_ref=self.model, provider_id=source).total_price)

    @property
    def priced(self) -> bool:
        return self.cost(1, 0, 1) is not None


class MissingKeyError(ValueError):
    pass


class ParamError(ValueError):
    """Request parameters that the provider would refuse on every call."""


_REASONING_FAMILY = re.compile(r"^(?:o\d|gpt-5(?!-chat))", re.IGNORECASE)


@cache
def _sdk_parameters() -> frozenset[str]:
    """Keyword arguments the installed SDK's ``chat.completions.create`` accepts."""
    import openai

    params = inspect.signature(openai.resources.chat.completions.AsyncCompletions.create)
    return frozenset(params.parameters) - {"self", "messages", "model"}


@cache
def _catalogue_has(provider_id: str, model: str) -> bool:
    """Whether genai-prices knows this model at this provider (no guessing across providers)."""
    from genai_prices import Usage, calc_price

    try:
        calc_price(Usage(input_tokens=1, output_tokens=1), model_ref=model, provider_id=provider_id)
    except LookupError:
        return False
    return True


class UnknownModelError(ValueError):
    pass


def _expand(value: Any) -> Any:
    """${VAR} and ${VAR:-default} from the environment; values read are remembered as secrets."""

    def one(m: re.Match) -> str:
        found = os.environ.get(m[1])
        remember(found)
        return found or (m[2] or "")

    return _VAR.sub(one, value) if isinstance(value, str) else value


@cache
def _read(path: str) -> dict[str, Any]:
    """A models file, checked: one-line errors name the file, the entry and the key."""
    data = read_yaml_mapping(path, "models file", ("providers", "models"))
    if unknown := sorted(set(data) - {"providers", "models"}):
        raise InputError(
            f"models file {path}: unknown key {unknown[0]!r}"
            f"{did_you_mean(unknown[0], ('providers', 'models'))}; accepted keys: providers, models"
        )
    known = set(ModelProfile.model_fields) - {"alias"}
    out: dict[str, dict[str, dict]] = {}
    for section in ("providers", "models"):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise InputError(
                f"models file {path}: {section} must be a mapping of names to settings"
            )
        out[section] = {name: entry or {} for name, entry in entries.items()}
        for name, entry in out[section].items():
            if not isinstance(entry, dict):
                raise InputError(
                    f"models file {path}: {section}.{name} must be a mapping of settings"
                )
            if unknown := sorted(set(entry) - known):
                raise InputError(
                    f"models file {path}: {section}.{name}: unknown key {unknown[0]!r}"
                    f"{did_you_mean(unknown[0], known)}; accepted keys: {', '.join(sorted(known))}"
                )
    return out


def _files(extra: str | Path | None) -> list[str]:
    files = [str(MODELS_FILE)]
    for f in (os.environ.get("COOP_MODELS"), extra):
        if f:
            if not Path(f).is_file():
                raise FileNotFoundError(f"models file {f}: file not found")
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
        named, model = alias.split(":", 1)
        model = model if named != "local" or model.startswith("scripted/") else f"scripted/{model}"
        entry = {"provider": named, "model": model}
    else:
        raise UnknownModelError(
            f"unknown model {alias!r}: use an alias from the models file "
            f"({', '.join(sorted(models))}) or PROVIDER:MODEL_ID with a provider among "
            f"{', '.join(sorted(providers))}"
        )
    provider = entry.get("provider")
    if not isinstance(provider, str) or provider not in providers:
        raise UnknownModelError(f"model {alias!r} names unknown provider {provider!r}")
    fields = {**providers[provider], **entry, "alias": alias}
    expanded = {k: _expand(v) for k, v in fields.items()}
    if expanded.get("base_url") != fields.get("base_url"):
        expanded["base_url_template"] = fields["base_url"]
    try:
        return ModelProfile(**expanded)
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        files = [
            f
            for f in _files(models_file)
            if key in _read(f)["providers"].get(provider, {})
            or key in _read(f)["models"].get(alias, {})
        ] or _files(models_file)
        raise InputError(f"models file {files[-1]}: model {alias!r}: {explain(exc)}") from None
