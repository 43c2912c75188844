"""Where the repository's data lives, and how generated files are written.

The package reads its reference data (``data/paper``, ``data/elo.csv``) and writes its
results inside the clone it was installed from (``pip install -e .``), so that notebooks,
figures and recorded runs stay next to the code that made them. Every location is derived
from the package, never from the current folder: papermill from the repository root or
from ``notebooks/``, JupyterLab and ``coop reproduce`` all write in the same places.

Generated files are written through :func:`atomic_path`: a temporary file beside the
target, moved over it only when complete. A killed writer leaves at most a ``.NAME.*.tmp``
file, which git ignores and nbval never collects, never half a figure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TMP_GLOB = ".*.tmp"
"""The name of every temporary file this package writes (see :func:`atomic_path`)."""

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def repo_file(*parts: str | os.PathLike[str]) -> Path:
    """A file of the repository, by its parts (``"data", "elo.csv"``) or a path constant
    already inside it; a clear error when the package was installed without it."""
    path = ROOT.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: coop_utils reads data/ from its repository clone, so install "
            "the clone in place (pip install -e .) rather than as a wheel"
        )
    return path


def runs_root() -> Path:
    """The repository's ``runs/`` (git ignores it): episodes, exploration outputs, logs."""
    return ROOT / "runs"


def shown(path: Path) -> str:
    """A path as the reader can use it where they stand: relative to the working folder
    when below it, or when both are in the repository (``../figures`` from
    ``notebooks/``, where a notebook's kernel runs); else absolute."""
    path, here = Path(path).resolve(), Path.cwd().resolve()
    if path.is_relative_to(here) or (path.is_relative_to(ROOT) and here.is_relative_to(ROOT)):
        return os.path.relpath(path, here)
    return str(path)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; once the block wrote it, move it into place.

    The file gets the mode a plain ``open`` would give (0644 under the usual umask), not
    the private 0600 of ``mkstemp``. If the block raises, the temporary file is removed
    and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
