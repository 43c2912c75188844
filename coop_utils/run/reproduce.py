"""``coop reproduce``: run every notebook end to end and regenerate every figure and table.

Each notebook ``notebooks/NN_name.ipynb`` is executed by papermill with its published
parameters, the defaults of its ``parameters`` cell (read by papermill), overridable with ``--set key=value`` for every notebook that has the key, or
``--set NN_name.key=value`` for one. Only the overrides are injected, so a notebook run at
its published parameters has no injected cell and opens in JupyterLab exactly as written.
At the published parameters a notebook writes the committed ``figures/`` and
``data/results/``; with any override it writes under ``runs/explore/`` instead (see
:func:`coop_utils.run.experiments.notebook_outputs`), unless ``publish`` is asked for, and
the executed notebook goes there too, never over the committed one. Every ``--set`` is
checked against the notebooks' parameters before any notebook runs (:func:`check_sets`).

A notebook is executed to a temporary file (``.NN_name.ipynb.*.tmp``, which git ignores
and nbval never collects) and moved into place, with ordinary file modes, only when it
succeeds; a failed run is kept under ``runs/reproduce/``. Timing metadata is stripped, so
rerunning on unchanged code leaves ``git diff`` empty. The kernel's own log goes to
``runs/reproduce/NN_name.kernel.log``, not the terminal, and every kernel (with anything
it started, such as the local model server) ends with ``coop reproduce``, even when that is
killed (:mod:`coop_utils.run.reaper`).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import yaml
from tqdm import tqdm

from ..inputs import did_you_mean
from ..paths import ROOT, TMP_GLOB, atomic_path, shown
from .reaper import reaped

VOLATILE_NOTEBOOK_KEYS = ("start_time", "end_time", "duration", "input_path", "output_path")
VOLATILE_NOTEBOOK_KEYS += ("environment_variables", "exception")


def notebooks(root: Path = ROOT, only: list[str] | None = None) -> list[Path]:
    found = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = set(only)
        unknown = wanted - {p.stem for p in found} - {p.stem[:2] for p in found}
        if unknown:
            names = ", ".join(p.stem for p in found)
            raise ValueError(f"no notebook {', '.join(sorted(unknown))}; notebooks are {names}")
        found = [p for p in found if p.stem in wanted or p.stem[:2] in wanted]
    return found


def _split(item: str) -> tuple[str, str, str]:
    """``NOTEBOOK.KEY=VALUE`` or ``KEY=VALUE`` as (notebook or '', key, value)."""
    key, eq, value = item.partition("=")
    if not eq or not key:
        raise ValueError(f"--set expects KEY=VALUE or NOTEBOOK.KEY=VALUE, got {item!r}")
    target, _, name = key.rpartition(".")
    return target, name, value


def parameters(nb: Path, sets: list[str] | None = None) -> dict[str, Any]:
    """The notebook's published parameters with ``--set`` overrides applied."""
    from .experiments import published_parameters

    params = published_parameters(nb)
    for item in sets or []:
        target, name, value = _split(item)
        if (target in ("", nb.stem, nb.stem[:2])) and name in params:
            params[name] = yaml.safe_load(value)
    return params


def check_sets(todo: list[Path], sets: list[str], root: Path = ROOT) -> None:
    """Before any notebook runs: each ``--set`` names a parameter of a notebook it applies
    to, and every notebook's parameters have the kinds its published ones have."""
    from .experiments import check_parameters, published_parameters

    published = {nb: published_parameters(nb) for nb in todo}
    for item in sets:
        target, name, _ = _split(item)
        if target:
            notebooks(root, [target])  # an unknown notebook is named with those there are
        aimed = [nb for nb in todo if target in ("", nb.stem, nb.stem[:2])]
        known = sorted({k for nb in aimed for k in published[nb]})
        if not aimed:
            raise ValueError(f"--set {item}: notebook {target} is not among those run")
        if name not in known:
            raise ValueError(
                f"--set {item}: no notebook run has a parameter {name!r}"
                f"{did_you_mean(name, known)}; parameters: {', '.join(known)}"
            )
    for nb in todo:
        params = parameters(nb, sets)
        try:
            check_parameters(nb.stem, params, published[nb])
        except ValueError as exc:
            raise ValueError(f"--set: {exc}") from None


