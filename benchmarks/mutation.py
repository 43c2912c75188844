"""Mutation testing of a core module with its own tests (mutmut; not part of CI).

A test suite that passes says little until it is shown to fail when the code is wrong.
mutmut makes many small wrong versions of a module (an operator flipped, a constant
changed, an argument dropped) and runs the module's tests against each: a mutant the
tests do not notice *survives*. Every survivor is either an equivalent mutant (the change
cannot alter any result) or a gap in the tests; docs/MUTATION.md records each one.

    pip install -e '.[mutation]'
    python benchmarks/mutation.py stats            # one module
    python benchmarks/mutation.py stats --show 5   # and the diffs of 5 survivors

The module is mutated in a scratch copy of the repository (``git ls-files``), so the
working tree is never touched. Takes a few minutes per module on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PATHS = {
    "stats": "coop_utils/analysis/stats",
    "metrics": "coop_utils/analysis/metrics",
    "env": "coop_utils/game/env",
    "actions": "coop_utils/game/actions",
}
"""Each core module by its short name, and the folder of its parts."""

TESTS = {
    "stats": ["tests/test_stats.py"],
    "metrics": ["tests/test_metrics.py"],
    "env": ["tests/test_env.py"],
    "actions": ["tests/test_actions.py"],
}
"""Each core module with the tests that are its specification."""

CONFIG = """
[tool.mutmut]
source_paths = ["{path}"]
pytest_add_cli_args_test_selection = {tests}
also_copy = ["data", "coop_utils"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-o", "addopts="]
"""


def scratch_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            (dest / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name.decode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", choices=sorted(TESTS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", type=int, default=0, help="print diffs of N survivors")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"mutmut-{args.module}-"))
    try:
        scratch_copy(work)
        with (work / "pyproject.toml").open("a") as f:
            f.write(CONFIG.format(path=PATHS[args.module], tests=json.dumps(TESTS[args.module])))
        mutmut = [sys.executable, "-m", "mutmut"]
        subprocess.run([*mutmut, "run", "--max-children", str(args.workers)], cwd=work)
        exit_codes = {}  # one .meta file per mutated module of the folder
        for path in (work / "mutants" / PATHS[args.module]).rglob("*.py.meta"):
            exit_codes.update(json.loads(path.read_text())["exit_code_by_key"])
        codes = Counter(exit_codes.values())
        killed, survived = codes.get(1, 0), codes.get(0, 0)
        total = sum(codes.values())
        print(
            f"\n{PATHS[args.module]}: {total} mutants, {killed} killed, {survived} survived, "
            f"{total - killed - survived} other (timeouts, crashes); "
            f"kill rate {100 * killed / total:.1f}%"
        )
        survivors = sorted(k for k, c in exit_codes.items() if c == 0)
        print("survivors:", *survivors, sep="\n  ")
        for name in survivors[: args.show]:
            subprocess.run([*mutmut, "show", name], cwd=work)
    finally:
        if args.keep:
            print(f"scratch copy kept at {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
