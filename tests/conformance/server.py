"""The conformance scenarios over HTTP: ``{url}/{scenario}/v1`` answers as that scenario.

Tests point a models file at ``{url}/{scenario}/v1`` (or ``{url}/{scenario}/t/ANYTHING/v1``,
to put a token in a URL) and check what the client makes of it. The server records every
request (without its ``Authorization`` header) so tests can check what was sent.
"""

from __future__ import annotations

import json
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from coop_utils.llm.local.process import start_in_thread

from .scenarios import SCENARIOS, Call

__all__ = ["ConformanceServer"]


class ConformanceServer:
    """The scenarios over HTTP in a background thread: ``base_url(scenario)`` per scenario."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host, self.port = host, 0
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def base_url(self, scenario: str) -> str:
        if scenario not in SCENARIOS:
            raise KeyError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        return f"http://{self.host}:{self.port}/{scenario}/v1"

    def calls_to(self, scenario: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.scenario == scenario]

    async def _chat(self, request: Request) -> Response:
        scenario = request.path_params["scenario"]
        body = json.loads(await request.body() or b"{}")
        auth = request.headers.get("authorization", "")
        with self._lock:
            n = sum(c.scenario == scenario for c in self.calls)
            others = {k: v for k, v in request.headers.items() if k != "authorization"}
            call = Call(scenario, body, n, auth, request.url.path, others)
            self.calls.append(call)
        status, content, headers = SCENARIOS[scenario](call)
        if isinstance(content, bytes):
            return Response(content, status_code=status, headers=headers)
        return JSONResponse(content, status_code=status, headers=headers)

    def __enter__(self) -> ConformanceServer:
        paths = ("/{scenario}/v1/chat/completions", "/{scenario}/t/{token}/v1/chat/completions")
        app = Starlette(routes=[Route(path, self._chat, methods=["POST"]) for path in paths])
        self._server, self._thread, self.port = start_in_thread(app, self.host, 0, "conformance")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
