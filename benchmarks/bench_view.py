"""Size and speed of `coop view` pages of 20-round default runs (target: under 5 MB, and
drawn in headless Chromium in under 2 s).

Two runs are played at the default setting, seed 0: ``coop run``'s default population
(perfect play in process: the most turns, 1,000 and more, and the longest prompts) and
notebook 00's (5*local:cooperator,5*local:withholder over the local server: model replies
and private thoughts). For each page it reports the time to build it in Python, its size,
and in headless Chromium: the time from navigation until the page's script has drawn the
overview and the whole turn list (``performance.now()`` read by a probe script appended to
a copy of the page), the time to open one turn (its prompt unpacked and drawn), and the
whole browser's wall time for the page less its wall time for an empty page (medians of
``--repeats``). Without chromium only the first two columns are measured.

Usage: python benchmarks/bench_view.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from coop_utils.llm.local import LocalServer
from coop_utils.run.grid import GridSpec, run_grid
from coop_utils.run.view import write_view

POPULATIONS = ("perfect", "5*local:cooperator,5*local:withholder")
PROBE = """<script>
document.documentElement.dataset.built = performance.now().toFixed(0);
addEventListener("load", async () => {
  const start = performance.now();
  document.querySelector(".item.turn .head").click();
  while (!document.querySelector("pre.prompt")) await new Promise((r) => setTimeout(r, 5));
  document.documentElement.dataset.opened = (performance.now() - start).toFixed(0);
});
</script>"""


def chromium(url: str) -> tuple[float, str]:
    """Wall seconds of headless Chromium loading ``url``, and the DOM it dumped."""
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    cmd += ["--disable-background-networking", f"--user-data-dir={tempfile.mkdtemp()}"]
    cmd += ["--virtual-time-budget=10000", "--dump-dom", url]
    start = time.perf_counter()
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    return time.perf_counter() - start, dom


def in_browser(page: Path, repeats: int, tmp: Path) -> dict[str, float]:
    probed = tmp / f"probed-{page.parent.name}.html"
    html = page.read_text(encoding="utf-8")
    at = html.rfind("</body>")
    probed.write_text(html[:at] + PROBE + html[at:], encoding="utf-8")
    blank = tmp / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    built, opened, extra = [], [], []
    for _ in range(repeats):
        wall, dom = chromium(probed.as_uri())
        built.append(float(re.search(r'data-built="(\d+)"', dom).group(1)))
        opened.append(float(re.search(r'data-opened="(\d+)"', dom).group(1)))
        extra.append(wall - chromium(blank.as_uri())[0])
    return {
        "drawn_ms": statistics.median(built),
        "open_turn_ms": statistics.median(opened),
        "wall_over_blank_s": statistics.median(extra),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    has_chromium = shutil.which("chromium") is not None
    if not has_chromium:
        print("chromium is not installed (apt-get install chromium): browser times skipped")
    with tempfile.TemporaryDirectory() as d, LocalServer(port=0, mode="thread") as srv:
        tmp = Path(d)
        spec = GridSpec(name="bench", models=list(POPULATIONS), conditions=["baseline"], seeds=[0])
        run_grid(spec, tmp / "runs", progress=False, base_urls={"local": srv.base_url})
        print(f"{'population':<42}{'turns':>6}{'build s':>9}{'MB':>7}", end="")
        print(f"{'drawn ms':>10}{'open ms':>9}{'wall-blank s':>14}" if has_chromium else "")
        for summary in sorted((tmp / "runs").rglob("summary.json")):
            folder = summary.parent
            start = time.perf_counter()
            page = write_view([folder], tmp / f"{folder.parent.parent.name}.html")
            build = time.perf_counter() - start
            turns = len(re.findall(r'"type": ?"turn"', page.read_text(encoding="utf-8")))
            line = f"{folder.parent.parent.name:<42}{turns:>6}{build:>9.2f}"
            line += f"{page.stat().st_size / 1e6:>7.2f}"
            if has_chromium:
                b = in_browser(page, args.repeats, tmp)
                line += f"{b['drawn_ms']:>10.0f}{b['open_turn_ms']:>9.0f}"
                line += f"{b['wall_over_blank_s']:>14.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
