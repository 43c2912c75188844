"""Open every notebook in JupyterLab in a real browser and check what a reader sees.

Why: nbval checks that the notebooks compute the same numbers, but not that they render.
This starts JupyterLab on the repository (``--allow-root`` when run as root), opens each
notebook in headless Chromium through the DevTools protocol, and checks that every cell
and every figure the file holds is on the page, that no output is an error and no script
raised, that the freshly opened notebook is not marked modified, and that no notebook
file changed on disk. It saves a screenshot of each notebook's first figure.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); ``websocket-client`` comes
with jupyter_server. Nothing is written to your Jupyter settings: JupyterLab runs with
temporary config, settings and workspace folders, and news fetching off.

Usage: python benchmarks/check_notebooks_in_browser.py [--shots runs/browser-check]
       [--only 01 02] [--timeout 90]
Exit status 1 if any notebook fails a check.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import websocket

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-breakpad",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
]
SETTINGS = {  # JupyterLab user settings for the check: no network, every cell in the page
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
PAGE_STATE = """(() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return null;
  const imgs = Array.from(nb.querySelectorAll('.jp-OutputArea-output img'));
  const stderr = Array.from(nb.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
  const tab = Array.from(document.querySelectorAll('.lm-TabBar-tab'))
    .find(t => t.textContent.trim() === NAME);
  return {
    cells: nb.querySelectorAll('.jp-Cell').length,
    figures: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    errors: stderr.map(e => e.textContent).filter(t => /Traceback|Error/.test(t)).length,
    dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.textContent),
    dirty: tab ? tab.classList.contains('jp-mod-dirty') : null,
  };
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_lab(home: Path, port: int, token: str) -> subprocess.Popen:
    for plugin, values in SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        path = home / "settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}"]
    cmd += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}"]
    cmd += [f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}"]  # not in notebooks/
    cmd += ["--allow-root"] if os.geteuid() == 0 else []  # JupyterLab refuses root without it
    log = open(home / "lab.log", "wb")
    lab = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    status = f"http://127.0.0.1:{port}/api/status?token={token}"

    def up() -> bool:
        if lab.poll() is not None:
            raise RuntimeError(f"JupyterLab exited: {(home / 'lab.log').read_text()[-2000:]}")
        try:
            return urllib.request.urlopen(status, timeout=2).status == 200
        except OSError:
            return False

    wait_for(up, 60, "JupyterLab to start")
    return lab


class Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self, profile: Path):
        self.proc = subprocess.Popen(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # close() ends the browser's helper processes with it
        )
        port_file = profile / "DevToolsActivePort"
        wait_for(port_file.exists, 30, "Chromium to start")
        port = int(port_file.read_text().split()[0])
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self.ws = websocket.create_connection(url, suppress_origin=True, timeout=60)
        self.ids = itertools.count(1)
        self.problems: list[str] = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params):
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == n:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note(message)

    def _note(self, message: dict) -> None:
        """Keep uncaught exceptions and console errors of the page."""
        params = message.get("params", {})
        if message.get("method") == "Runtime.exceptionThrown":
            self.problems.append(params["exceptionDetails"].get("text", "exception"))
        elif message.get("method") == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.problems.append(" ".join(str(a.get("value", "")) for a in params["args"]))

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))

    def close(self) -> None:
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


def expected(path: Path) -> tuple[int, int]:
    """Cells and figures (PNG outputs) the notebook file holds."""
    nb = nbformat.read(path, as_version=4)
    figures = sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    return len(nb.cells), figures


def api(base: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{base}/api/{path}?token={TOKEN}", method=method)
    with urllib.request.urlopen(request, timeout=10) as reply:
        body = reply.read()
    return json.loads(body) if body else None


def end_sessions(base: str) -> None:
    """Shut down the kernel each opened notebook started (one at a time is enough)."""
    for session in api(base, "sessions"):
        api(base, f"sessions/{session['id']}", "DELETE")


def check(browser: Browser, base: str, path: Path, shots: Path, timeout: float) -> dict:
    cells, figures = expected(path)
    start, seen = time.monotonic(), len(browser.problems)
    rel = path.relative_to(ROOT).as_posix()
    browser.call("Page.navigate", url=f"{base}/lab/tree/{rel}?reset&token={TOKEN}")
    state_js = PAGE_STATE.replace("NAME", json.dumps(path.name))

    def rendered():
        s = browser.evaluate(state_js)
        return s if s and s["cells"] == cells and s["figures"] >= figures else None

    try:
        state = wait_for(rendered, timeout, f"{path.name} to render")
    except TimeoutError:
        state = browser.evaluate(state_js) or {"cells": 0, "figures": 0, "errors": 0}
        state["timeout"] = True
    time.sleep(3)  # the kernel connects meanwhile; a notebook marked modified shows it now
    state |= browser.evaluate(state_js) or {}
    browser.evaluate(
        "(() => { const i = document.querySelector('.jp-OutputArea-output img');"
        " if (i) i.scrollIntoView({block: 'center'}); })()"
    )
    time.sleep(0.5)
    shot = shots / f"{path.stem}.png"
    browser.screenshot(shot)
    end_sessions(base)
    state |= {
        "notebook": path.stem,
        "expected_cells": cells,
        "expected_figures": figures,
        "script_errors": browser.problems[seen:],
        "seconds": round(time.monotonic() - start, 1),
        "screenshot": str(shot),
    }
    state["ok"] = bool(
        not state.get("timeout")
        and state["cells"] == cells
        and state["figures"] >= figures > 0
        and not state["errors"]
        and not state.get("dialogs")
        and state.get("dirty") is False
        and not state["script_errors"]
    )
    return state


TOKEN = secrets.token_hex(16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, default=ROOT / "runs" / "browser-check")
    parser.add_argument("--only", nargs="+", help="notebooks by number or name (default: all)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per notebook")
    args = parser.parse_args()
    if not shutil.which("chromium"):
        sys.exit("chromium is not installed: apt-get install -y chromium")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only or p.stem[:2] in args.only]
    args.shots.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime_ns for p in paths}
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="coop-browser-") as tmp:
        home = Path(tmp)
        lab = start_lab(home, port, TOKEN)
        browser = Browser(home / "chromium")
        try:
            results = [
                check(browser, f"http://127.0.0.1:{port}", p, args.shots, args.timeout)
                for p in paths
            ]
        finally:
            browser.close()
            try:
                api(f"http://127.0.0.1:{port}", "shutdown", "POST")
                lab.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                lab.terminate()
    changed = [p.name for p in paths if p.stat().st_mtime_ns != before[p]]
    print(f"{'notebook':<28}{'cells':>7}{'figures':>9}{'errors':>8}{'modified':>10}{'s':>7}  ok")
    for r in results:
        figs = f"{r['figures']}/{r['expected_figures']}"
        cells = f"{r['cells']}/{r['expected_cells']}"
        print(
            f"{r['notebook']:<28}{cells:>7}{figs:>9}{r['errors'] + len(r['script_errors']):>8}"
            f"{str(r.get('dirty')):>10}{r['seconds']:>7}  {'yes' if r['ok'] else 'NO'}"
        )
        for problem in r["script_errors"] + r.get("dialogs", []):
            print(f"    {problem[:200]}")
    print(f"screenshots in {args.shots}")
    if changed:
        print(f"notebook files changed on disk: {', '.join(changed)}")
    return 0 if all(r["ok"] for r in results) and not changed else 1


if __name__ == "__main__":
    sys.exit(main())
