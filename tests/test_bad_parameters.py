"""A bad papermill -p value stops every notebook in its validation cell, before any computation,
with a ValueError naming the parameter.

The parameters are injected by papermill itself (``parameterize_notebook``, as ``make figures``
does) and the cells run in a real Jupyter kernel, but one kernel serves every notebook: its
namespace is reset between notebooks, so each starts from nothing but the already-imported
modules (starting a kernel and importing torch per notebook cost ~10 s each)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from papermill.parameterize import parameterize_notebook

# Starts a Jupyter kernel: make test only, not make unit.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def kernel():
    """``run(notebook, parameters)`` -> (the error the cells stopped on or None, code cells run)."""
    client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    def run(nb_path: Path, parameters: dict):
        reset = nbformat.v4.new_code_cell("get_ipython().run_line_magic('reset', '-f')")
        nb = nbformat.read(nb_path, as_version=4)
        nb.metadata["papermill"] = nbformat.from_dict({})   # what papermill.execute prepares first
        nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
        nb.cells.insert(0, reset)   # not counted below
        client.nb = nb
        ran = -1
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            ran += 1
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as err:
                return err, ran
        return None, ran

    with client.setup_kernel():
        yield run


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_bad_profile_fails_in_validation_cell(nb, kernel):
    err, ran = kernel(nb, {"PROFILE": "huge"})
    assert err is not None, f"{nb.stem} ran to the end with PROFILE='huge'"
    assert err.ename == "ValueError", (err.ename, err.evalue)
    assert "PROFILE" in err.evalue and "default" in err.evalue
    # setup, parameters, injected parameters, validation: nothing heavier ran first
    assert ran <= 4, f"{nb.stem}: {ran} code cells ran before the error"


def test_bad_seed_is_rejected(kernel):
    err, _ = kernel(ROOT / "notebooks" / "01_gradient_gap.ipynb", {"SEED": -1})
    assert err is not None and "SEED" in err.evalue and "expected" in err.evalue


def test_a_good_profile_passes_the_validation_cell(kernel, tmp_path):
    """Negative control of the runner: with valid parameters the same cells run past validation.
    Only the setup/parameter/validation cells are run (a notebook with its first four code cells)."""
    nb = nbformat.read(ROOT / "notebooks" / "01_gradient_gap.ipynb", as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][:3]
    nb.cells = [nb.cells[i] for i in range(code[-1] + 1)]
    short = tmp_path / "short.ipynb"
    nbformat.write(nb, short)
    err, ran = kernel(short, {"PROFILE": "default"})
    assert err is None and ran == 4   # 3 cells + papermill's injected-parameters cell
