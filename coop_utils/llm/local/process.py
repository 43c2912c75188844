"""Running the local server: in the foreground (``coop serve``), or beside a caller as
:class:`LocalServer`, in a background thread (tests) or a subprocess (benchmarks and grids,
so it does not share the caller's GIL). A grid's server process watches its parent and ends
with it, however the parent ended.
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from ...paths import ROOT
from .app import ServerState, create_app
from .faults import FaultSettings

__all__ = [
    "LocalServer",
    "add_serve_arguments",
    "bind",
    "serve",
    "serve_from_args",
    "start_in_thread",
    "uvicorn_server",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only
    # then, and without it every reply waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def uvicorn_server(app: Starlette, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def start_in_thread(
    app: Starlette,
    host: str,
    port: int,
    name: str,
    log_level: str = "warning",
    timeout_s: float = 20.0,
) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve ``app`` from a daemon thread; returns once it accepts connections, with the
    server (set ``should_exit`` to stop it), its thread and the port it bound."""
    sock = bind(host, port)
    server = uvicorn_server(app, log_level)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {name} server thread did not start")
        time.sleep(0.005)
    return server, thread, sock.getsockname()[1]


def _split_settings(settings: Mapping[str, Any]) -> tuple[FaultSettings, bool, str]:
    rest = dict(settings)
    reasoning = bool(rest.pop("reasoning", False))
    log_level = str(rest.pop("log_level", "warning"))
    return FaultSettings().updated(rest), reasoning, log_level


def exit_with_parent(pid: int, every_s: float = 0.2) -> None:
    """End this process once ``pid``, the process that started it, is gone, however it
    ended (SIGKILL included): its parent then changes. A grid's server never outlives it."""

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    parent_pid: int | None = None,
    responders: Mapping[str, str] | None = None,
    **settings: Any,
) -> None:
    """Serve in the foreground until interrupted (or until ``parent_pid`` is gone).
    ``responders``: scripted stand-ins beside the policies (see :mod:`.replies`);
    ``settings``: fault fields, reasoning, log_level."""
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    faults, reasoning, log_level = _split_settings(settings)
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    app = create_app(faults, reasoning, responders)
    # This process only serves: freeze what is loaded so far out of the garbage collector's
    # reach, so full collections stay short instead of pausing a request for tens of ms.
    gc.collect()
    gc.freeze()
    print(f"coop serve: scripted models at http://{host}:{real_port}/v1", flush=True)
    uvicorn_server(app, log_level).run(sockets=[sock])


_FLAGS = {
    "latency_s": ("--latency", "seconds added to every chat request"),
    "latency_jitter_s": ("--latency-jitter", "extra seconds, uniform in [0, this], per request"),
    "rate_429": ("--rate-429", "share of requests answered 429 with Retry-After"),
    "rate_500": ("--rate-500", "share of requests answered 500"),
    "rate_slow": ("--rate-slow", "share of requests answered only after --slow seconds"),
    "rate_malformed": ("--rate-malformed", "share of replies that are prose, not JSON"),
    "rate_truncated": ("--rate-truncated", "share of replies cut off halfway"),
    "retry_after_s": ("--retry-after", "seconds a 429 asks the client to wait"),
    "slow_s": ("--slow", "seconds a slow reply takes"),
    "fault_seed": ("--fault-seed", "seed of the fault generator"),
}
"""Command-line flag and help of each fault field."""


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the server's options (host, port, faults, reasoning, log level) to ``parser``."""
    defaults = FaultSettings()
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 = any free one)")
    for name, (flag, text) in _FLAGS.items():
        kind = int if name == "fault_seed" else float
        parser.add_argument(
            flag,
            dest=name,
            type=kind,
            default=getattr(defaults, name),
            help=f"{text} (default %(default)s)",
        )
    parser.add_argument(
        "--reasoning", action="store_true", help="add a one-sentence reasoning_content to replies"
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="how much the web server logs (default %(default)s)",
    )
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # exit with it
    parser.add_argument(  # NAME=MODULE:FUNCTION, a scripted stand-in (see .replies)
        "--responder", dest="responders", action="append", default=[], help=argparse.SUPPRESS
    )
    return parser


