"""Shared fixtures: one local OpenAI-compatible server (`coop serve`) for the whole session."""

from __future__ import annotations

import pytest

from coop_utils.llm.server import LocalServer


@pytest.fixture(scope="session")
def _server():
    with LocalServer(port=0, mode="thread") as srv:
        yield srv


@pytest.fixture
def server(_server):
    """The session's server with no faults, no latency and zeroed counters."""
    _server.set_faults(
        rate_429=0, rate_500=0, rate_slow=0, rate_malformed=0, rate_truncated=0, latency_s=0
    )
    _server.reset()
    yield _server
    _server.set_faults(
        rate_429=0, rate_500=0, rate_slow=0, rate_malformed=0, rate_truncated=0, latency_s=0
    )
