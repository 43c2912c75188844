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
    "metrics": ["tests/test_metrics.py", "tests/test_fidelity.py"],
    "env": ["tests/test_env.py", "tests/test_fidelity.py"],
    "actions": ["tests/test_actions.py", "tests/test_fidelity.py"],
}
"""Each core module with the tests that are its specification: its own test file, and for the
game's modules the rules of docs/FIDELITY.md (``tests/test_fidelity.py``). The golden log
(``tests/test_golden.py``) is left out on purpose: it pins today's behaviour, defects included,
so a mutant it kills shows a change, not an error. mutmut runs, for each mutant, only the
selected tests that call the mutated function."""

CONFIG = """
[tool.mutmut]
source_paths = ["{path}"]
pytest_add_cli_args_test_selection = {tests}
also_copy = ["data", "coop_utils", "docs", "benchmarks"]
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
    parser.add_argument(
        "--tests", nargs="+", help="pytest selection to use instead of the module's (node ids)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"mutmut-{args.module}-"))
    try:
        scratch_copy(work)
        with (work / "pyproject.toml").open("a") as f:
            tests = args.tests or TESTS[args.module]
            f.write(CONFIG.format(path=PATHS[args.module], tests=json.dumps(tests)))
        from mutmut.stats import status_by_exit_code

        mutmut = [sys.executable, "-m", "mutmut"]
        run = subprocess.run([*mutmut, "run", "--max-children", str(args.workers)], cwd=work)
        if run.returncode:
            print(f"mutmut failed (exit {run.returncode}): do the selected tests pass?")
            return run.returncode
        status = {}  # one .meta file per mutated module of the folder
        for meta in (work / "mutants" / PATHS[args.module]).rglob("*.py.meta"):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            status.update({k: status_by_exit_code[c] for k, c in codes.items()})
        counts = Counter(status.values())
        total, killed = len(status), counts["killed"]
        others = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s != "killed")
        print(
            f"\n{PATHS[args.module]}: {total} mutants, {killed} killed ({others}); "
            f"kill rate {100 * killed / total:.1f}%"
        )
        survivors = sorted(k for k, s in status.items() if s != "killed")
        print("not killed:", *(f"{status[k]:<10} {k}" for k in survivors), sep="\n  ")
        for name in [k for k in survivors if status[k] == "survived"][: args.show]:
            subprocess.run([*mutmut, "show", name], cwd=work)
    finally:
        if args.keep:
            print(f"scratch copy kept at {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
