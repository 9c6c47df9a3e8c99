"""make figures killed with SIGKILL mid-run leaves no partial file; a rerun completes it."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

# Kills and reruns a notebook in a kernel: make test only, not make unit.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_gradient_gap"


def _partial_files(*folders):
    return [p for f in folders for p in Path(f).rglob("*") if p.name.endswith(".tmp") or ".running." in p.name]


def test_sigkill_then_rerun(tmp_path):
    # A copy of the notebooks and figures, so the committed ones are never touched.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "notebooks", repo / "notebooks",
                    ignore=lambda d, names: [n for n in names if not n.startswith(NOTEBOOK)])
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    figs, results = tmp_path / "figures", tmp_path / "results"
    env = dict(os.environ, RLVR_FIGURE_DIR=str(figs), RLVR_RESULTS_DIR=str(results), MPLBACKEND="Agg")
    before = (repo / "notebooks" / f"{NOTEBOOK}.ipynb").read_bytes()
    cmd = [sys.executable, str(repo / "scripts" / "run_notebooks.py"), NOTEBOOK]
    # run_notebooks imports rlvr_core from the installed package; point its notebook folder at the copy.
    proc = subprocess.Popen(cmd, cwd=repo, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(figs.glob("*.png")):
        time.sleep(0.05)
    assert list(figs.glob("*.png")), "the run never wrote a figure"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The committed notebook is untouched (papermill writes to a hidden temporary file).
    assert (repo / "notebooks" / f"{NOTEBOOK}.ipynb").read_bytes() == before
    nbformat.read(repo / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    # Every figure present is complete (png signature + IEND; pdf trailer).
    for png in figs.glob("*.png"):
        assert png.read_bytes()[-8:-4] == b"IEND", png
    for pdf in figs.glob("*.pdf"):
        assert b"%%EOF" in pdf.read_bytes()[-32:], pdf
    # Rerun: completes, removes the killed run's leftovers, writes every figure of the notebook.
    out = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not _partial_files(figs, results, repo / "notebooks")
    manifest = json.loads((figs / "manifest.json").read_text())
    mine = {k: v for k, v in manifest.items() if v["notebook"] == NOTEBOOK}
    assert len(mine) >= 3
    for name in mine:
        assert (figs / f"{name}.png").exists() and (figs / f"{name}.pdf").exists()
    nb = nbformat.read(repo / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    assert all(not [o for o in c.get("outputs", []) if o.output_type == "error"] for c in nb.cells)
