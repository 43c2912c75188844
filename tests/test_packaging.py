"""environment.yml (conda) stays in step with pyproject.toml (pip)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower(): d.replace(" ", "")
        for d in project["dependencies"]
    }


def test_conda_dependencies_mirror_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [
        d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))
    ]
    conda_map = {re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower(): d.replace(" ", "") for d in conda}
    assert conda_map == _requirements()


def test_conda_installs_the_package_with_every_extra():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert pip == [f"-e .[{','.join(sorted(extras))}]"]
