"""A bad papermill -p value stops every notebook in its validation cell, before any computation,
with a ValueError naming the parameter."""
from pathlib import Path

import papermill
import pytest

# Each test starts a Jupyter kernel: make test only, not make unit.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_bad_profile_fails_in_validation_cell(nb, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), parameters={"PROFILE": "huge"},
                                   cwd=str(nb.parent), kernel_name="python3", progress_bar=False)
    assert err.value.ename == "ValueError"
    assert "PROFILE" in err.value.evalue and "default" in err.value.evalue
    # setup, parameters, injected parameters, validation: nothing heavier ran first
    assert err.value.exec_count <= 4


def test_bad_seed_is_rejected(tmp_path):
    nb = ROOT / "notebooks" / "01_gradient_gap.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), parameters={"SEED": -1},
                                   cwd=str(nb.parent), kernel_name="python3", progress_bar=False)
    assert "SEED" in err.value.evalue and "expected" in err.value.evalue