def overrides(nb: Path, params: dict[str, Any]) -> dict[str, Any]:
    """What papermill must inject: the parameters that differ from the published ones."""
    from .experiments import published_parameters

    base = published_parameters(nb)
    return {k: v for k, v in params.items() if k not in base or base[k] != v}


def strip_volatile(path: Path) -> None:
    """Remove execution timestamps, paths and random ids, and join a cell's consecutive
    printouts to one stream (the kernel splits them wherever its buffer happened to flush;
    nbconvert's coalescing also keeps only what a carriage return left on screen), so the
    executed notebook is reproducible byte for byte."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        pm.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill draws a new random id every run
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, path)


class NotebookFailed(RuntimeError):
    """A notebook raised; the executed copy, up to the failing cell, is kept."""


def logs_dir(nb: Path) -> Path:
    """Kernel logs and failed copies of the repository's notebooks (``runs/reproduce``, which
    git ignores and nbval does not collect)."""
    return nb.resolve().parent.parent / "runs" / "reproduce"


def _kernel_manager(log: Path, env: dict[str, str]) -> type:
    """A kernel manager whose kernel writes its log to ``log`` and gets ``env`` on top."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        # jupyter_client interrupts a kernel before shutting it down, which ipykernel may
        # log as "KeyboardInterrupt caught in kernel": that is for the log, not the reader.
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw["env"] = {**kw.get("env", os.environ), **env}
            with open(log, "wb") as fh:  # the kernel keeps its own descriptor
                kw["stdout"] = kw["stderr"] = fh
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def run_notebook(
    nb: Path,
    params: dict[str, Any],
    env: dict[str, str] | None = None,
    logs: Path | None = None,
    to: Path | None = None,
) -> float:
    """Execute one notebook in place, or into ``to`` (atomically); returns seconds taken.

    ``params`` are injected as given (pass :func:`overrides`); ``env`` is added to the
    kernel's environment. On failure the notebook is left untouched and the executed copy
    is saved as ``NN_name.failed.ipynb`` for inspection, with the kernel's log, in ``logs``
    (default ``runs/reproduce``, see :func:`logs_dir`).
    """
    import papermill as pm

    start = time.perf_counter()
    logs = logs or logs_dir(nb)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{nb.stem}.kernel.log"
    source = nbformat.read(nb, as_version=4)
    source.cells = [  # a stale injected cell would override the parameters cell
        c for c in source.cells if "injected-parameters" not in c.metadata.get("tags", [])
    ]
    source.metadata["kernelspec"] = _kernelspec("python3")
    with atomic_path(to or nb) as tmp:
        try:
            with warnings.catch_warnings():  # the temporary name does not end in .ipynb
                warnings.filterwarnings("ignore", "The specified file", UserWarning)
                pm.execute_notebook(
                    source,
                    str(tmp),
                    parameters=params or None,
                    cwd=str(nb.parent),
                    kernel_name="python3",
                    progress_bar=False,
                    log_output=False,
                    kernel_manager_class=_kernel_manager(log, env or {}),
                )
        except pm.PapermillExecutionError as exc:
            failed = logs / f"{nb.stem}.failed.ipynb"
            os.replace(tmp, failed)
            raise NotebookFailed(
                f"{nb.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}; "
                f"the executed copy is {shown(failed)}, the kernel's log {shown(log)}"
            ) from None
        strip_volatile(tmp)
    return time.perf_counter() - start


def _kernelspec(name: str) -> dict[str, str]:
    """The kernel as JupyterLab records it on opening the notebook: any other display name
    there would mark a freshly opened notebook as modified."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(name)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


class Stopped(KeyboardInterrupt):
    """``coop reproduce`` received SIGTERM: it stops as on Ctrl-C, cleaning up."""


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """Turn SIGTERM into :class:`Stopped` (main thread only), so temporary files and
    kernels are cleaned up as on Ctrl-C instead of the process vanishing."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_stopped)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped()


