"""The command line explains itself and starts fast: a description and examples per
subcommand, help on every option, one meaning per word, and no heavy import before a
command needs it (start-up time itself is measured by benchmarks/bench_cli.py)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from coop_utils import cli
from coop_utils.llm.cache import MODES
from coop_utils.paths import ROOT
from coop_utils.run.experiments import NOTEBOOK_MODES
from coop_utils.run.grid import GridSpec
from coop_utils.run.reproduce import clean


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = cli.build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_subcommand_has_a_description_examples_and_help_on_every_option(name):
    p = _subparser(name)
    assert len(p.description.split()) >= 15, f"coop {name}: no real description"
    assert p.epilog.startswith("examples:") and f"coop {name}" in p.epilog
    bare = [a.dest for a in p._actions if a.help is None]
    assert not bare, f"coop {name}: options without help: {bare}"
    assert "``" not in p.format_help(), "no RST markup in help"


def test_top_level_help_lists_commands_and_examples(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "examples:" in out
    assert all(name in out for name in cli.COMMANDS)


def test_the_grid_file_format_is_documented_field_by_field():
    reference = (ROOT / "docs" / "GRIDS.md").read_text()
    missing = [f for f in GridSpec.model_fields if f"`{f}`" not in reference]
    assert not missing, f"docs/GRIDS.md does not document {missing}"
    assert "docs/GRIDS.md" in _subparser("grid").description


def test_one_meaning_per_mode_word():
    assert set(cli.CACHE_MODES) == set(MODES)
    assert cli.NOTEBOOK_MODES == NOTEBOOK_MODES
    grid_help = _subparser("grid").format_help()
    assert not re.search(r"(?<![\w-])--mode(?![\w-])", grid_help), "grid's option is --cache-mode"
    assert "--cache-mode" in _subparser("run").format_help()
    assert "--mode {offline,replay,live}" in _subparser("reproduce").format_help()


def test_the_old_mode_option_still_works_and_says_its_new_name(capsys, tmp_path):
    assert cli.main(["run", "--rounds", "2", "--mode", "replay", "--out", str(tmp_path)]) == 0
    assert "--mode is now --cache-mode" in capsys.readouterr().err


def test_importing_the_command_line_imports_nothing_heavy():
    code = "import sys, coop_utils.cli; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    heavy = {"pandas", "numpy", "openai", "pydantic", "matplotlib", "starlette", "papermill"}
    assert heavy.isdisjoint(eval(loaded.stdout)), "coop --help would pay for these imports"


def test_clean_lists_then_deletes_only_what_costs_nothing_to_remake(tmp_path):
    for folder in ("runs/offline/x", "runs/explore/y", "runs/replay-demo/z", "runs/live/paid"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "f").write_text("data")
    (tmp_path / "runs" / "my-study").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / ".01_x.ipynb.abcd1234.tmp").write_text("half")
    listed = [p.relative_to(tmp_path).as_posix() for p, _ in clean(tmp_path, dry_run=True)]
    expected = ["notebooks/.01_x.ipynb.abcd1234.tmp", "runs/explore", "runs/offline"]
    assert listed == [*expected, "runs/replay-demo"]
    assert (tmp_path / "runs" / "offline").exists(), "a dry run deletes nothing"
    clean(tmp_path, dry_run=False)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["live", "my-study"]
    assert list((tmp_path / "notebooks").iterdir()) == []
