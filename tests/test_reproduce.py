"""The notebooks as researchers run them: papermill from any folder with any parameters
changes no committed file and writes nothing outside the repository; a killed
``coop reproduce`` leaves no kernel, no server and no half-written notebook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from coop_utils.paths import ROOT, TMP_GLOB

pytestmark = pytest.mark.slow  # each test runs notebooks in a kernel (10-30 s)


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True).stdout


def _tracked_outputs(repo: Path) -> dict[str, int]:
    """Modification times of the committed notebooks, figures and tables."""
    names = _git("ls-files", "notebooks", "figures", "data/results", cwd=repo).split()
    return {n: (repo / n).stat().st_mtime_ns for n in names}


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The tracked files, committed in a folder of their own: what lands beside the
    repository is then ours alone to see (a clone in /tmp has neighbours that change)."""
    repo = tmp_path / "beside" / "repo"
    for name in _git("ls-files", "-z").split("\0"):
        if name and (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes((ROOT / name).read_bytes())
    who = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-qm", "copy"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.mark.parametrize(
    ("sub", "rounds"), [(".", 3), ("notebooks", 4)], ids=["from-root", "from-notebooks"]
)
def test_papermill_with_changed_parameters_changes_nothing_committed(
    sub, rounds, repo_copy, tmp_path
):
    repo = repo_copy
    status, outputs = _git("status", "--porcelain", cwd=repo), _tracked_outputs(repo)
    outside = {p.name for p in repo.parent.iterdir()}
    notebook = repo / "notebooks" / "01_baseline.ipynb"
    params = ["-p", "runs", "2", "-p", "rounds", str(rounds), "-p", "perfect_runs", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), str(tmp_path / "out.ipynb"), *params],
        cwd=repo / sub,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},  # the kernel imports the copy's package
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert _git("status", "--porcelain", cwd=repo) == status, "a committed file changed"
    assert _tracked_outputs(repo) == outputs, "a committed output was rewritten"
    assert {p.name for p in repo.parent.iterdir()} == outside, "wrote beside the repository"
    explore = repo / "runs" / "explore" / "01_baseline" / f"perfect_runs=2,rounds={rounds},runs=2"
    assert (explore / "figures" / "offline" / "table1_baseline_bars.png").exists()
    assert (explore / "results" / "offline" / "table1_baseline.csv").exists()
    said = [o.get("text", "") for c in nbformat.read(tmp_path / "out.ipynb", 4).cells[:4]
            if c.cell_type == "code" for o in c.outputs]  # fmt: skip
    assert any("Exploration (parameters changed" in t for t in said), said


SLEEPER = """\
from coop_utils.llm.local import LocalServer

server = LocalServer(port=0, mode="process")
server.start()
print("serving", flush=True)
import time

time.sleep(300)
"""

REPRODUCE = """\
import sys
from pathlib import Path
from coop_utils.run.reproduce import reproduce
reproduce(root=Path(sys.argv[1]))
"""


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _is(proc: psutil.Process, word: str) -> bool:
    try:
        return any(word in part for part in proc.cmdline())
    except psutil.Error:
        return False


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_reproduce_leaves_no_kernel_server_or_notebook_debris(how, tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SLEEPER)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "notebooks" / "99_sleeper.ipynb")
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(REPRODUCE), str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline, ours = time.monotonic() + 90, []
    while time.monotonic() < deadline and not any(_is(p, "coop_utils.llm.local") for p in ours):
        assert parent.poll() is None, parent.stderr.read().decode()[-2000:]
        time.sleep(0.2)
        ours = _descendants(parent.pid)
    kernel = [p for p in ours if _is(p, "ipykernel")]
    server = [p for p in ours if _is(p, "coop_utils.llm.local")]
    assert kernel and server, "the notebook's kernel and its local server were running"
    os.kill(parent.pid, how)
    parent.wait(timeout=30)
    gone, alive = psutil.wait_procs(kernel + server, timeout=20)
    for proc in alive:
        proc.kill()
    assert not alive, f"outlived coop reproduce: {[p.cmdline() for p in alive]}"
    left = sorted(p.name for p in (tmp_path / "notebooks").iterdir())
    assert [n for n in left if n.endswith(".ipynb")] == ["99_sleeper.ipynb"], left
    debris = [n for n in left if Path(n).match(TMP_GLOB)]
    assert len(debris) <= (1 if how == signal.SIGKILL else 0), left


def test_reproduce_writes_an_ordinary_file_and_keeps_the_kernel_quiet(tmp_path):
    (tmp_path / "notebooks").mkdir()
    noise = 'get_ipython().kernel.log.error("KERNEL-NOISE")'  # as ipykernel logs its own
    cells = [nbformat.v4.new_code_cell(s) for s in ("x = 1", "print(x)", noise)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "", "language": "python"}
    path = tmp_path / "notebooks" / "98_tiny.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(REPRODUCE), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask(), "not the 0600 of mkstemp"
    ran = nbformat.read(path, as_version=4)
    assert ran.cells[1].outputs[0].text == "1\n"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in ran.cells)
    assert ran.metadata.kernelspec.display_name != "", "recorded as JupyterLab shows it"
    log = (tmp_path / "runs" / "reproduce" / "98_tiny.kernel.log").read_text()
    assert "KERNEL-NOISE" not in done.stderr and "KERNEL-NOISE" in log, "kernel log to its file"
    assert sorted(p.name for p in path.parent.iterdir()) == ["98_tiny.ipynb"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
