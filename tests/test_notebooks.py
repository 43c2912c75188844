"""The notebooks are parameterized the way papermill and `coop reproduce` expect.

nbval (configured in pyproject.toml) re-runs every notebook as part of the suite; these
tests check the contract around it: one `parameters` cell of literals per notebook, the
only place its published parameters are written (papermill reads them), key results marked for nbval to compare, and
`coop reproduce`'s override and clean-up rules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from coop_utils.run.experiments import published_parameters
from coop_utils.run.reproduce import notebooks, overrides, parameters, strip_volatile

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebooks(ROOT)
EXPECTED = [
    "00_quickstart",
    "01_baseline",
    "02_causal_decomposition",
    "03_interventions",
    "04_reasoning_analysis",
    "05_ablations",
    "06_decomposition_validity",
]


def parameter_cell(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{path.name}: the parameters cell only assigns"
        values[node.targets[0].id] = ast.literal_eval(node.value)  # literals only
    return values


def test_every_experiment_has_its_notebook():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_literals_and_are_the_published_ones(path):
    cell = parameter_cell(path)
    assert published_parameters(path) == published_parameters(path.stem) == cell
    assert not (path.parent / "params").exists(), "the parameters cell is their one place"
    assert cell.get("mode") == "offline", "committed notebooks show the offline default"
    for folder in ("runs_dir", "figures_dir", "results_dir", "publish"):
        assert cell[folder] is None, "locations come from the package, not the working folder"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_setup_cell_finds_outputs_through_the_package(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells), (
        "committed at the published parameters: nothing injected over the parameters cell"
    )
    assert f'ex.notebook_outputs("{path.stem}", globals())' in code[1]
    assert not any("../" in source for source in code), "no path relative to notebooks/"


IMPORT = re.compile(r"^\s*(import \S|from \S+ import )", re.M)
STYLE = ("import coop_utils as cu", "from coop_utils.run import experiments as ex")
PAPER = "https://arxiv.org/abs/2604.07821"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_reads_as_a_document(path):
    """Imports and set-up in one cell, in one style; the paper and the index linked first;
    each reading one call of an analysis function (``coop_utils.analysis.readings``)."""
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert all(line in code[1] for line in STYLE), f"{path.name}: the setup cell's imports"
    later = [s for s in code[2:] if IMPORT.search(s)]
    assert not later, f"{path.name}: imports only in the setup cell, found in {later}"
    assert PAPER in nb.cells[0].source and "](README.md)" in nb.cells[0].source
    readings = [s for s in code if "md(" in s]
    assert all(len(s.splitlines()) <= 3 for s in readings), f"{path.name}: {readings}"
    assert all("readings." in s for s in readings if path.stem != "00_quickstart")


def test_the_index_lists_every_notebook_and_real_parameters():
    index = (ROOT / "notebooks" / "README.md").read_text()
    assert PAPER in index
    for path in NOTEBOOKS:
        row = next(line for line in index.splitlines() if f"[`{path.stem}`]" in line)
        named = re.findall(r"`(\w+)`", row.split("|")[-2])
        assert named and set(named) <= set(published_parameters(path)), (path.stem, named)


def test_the_threshold_notebook_02_states_is_the_packages():
    from coop_utils.analysis.quadrants import DEFAULT_THRESHOLD

    nb = nbformat.read(ROOT / "notebooks" / "02_causal_decomposition.ipynb", as_version=4)
    said = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert f"{DEFAULT_THRESHOLD:g}% threshold" in said


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_key_numbers_are_checked_by_nbval_and_outputs_are_committed(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, f"{path.name} marks no cell for nbval to compare"
    assert all(c.outputs for c in checked), f"{path.name} is committed without its outputs"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} was committed with an error"
    for c in code:
        for o in c.outputs:
            assert o.get("name") != "stderr" or "Warning" not in o.text, f"{path.name}: {o.text}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_scripted_results_are_labelled_as_such(path):
    intro = nbformat.read(path, as_version=4).cells[0].source
    assert "scripted" in intro.lower()
    if path.stem != "06_decomposition_validity":  # scripted by design, and says so
        assert "not how any model behaves" in intro


def test_set_overrides_one_notebook_or_all(tmp_path):
    nb = NOTEBOOKS[1]
    base = parameters(nb)
    assert parameters(nb, ["runs=5"])["runs"] == 5
    assert parameters(nb, ["01_baseline.runs=7", "02.runs=9"])["runs"] == 7
    assert parameters(nb, ['models=["o3", "gpt-5-mini"]'])["models"] == ["o3", "gpt-5-mini"]
    assert parameters(nb, ["no_such_key=1"]) == base, "unknown keys are not injected"
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parameters(nb, ["runs"])


def test_only_overrides_are_injected():
    nb = NOTEBOOKS[1]
    assert overrides(nb, parameters(nb)) == {}
    assert overrides(nb, parameters(nb, ["runs=3", "rounds=10"])) == {"rounds": 10}


def test_strip_volatile_removes_timestamps_only(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.metadata["papermill"] = {"duration": 1.2, "start_time": "2026-01-01"}
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01"}
    cell.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("runs = 5")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells += [cell, injected]
    nb.metadata["papermill"] = {"duration": 3.0, "parameters": {"runs": 3}, "input_path": "/x"}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    strip_volatile(path)
    again = nbformat.read(path, as_version=4)
    assert again.metadata["papermill"] == {"parameters": {"runs": 3}}
    assert dict(again.cells[0].metadata) == {"tags": ["parameters"]}
    assert again.cells[1].id == "injected-parameters", "a fixed id, not papermill's random one"


def test_strip_volatile_joins_a_cells_printouts_however_the_kernel_split_them(tmp_path):
    out = nbformat.v4.new_output
    split = [out("stream", name="stdout", text="a\n"), out("stream", name="stdout", text="b\n")]
    mixed = [
        out("stream", name="stdout", text="a\n"),
        out("stream", name="stderr", text="warn\n"),
        out("stream", name="stdout", text="b\n"),
        out("execute_result", data={"text/plain": "2"}, execution_count=1),
        out("stream", name="stdout", text="c\n"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=split), nbformat.v4.new_code_cell("y")]
    nb.cells[1].outputs = mixed
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    strip_volatile(path)
    one, two = (c.outputs for c in nbformat.read(path, as_version=4).cells)
    assert [(o.name, o.text) for o in one] == [("stdout", "a\nb\n")]
    assert [o.get("text") for o in two] == ["a\n", "warn\n", "b\n", None, "c\n"], (
        "only neighbours of the same stream join"
    )
