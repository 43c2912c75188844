"""Where the repository's data lives.

The package reads its reference data (``data/paper``, ``data/elo.csv``) and writes its
results inside the clone it was installed from (``pip install -e .``), so that notebooks,
figures and recorded runs stay next to the code that made them.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def repo_file(*parts: str) -> Path:
    """A file of the repository; a clear error when the package was installed without it."""
    path = ROOT.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: coop_utils reads data/ from its repository clone, so install "
            "the clone in place (pip install -e .) rather than as a wheel"
        )
    return path