def reproduce(
    only: list[str] | None = None,
    sets: list[str] | None = None,
    root: Path = ROOT,
    publish: bool = False,
) -> dict[str, float]:
    """Run the notebooks in order; returns seconds per notebook. Stops at the first failure.

    A notebook at its published parameters writes the committed figures and tables; one
    with overrides writes under ``runs/explore/`` unless ``publish`` is true.
    """
    from .experiments import PUBLISH_ENV

    todo = notebooks(root, only)
    if not todo:
        raise FileNotFoundError(f"no notebooks under {root / 'notebooks'}")
    check_sets(todo, sets or [], root)
    times: dict[str, float] = {}
    with _sigterm_stops(), reaped() as marker:
        env = {PUBLISH_ENV: "1", **marker}
        with tqdm(todo, desc="notebooks", unit="nb") as bar:
            for nb in bar:
                bar.set_postfix_str(nb.stem)
                injected = overrides(nb, parameters(nb, sets))
                if publish:
                    injected["publish"] = True
                times[nb.stem] = run_notebook(nb, injected, env, to=executed(nb, sets, publish))
    return times


def executed(nb: Path, sets: list[str] | None, publish: bool) -> Path | None:
    """Where an exploration keeps its executed notebook (in its folder under runs/), so the
    committed notebook changes only when the published outputs do; ``None``: in place."""
    from .experiments import notebook_outputs

    params = parameters(nb, sets)
    if not publish and not overrides(nb, params):
        return None  # published parameters: in place
    out = notebook_outputs(nb.stem, params | ({"publish": True} if publish else {}), True)
    return None if out.explore is None else out.explore / nb.name


def folder_size(path: Path) -> int:
    """Bytes in the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def regenerable(root: Path = ROOT) -> list[Path]:
    """What ``coop clean`` may delete: runs that cost nothing to make again.

    Offline and replayed runs, exploration outputs, ``coop reproduce``'s logs, the browser
    check's screenshots, and the temporary files of killed writers. Never ``runs/live`` (paid replies) nor any other
    folder a user made under ``runs/``.
    """
    runs = root / "runs"
    found = [runs / name for name in ("offline", "explore", "reproduce", "browser-check")]
    found += runs.glob("replay-*")
    for folder in (root / "notebooks", root / "figures", root / "data" / "results"):
        found += folder.rglob(TMP_GLOB) if folder.exists() else []
    return sorted(p for p in found if p.exists())


def clean(root: Path = ROOT, dry_run: bool = True) -> list[tuple[Path, int]]:
    """Delete (unless ``dry_run``) what :func:`regenerable` lists; returns it with sizes."""
    listed = [(p, folder_size(p) if p.is_dir() else p.stat().st_size) for p in regenerable(root)]
    if not dry_run:
        for path, _ in listed:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return listed


def runs_report(
    only: list[str] | None = None,
    sets: list[str] | None = None,
    publish: bool = False,
    root: Path = ROOT,
) -> str:
    """Where ``reproduce(only, sets, publish)`` wrote, how big the runs are, how to clear them."""
    from .experiments import notebook_outputs

    lines, runs_dirs = [], set()
    for nb in notebooks(root, only):
        params = parameters(nb, sets) | ({"publish": True} if publish else {})
        out = notebook_outputs(nb.stem, params, reproducing=True)
        kind = "published" if out.published else "exploration"
        lines.append(f"  {nb.stem:<30}{kind}: {shown(out.figures)}/, {shown(out.results)}/")
        if out.explore is not None:
            lines.append(f"  {'':<30}the executed notebook: {shown(out.explore / nb.name)}")
        runs_dirs.add(out.runs_dir)
    for runs in sorted(runs_dirs):
        parts = [(p.name, folder_size(p)) for p in sorted(runs.iterdir()) if p.is_dir()]
        sizes = ", ".join(f"{name} {megabytes(size)}" for name, size in parts)
        total = megabytes(sum(size for _, size in parts))
        lines.append(f"Runs: {total} in {shown(runs)}/ ({sizes})")
    lines.append("`coop clean` lists what costs nothing to remake; `coop clean --yes` deletes it.")
    return "Figures and tables:\n" + "\n".join(lines)


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"
