"""``coop reproduce``: run every notebook end to end and regenerate every figure and table.

Each notebook ``notebooks/NN_name.ipynb`` is executed by papermill with the parameters of
``notebooks/params/NN_name.yaml`` (overridable with ``--set key=value`` for every notebook
that has the key, or ``--set NN_name.key=value`` for one). A notebook is executed to a
temporary file and moved into place only when it succeeds, so a failure never leaves a
half-run notebook behind. Timing metadata is then stripped, so rerunning on unchanged code
leaves ``git diff`` empty.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import yaml
from tqdm import tqdm

from .paths import ROOT

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


def parameters(nb: Path, sets: list[str] | None = None) -> dict[str, Any]:
    """The notebook's YAML parameters with ``--set`` overrides applied."""
    path = nb.parent / "params" / f"{nb.stem}.yaml"
    params = yaml.safe_load(path.read_text()) if path.exists() else {}
    params = params or {}
    for item in sets or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set expects KEY=VALUE or NOTEBOOK.KEY=VALUE, got {item!r}")
        target, dot, name = key.rpartition(".")
        if dot and target not in (nb.stem, nb.stem[:2]):
            continue
        if name in params or dot:
            params[name] = yaml.safe_load(value)
    return params


def strip_volatile(path: Path) -> None:
    """Remove execution timestamps, paths and random ids so the executed notebook is
    reproducible."""
    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        pm.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill draws a new random id every run
    nbformat.write(nb, path)


class NotebookFailed(RuntimeError):
    """A notebook raised; the executed copy, up to the failing cell, is kept beside it."""


def run_notebook(nb: Path, params: dict[str, Any]) -> float:
    """Execute one notebook in place (atomically); returns seconds taken.

    On failure the notebook is left untouched and the executed copy is saved as
    ``NN_name.failed.ipynb`` (git ignores it) for inspection.
    """
    import papermill as pm

    start = time.perf_counter()
    fd, tmp = tempfile.mkstemp(dir=nb.parent, prefix=f".{nb.stem}.", suffix=".ipynb")
    os.close(fd)
    try:
        pm.execute_notebook(
            str(nb),
            tmp,
            parameters=params,
            cwd=str(nb.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            # the kernel runs on localhost; its TCP-transport warning would only alarm readers
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        strip_volatile(Path(tmp))
        os.replace(tmp, nb)
    except pm.PapermillExecutionError as exc:
        failed = nb.with_suffix(".failed.ipynb")
        os.replace(tmp, failed)
        raise NotebookFailed(
            f"{nb.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}; "
            f"the executed copy is {failed}"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return time.perf_counter() - start


def reproduce(
    only: list[str] | None = None, sets: list[str] | None = None, root: Path = ROOT
) -> dict[str, float]:
    """Run the notebooks in order; returns seconds per notebook. Stops at the first failure."""
    todo = notebooks(root, only)
    if not todo:
        raise FileNotFoundError(f"no notebooks under {root / 'notebooks'}")
    times: dict[str, float] = {}
    with tqdm(todo, desc="notebooks", unit="nb") as bar:
        for nb in bar:
            bar.set_postfix_str(nb.stem)
            times[nb.stem] = run_notebook(nb, parameters(nb, sets))
    return times
