"""Test-session setup shared by the unit tests and nbval's notebook runs.

A test run must leave the work tree exactly as it was: notebook executions write figures and
cached results, so both go to a temporary folder for the whole session (the kernels nbval and
papermill start inherit this environment). The work tree is fingerprinted when the session starts;
``tests/test_zz_work_tree.py`` runs last and compares.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
_SCRATCH = Path(tempfile.mkdtemp(prefix="rlvr-test-"))
# Set at import, before any test module imports rlvr_core (which reads these once).
os.environ.setdefault("RLVR_FIGURE_DIR", str(_SCRATCH / "figures"))
os.environ.setdefault("RLVR_RESULTS_DIR", str(_SCRATCH / "results"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def work_tree_fingerprint() -> str | None:
    """Hash of `git status --porcelain` and the diff against HEAD; None outside a git checkout."""
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                                capture_output=True, check=True, timeout=60).stdout
        diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True,
                              check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return hashlib.sha256(status + b"\0" + diff).hexdigest() + "\n" + status.decode()


def pytest_sessionstart(session):
    session.config.work_tree_fingerprint = work_tree_fingerprint
    session.config.work_tree_at_start = work_tree_fingerprint()


def pytest_collection_modifyitems(session, config, items):
    # The work-tree check must see every other test's side effects: run it last.
    last = [i for i in items if i.nodeid.startswith("tests/test_zz_work_tree.py")]
    items[:] = [i for i in items if i not in last] + last


def pytest_unconfigure(config):
    shutil.rmtree(_SCRATCH, ignore_errors=True)
