"""The command line as a careless user meets it: mistyped options and values, a server that
is not there, paths, leftovers, missing keys, help pages and the README's samples."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest

from coop_utils.llm.client import ClientPool
from coop_utils.llm.failures import Failure


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _coop(*argv: str, env: dict[str, str] | None = None, timeout: float = 60, cwd=None):
    cmd = [sys.executable, "-m", "coop_utils.cli", *argv]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
        cwd=cwd,
    )  # fmt: skip


# item 2: a server that is not there stops the run at once and says what to check


@pytest.mark.parametrize(
    "variable, agents", [("OLLAMA_BASE_URL", "ollama:llama3.1"), ("VLLM_BASE_URL", "vllm:m")]
)
def test_a_refused_connection_stops_the_run_within_seconds(variable, agents):
    start = time.perf_counter()
    done = _coop(
        "run", "--agents", agents, "--runs", "1", "--rounds", "2",
        env={variable: f"http://127.0.0.1:{_closed_port()}/v1"}, timeout=60,
    )  # fmt: skip
    assert time.perf_counter() - start < 30
    assert done.returncode == 2, done.stderr
    assert "connection refused" in done.stderr and "nothing answers at" in done.stderr
    assert variable in done.stderr, "names what to check"


def _error(cause: BaseException) -> openai.APIConnectionError:
    exc = openai.APIConnectionError(request=httpx.Request("POST", "http://x/v1"))
    exc.__cause__ = cause
    return exc


def test_an_unknown_host_is_a_stop_until_the_endpoint_answered_then_a_retry(monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", "http://gpu-box.invalid:8000/v1")
    pool = ClientPool(mode="live", cache=None)
    client = pool.client("vllm:m")
    for cause in (socket.gaierror(-2, "Name or service not known"), ConnectionRefusedError()):
        assert client._classify(_error(cause)) is Failure.STOP
    assert client._classify(_error(OSError("reset"))) is Failure.RETRY, "other errors retry"
    timeout = openai.APITimeoutError(request=httpx.Request("POST", "http://x/v1"))
    assert client._classify(timeout) is Failure.RETRY, "a slow server is not a wrong address"
    pool.answered.add(client.profile.base_url)
    assert client._classify(_error(ConnectionRefusedError())) is Failure.RETRY, "a blip"


def test_an_endpoint_that_closes_without_a_word_stops_on_the_first_call(tmp_path, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    monkeypatch.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    from coop_utils.llm.failures import StopError

    async def call() -> None:
        async with ClientPool(mode="live", cache=tmp_path / "c.jsonl") as pool:
            await pool.client("vllm:m").complete([{"role": "user", "content": "hi"}], "s")

    start = time.perf_counter()
    try:
        with pytest.raises(StopError, match="closed without a response.*nothing answers"):
            asyncio.run(call())
    finally:
        listener.close()
    assert time.perf_counter() - start < 10
