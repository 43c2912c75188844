"""Count the lines each notebook spends on set-up, and the length of its reading cells.

Why: a notebook reads as a document when its set-up is said once, at the top (the setup
cell: imports and ``ex.notebook_outputs``), and each reading is one call of an analysis
function. This counts, per notebook, the setup cell's non-blank lines (and how many of
them are not imports), the import lines in any later cell, and the lines of each cell that
renders a reading (``md(``), at a git revision or in the working tree, so a before and
after can be compared.

Usage: python benchmarks/notebook_setup.py [REVISION]   (default: the working tree)
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_lines(source: str) -> int:
    """Lines taken by import statements (IPython magics and ``await`` made parseable)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines).replace("await ", ""))
    imports = (ast.Import, ast.ImportFrom)
    return sum(n.end_lineno - n.lineno + 1 for n in tree.body if isinstance(n, imports))


def count(text: str) -> dict[str, object]:
    """The counts of one notebook's JSON ``text``."""
    code = ["".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code"]
    setup = [line for line in code[1].splitlines() if line.strip()]  # code[0]: parameters
    later = sum(_import_lines(s) for s in code[2:])
    return {
        "setup": len(setup),
        "setup_not_imports": len(setup) - _import_lines(code[1]),
        "imports_later": later,
        "total": len(setup) + later,
        "readings": [len(s.splitlines()) for s in code if "md(" in s],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", help="a git revision (default: working tree)")
    args = parser.parse_args()
    if args.revision:
        listed = ["git", "ls-tree", "--name-only", args.revision, "notebooks/"]
        names = subprocess.run(listed, cwd=ROOT, capture_output=True, text=True, check=True)
        paths = sorted(p for p in names.stdout.split() if Path(p).name[:2].isdigit())
    else:
        paths = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
    for path in paths:
        if args.revision:
            show = ["git", "show", f"{args.revision}:{path}"]
            text = subprocess.run(show, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        else:
            text = (ROOT / path).read_text()
        c = count(text)
        print(
            f"{Path(path).stem:27} setup cell {c['setup']:2} lines ({c['setup_not_imports']} "
            f"not imports); import lines in later cells {c['imports_later']:2}; "
            f"total {c['total']:2}; reading cells {c['readings']}"
        )


if __name__ == "__main__":
    main()
