"""A real LiteLLM proxy between the client and our stand-ins, for the gateway test and benchmark.

The proxy (``litellm[proxy]`` on PyPI) is never a dependency of this project: it lives in an
environment of its own (``.ci/run`` makes ``.venv-litellm``) so it cannot move our pins, and
is found through ``COOP_LITELLM_BIN``. It runs with ``LITELLM_LOCAL_MODEL_COST_MAP=True`` so
it never reaches for the network, one worker, a master key and no database; each entry of its
``model_list`` names an upstream: a conformance scenario or ``coop serve``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import httpx

from coop_utils.llm.local.process import bind

__all__ = ["BIN_VAR", "MASTER_KEY", "LiteLLMProxy", "litellm_bin"]

BIN_VAR = "COOP_LITELLM_BIN"
"""Environment variable naming the proxy's executable (``.venv-litellm/bin/litellm``)."""
MASTER_KEY = "sk-coop-gateway"
"""The key the proxy accepts (its master key): what a models file's LITELLM_API_KEY holds."""


def litellm_bin() -> str | None:
    """The proxy's executable, if installed (``COOP_LITELLM_BIN``, else ``litellm`` on PATH)."""
    found = os.environ.get(BIN_VAR) or shutil.which("litellm")
    return found if found and os.access(found, os.X_OK) else None


class LiteLLMProxy:
    """``litellm --config`` in a subprocess; ``models`` maps each model_name the proxy serves
    to ``(route/model, api_base)`` upstream, e.g. ``("openai/scripted/cooperator", url)``."""

    def __init__(self, models: Mapping[str, tuple[str, str]], binary: str | None = None):
        found = binary or litellm_bin()
        if found is None:
            raise FileNotFoundError(f"no LiteLLM proxy: set {BIN_VAR} to its executable")
        self.binary = found
        self.models = dict(models)
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._log: BinaryIO | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="coop-litellm-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LiteLLMProxy:
        entries = [
            {
                "model_name": name,
                "litellm_params": {"model": m, "api_base": url, "api_key": "sk-upstream"},
            }
            for name, (m, url) in self.models.items()
        ]
        config = Path(self._dir.name) / "config.yaml"
        config.write_text(
            json.dumps({"model_list": entries, "general_settings": {"master_key": MASTER_KEY}})
        )
        with bind("127.0.0.1", 0) as sock:
            self.port = sock.getsockname()[1]
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        self._log = open(Path(self._dir.name) / "proxy.log", "wb")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [self.binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port), "--num_workers", "1"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        tail = (Path(self._dir.name) / "proxy.log").read_text(errors="replace")[-2000:]
        self.__exit__()
        raise RuntimeError(f"the LiteLLM proxy did not start in 120 s:\n{tail}")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()
        self._dir.cleanup()
