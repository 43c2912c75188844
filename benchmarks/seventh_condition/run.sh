#!/usr/bin/env bash
# The "seventh condition" walkthrough of docs/CONTRIBUTING.md as a real change: adds a toy
# intervention, `toy_open` (one line in the goal, TOY_OPEN_EXTRA more per completed task),
# in a throwaway worktree, regenerates what it moves, runs the tests it concerns and prints
# the files it touched. `before` applies the same toy to 41dbb7b, the code before conditions
# were one enumerated type read everywhere; `after` (the default) to this checkout's HEAD.
# Usage: bash benchmarks/seventh_condition/run.sh [after|before]   (about 5 minutes)
set -euo pipefail
which=${1:-after}
repo=$(git rev-parse --show-toplevel)
here="$repo/benchmarks/seventh_condition"
case $which in
  after) base=HEAD patch="$here/after.patch" ;;
  before) base=41dbb7b patch="$here/before_41dbb7b.patch" ;;
  *) echo "usage: $0 [after|before]" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$tmp"' EXIT
git -C "$repo" worktree add -q --detach "$tmp" "$base"
cd "$tmp"
git apply "$patch"
echo "hand-edited: $(git diff --name-only | wc -l) files"
export PYTHONPATH="$tmp"
python tests/test_golden.py --regenerate
if [ "$which" = after ]; then
  python -m coop_utils.analysis.prose
  python -m coop_utils.run.evaluate.leaderboard
fi
python -m pytest -p no:cacheprovider -q -o addopts="" tests/test_prompts.py tests/test_env.py \
  tests/test_golden.py tests/test_cli_help.py tests/test_layout.py tests/test_evaluate_rules.py \
  tests/test_prose.py || echo "some tests fail: each still lists the conditions by hand"
git diff --stat
