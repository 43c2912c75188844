"""``coop view``: one self-contained HTML page per run, read instead of its event log.

Why: the paper's findings are read off transcripts (what a model said to itself while it
withheld, which requests went unanswered, where a task stalled), and ``events.jsonl`` is
thousands of JSON lines. The page shows a run's overview, every turn with the messages the
agent was sent, its raw reply, parsed actions, private thoughts (the classifier's matches
marked) and what followed, lets a reader filter and search them, and puts two runs of one
seed side by side where their histories part.

The page is one file that opens with no server and no network: its script, styles and data
are inline (a Content-Security-Policy forbids loading anything), charts are inline SVG drawn
by its own script, and the prompts, which repeat from turn to turn, are stored once per
distinct line and gzip-compressed (the browser's ``DecompressionStream`` opens them). The
template is Jinja2 with autoescaping; :mod:`.data` gathers a run, :mod:`.compare` finds
where two runs part, :mod:`.prompts` rebuilds the prompts.
"""

from __future__ import annotations

import base64
import gzip
import json
from importlib import metadata
from pathlib import Path

from ...game.prompts import HEADERS, NOTICES
from ...paths import atomic_path
from .compare import compare
from .data import ACTION_KINDS, run_data

__all__ = ["VIEW_FILE", "compare", "run_data", "view_html", "write_view"]

VIEW_FILE = "view.html"
"""Where ``coop view RUN`` writes its page by default: beside the run's events."""


def view_html(folders: list[str | Path]) -> str:
    """The page of one run, or of two runs side by side."""
    import jinja2

    if not 1 <= len(folders) <= 2:
        raise ValueError(f"coop view takes one run folder or two, not {len(folders)}")
    runs = [run_data(_run_folder(f)) for f in folders]
    prompts = [_pack(r.pop("_prompts")) for r in runs]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("coop_utils.run.view", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2")),
    )
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}  # the page's size
    source = env.loader.get_source
    title = " vs ".join(f"{r['model']} · {r['condition']} · seed {r['seed']}" for r in runs)
    data = {
        "runs": runs,
        "compare": compare(*runs) if len(runs) == 2 else None,
        "action_kinds": ACTION_KINDS,
        "headers": list(HEADERS),
        "notices_header": NOTICES,
    }
    return env.get_template("view.html.j2").render(
        title=title,
        runs=runs,
        compare=data["compare"],
        data=data,
        prompts=prompts,
        css=source(env, "view.css")[0],
        js=source(env, "view.js")[0],
        version=metadata.version("coop-utils"),
    )


def write_view(folders: list[str | Path], out: str | Path | None = None) -> Path:
    """Write the page (atomically) to ``out``, by default ``view.html`` in the first run's
    folder (``view-vs-<second run's id>.html`` for two runs); returns its path."""
    first = _run_folder(folders[0])
    if out is None:
        name = VIEW_FILE
        if len(folders) == 2:
            other = json.loads((_run_folder(folders[1]) / "summary.json").read_text())["run_id"]
            name = f"view-vs-{other}.html"
        out = first / name
    out = Path(out)
    html = view_html(folders)
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out


def _run_folder(folder: str | Path) -> Path:
    """A finished run's folder, or a one-line error that says what is expected."""
    folder = Path(folder)
    if not (folder / "events.jsonl").is_file():
        raise FileNotFoundError(
            f"{folder} is not a run folder (no events.jsonl): pass a folder that "
            "coop run --out or coop grid wrote, e.g. runs/offline/.../seed0"
        )
    return folder


def _pack(prompts: list[list[dict]] | None) -> str | None:
    """Every turn's messages as base64 gzip'd JSON, each distinct line stored once: a turn
    is [[role, refs], ...], where ref x is line x and -m is the m lines after the last."""
    if prompts is None:
        return None
    lines: dict[str, int] = {}
    packed = []
    for messages in prompts:
        turn = []
        for m in messages:
            refs: list[int] = []
            last = None
            for line in m["content"].split("\n"):
                x = lines.setdefault(line, len(lines))
                if last is not None and x == last + 1 and refs and refs[-1] < 0:
                    refs[-1] -= 1
                elif last is not None and x == last + 1:
                    refs.append(-1)
                else:
                    refs.append(x)
                last = x
            turn.append([m["role"], refs])
        packed.append(turn)
    body = json.dumps({"lines": list(lines), "prompts": packed}, separators=(",", ":"))
    return base64.b64encode(gzip.compress(body.encode(), 9, mtime=0)).decode("ascii")