def serve_from_args(args: argparse.Namespace, responders: Mapping[str, str] | None = None) -> None:
    """Run :func:`serve` with options parsed by :func:`add_serve_arguments`; ``responders``
    are served too (each ``--responder NAME=MODULE:FUNCTION`` adds one)."""
    settings = {name: getattr(args, name) for name in _FLAGS}
    named = dict(r.split("=", 1) for r in getattr(args, "responders", None) or ())
    try:
        serve(
            args.host,
            args.port,
            getattr(args, "parent_pid", None),
            {**(responders or {}), **named},
            reasoning=args.reasoning,
            log_level=args.log_level,
            **settings,
        )
    except (ValueError, OSError) as exc:
        raise SystemExit(f"coop serve: {exc}") from exc


class LocalServer:
    """The server as a context manager, in a background thread or a subprocess.

    ``with LocalServer(port=0) as srv: client = AsyncOpenAI(base_url=srv.base_url, ...)``.
    ``faults`` (a :class:`FaultSettings` or a mapping) and any fault field given as a keyword
    (``rate_429=0.1``) set the initial faults; ``latency_s`` is the fixed per-request delay;
    ``responders`` (name -> ``module:function``) adds scripted stand-ins (see :mod:`.replies`):
    none by default, so ``local:judge`` is served only when it is named
    (``responders=coop_utils.analysis.thoughts.judge.STAND_INS``; ``coop serve`` does).
    """

    def __init__(
        self,
        port: int = 0,
        latency_s: float = 0.0,
        faults: FaultSettings | Mapping[str, Any] | None = None,
        reasoning: bool = False,
        mode: str = "thread",
        host: str = DEFAULT_HOST,
        log_level: str = "warning",
        startup_timeout_s: float = 20.0,
        responders: Mapping[str, str] | None = None,
        **fault_fields: Any,
    ):
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', got {mode!r}")
        base = (
            faults if isinstance(faults, FaultSettings) else FaultSettings().updated(faults or {})
        )
        changes = {"latency_s": latency_s} if latency_s else {}
        self.faults = base.updated({**changes, **fault_fields})
        self.host, self.port, self.mode = host, port, mode
        self.reasoning, self.log_level = reasoning, log_level
        self.startup_timeout_s = startup_timeout_s
        self.responders = dict(responders or {})
        self._state: ServerState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None
        self._http: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start_thread() if self.mode == "thread" else self._start_process()
        except BaseException:
            self.stop()
            raise

    def _start_thread(self) -> None:
        app = create_app(self.faults, self.reasoning, self.responders)
        self._state = app.state.coop
        self._server, self._thread, self.port = start_in_thread(
            app, self.host, self.port, "coop-serve", self.log_level, self.startup_timeout_s
        )

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "coop_utils.llm.local", "--host", self.host]
        cmd += ["--port", str(self.port), "--log-level", self.log_level]
        cmd += ["--parent-pid", str(os.getpid())]  # dies with us, even on SIGKILL
        for name, (flag, _) in _FLAGS.items():
            cmd += [flag, str(getattr(self.faults, name))]
        for name, path in self.responders.items():
            cmd += ["--responder", f"{name}={path}"]
        return cmd + (["--reasoning"] if self.reasoning else [])

    def _start_process(self) -> None:
        if self.port == 0:
            with bind(self.host, 0) as probe:
                self.port = probe.getsockname()[1]
        root = str(ROOT)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            self._command(), env=env, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local server process did not start: {self._stderr_tail()}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            return self._client().get("/v1/models", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def _client(self) -> httpx.Client:
        if self._proc is None:
            raise RuntimeError("the local server process is not running")
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, trust_env=False, timeout=5.0)
        return self._http

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for handle in (self._http, self._stderr):
            if handle is not None:
                handle.close()
        self._server = self._thread = self._proc = self._http = self._stderr = None

    def _control(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        resp = self._client().request(method, path, json=body)
        if resp.status_code != 200:
            raise ValueError(resp.json().get("error", {}).get("message", resp.text))
        return resp.json()

    def stats(self) -> dict[str, Any]:
        """The counters (see ``GET /control/stats``)."""
        if self._state is not None:
            return self._state.stats()
        return self._control("GET", "/control/stats")

    def set_faults(self, **fields: Any) -> dict[str, Any]:
        """Change some fault fields (the rest keep their values); returns all current settings."""
        if self._state is not None:
            return self._state.set_faults(fields).as_dict()
        return self._control("POST", "/control/faults", fields)

    def reset(self) -> dict[str, Any]:
        """Zero the counters; returns them."""
        if self._state is not None:
            return self._state.reset()
        return self._control("POST", "/control/reset")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m coop_utils.llm.local",
        description="Serve scripted agents as an OpenAI-compatible chat API.",
    )
    serve_from_args(add_serve_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    main()
