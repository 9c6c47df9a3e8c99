"""The test session's own guarantees under pytest-xdist (how `make test` runs): the controller's
work-tree check fails a run that leaves a file behind, and passes one that does not; each
perturbation run is a scheduling unit of its own while a file (a notebook) stays whole."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEAVES_A_FILE = '''
from pathlib import Path
def test_writes_into_the_tree():
    (Path(__file__).resolve().parent.parent / "left_behind.txt").write_text("x")
'''
CLEAN = '''
def test_clean():
    assert 1 + 1 == 2
'''


def _session(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "conftest.py", repo / "conftest.py")
    (repo / "tests" / "test_a.py").write_text(body)
    (repo / "tests" / "test_b.py").write_text(CLEAN)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "init"], check=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile",
                           "-p", "no:cacheprovider", "tests"], cwd=repo, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_xdist_controller_fails_a_run_that_changes_the_work_tree(tmp_path):
    pytest.importorskip("xdist")
    dirty = _session(tmp_path / "dirty", LEAVES_A_FILE)
    assert dirty.returncode == 1 and "changed the work tree" in dirty.stdout, dirty.stdout[-2000:]
    assert "left_behind.txt" in dirty.stdout
    clean = _session(tmp_path / "clean", CLEAN)  # the same session, nothing left behind
    assert clean.returncode == 0, clean.stdout[-2000:]


def test_scheduling_units_keep_files_whole_and_split_the_perturbation_runs(request):
    # the root conftest.py, as pytest loaded it (tests/ has a conftest.py of its own)
    conftest, = [m for m in request.config.pluginmanager.get_plugins()
                 if getattr(m, "__file__", None) == str(ROOT / "conftest.py")]

    cells = {conftest.scheduling_unit(f"notebooks/04_length_scaling.ipynb::Cell {i}") for i in range(3)}
    assert cells == {"notebooks/04_length_scaling.ipynb"}
    tests = {conftest.scheduling_unit(f"tests/test_fit.py::test_{n}") for n in "ab"}
    assert tests == {"tests/test_fit.py"}
    runs = [f"{conftest.PERTURBATION_RUN}{nb}-default-seed+1]" for nb in ("01_gradient_gap", "02_convergence")]
    assert len({conftest.scheduling_unit(r) for r in runs}) == 2
    # the other tests of the perturbation module stay together
    assert conftest.scheduling_unit("tests/test_perturbation.py::test_cpu_path_override_takes_effect") \
        == "tests/test_perturbation.py"
